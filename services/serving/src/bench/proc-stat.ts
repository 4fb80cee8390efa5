/**
 * CPU accounting from /proc for the serving benchmark (Linux only; the readers give null
 * elsewhere): every process's CPU time in one pass, the CPU a set of processes used between two
 * such passes, and how long a thread ran and waited for a CPU.
 */
import { readdir, readFile } from 'node:fs/promises';

export interface ProcStat {
  pid: number;
  ppid: number;
  command: string;
  /** When the process started (clock ticks since boot): with the pid, tells one process from a later one. */
  startTicks: number;
  /** user + system CPU seconds, threads included. */
  seconds: number;
}

/** Every process's CPU time, from one pass over /proc (Linux only; null elsewhere). */
export async function procSnapshot(): Promise<ProcStat[] | null> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  const stats = await Promise.all(
    pids.map(async (p): Promise<ProcStat | null> => {
      const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => null);
      if (!stat) return null;
      // The command name may contain spaces; the fields after it start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return {
        pid: Number(p),
        ppid: Number(fields[1]),
        command: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
        startTicks: Number(fields[19]),
        seconds: (Number(fields[11]) + Number(fields[12])) / 100,
      };
    }),
  );
  return stats.filter((x): x is ProcStat => x !== null);
}

/**
 * Seconds a process's main thread has run, and has waited on a run queue for a CPU
 * (`/proc/<pid>/task/<pid>/schedstat`), or null where /proc cannot tell.
 */
export async function threadSchedStat(pid: number): Promise<{ running: number; waiting: number } | null> {
  const text = await readFile(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').catch(() => null);
  if (!text) return null;
  const [running, waiting] = text.trim().split(' ').map(Number);
  return running === undefined || waiting === undefined ? null : { running: running / 1e9, waiting: waiting / 1e9 };
}

/**
 * CPU seconds that the processes `include` picks used between two snapshots. Each process is
 * matched by pid and start time; one that started in between counts from zero, and one that ended
 * in between counts for nothing: its CPU time went with it (so a Postgres backend of an earlier
 * server, ending during a run, cannot make the figure negative).
 */
export function cpuSecondsBetween(before: ProcStat[], after: ProcStat[], include: (p: ProcStat) => boolean): number {
  const earlier = new Map<string, number>();
  for (const p of before) if (include(p)) earlier.set(`${p.pid}/${p.startTicks}`, p.seconds);
  let sum = 0;
  for (const p of after) if (include(p)) sum += p.seconds - (earlier.get(`${p.pid}/${p.startTicks}`) ?? 0);
  return sum;
}

/** A process and its direct children (cluster workers). */
export const processAndChildren = (pid: number) => (p: ProcStat) => p.pid === pid || p.ppid === pid;

/** Every process named `command`. */
export const named = (command: string) => (p: ProcStat) => p.command === command;
