/**
 * A preload for the serving process under `npm run bench:serving` that records event-loop stalls:
 *
 *   BENCH_SERVING_NODE_ARGS="--import ./services/serving/dist/bench/stall-trace.js" npm run bench:serving
 *
 * A 1 ms interval timer notes every gap between two of its ticks longer than STALL_MIN_MS (default
 * 4), and splits it by the main thread's own scheduler statistics into time it ran and time it was
 * ready but waited for a CPU (`/proc/self/task/<pid>/schedstat`), with the GC pauses that fell in it.
 * On SIGTERM (the benchmark's stop) it prints a summary per second of the process' life to stderr
 * and, with STALL_OUT set, writes every stall as JSON there.
 *
 * The timer itself wakes the process a thousand times a second, so figures taken with it are not
 * comparable with figures taken without; compare runs that both have it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';

interface Stall {
  /** ms since the process started, at the end of the gap */
  at: number;
  gapMs: number;
  ranMs: number;
  waitedMs: number;
  gcMs: number;
}

const minMs = Number(process.env.STALL_MIN_MS ?? 4);
const schedstat = `/proc/${process.pid}/task/${process.pid}/schedstat`;
/** [ran, waited] in ms since the thread started. */
const sched = (): [number, number] => {
  const [ran, waited] = readFileSync(schedstat, 'utf8').split(' ').map(Number);
  return [ran! / 1e6, waited! / 1e6];
};

const gcs: Array<[start: number, duration: number]> = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push([e.startTime, e.duration]);
}).observe({ entryTypes: ['gc'] });

const stalls: Stall[] = [];
let last = performance.now();
let [lastRan, lastWaited] = sched();
setInterval(() => {
  const now = performance.now();
  const [ran, waited] = sched();
  if (now - last > minMs) {
    let gcMs = 0;
    for (const [start, duration] of gcs) if (start + duration > last && start < now) gcMs += duration;
    stalls.push({ at: Math.round(now), gapMs: now - last, ranMs: ran - lastRan, waitedMs: waited - lastWaited, gcMs });
  }
  while (gcs.length > 0 && gcs[0]![0] + gcs[0]![1] < now - 1_000) gcs.shift();
  last = now;
  lastRan = ran;
  lastWaited = waited;
}, 1).unref();

process.prependListener('SIGTERM', () => {
  const bySecond = new Map<number, Stall[]>();
  for (const s of stalls) {
    const second = Math.floor(s.at / 1000);
    const list = bySecond.get(second);
    if (list) list.push(s);
    else bySecond.set(second, [s]);
  }
  const sum = (xs: Stall[], k: keyof Stall) => xs.reduce((a, s) => a + s[k], 0).toFixed(0);
  const lines = [...bySecond].map(
    ([sec, xs]) =>
      `  ${sec} s: ${xs.length} stalls over ${minMs} ms, ${sum(xs, 'gapMs')} ms in all: ran ${sum(xs, 'ranMs')}, waited for a CPU ${sum(xs, 'waitedMs')}, GC ${sum(xs, 'gcMs')}; longest ${Math.max(...xs.map((s) => s.gapMs)).toFixed(1)} ms`,
  );
  process.stderr.write(`stall trace (serving pid ${process.pid}):\n${lines.join('\n')}\n`);
  if (process.env.STALL_OUT) writeFileSync(process.env.STALL_OUT, JSON.stringify(stalls));
});
