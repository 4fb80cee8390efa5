import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpuSecondsBetween, named, procSnapshot, processAndChildren, type ProcStat } from './proc-stat.js';

const stat = (pid: number, startTicks: number, seconds: number, command = 'postgres', ppid = 1): ProcStat => ({
  pid,
  ppid,
  command,
  startTicks,
  seconds,
});

/** A child that uses `cpuSeconds` of CPU, says so on stdout, then waits until it is killed. */
async function burner(cpuSeconds: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['-e', `while (process.cpuUsage().user + process.cpuUsage().system < ${cpuSeconds * 1e6}); console.log('done'); setInterval(() => {}, 1000);`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await once(child.stdout!, 'data');
  return child;
}

describe('CPU accounting from /proc', () => {
  it('counts a process by pid and start time: a later one under the same pid from zero, an ended one not at all', () => {
    const before = [stat(10, 500, 7.5), stat(11, 600, 2.0), stat(12, 700, 1.0, 'node')];
    const after = [
      // pid 10 now belongs to a process that started later: all of its 0.25 s is new
      stat(10, 900, 0.25),
      // pid 11 is the same process: 0.5 s more
      stat(11, 600, 2.5),
      // pid 12 is not named postgres
      stat(12, 700, 9.0, 'node'),
      // a backend that started in between
      stat(13, 950, 0.125),
    ];
    // Matched by pid alone, the first would count 0.25 - 7.5.
    assert.equal(cpuSecondsBetween(before, after, named('postgres')), 0.25 + 0.5 + 0.125);
    assert.equal(cpuSecondsBetween(before, after, processAndChildren(12)), 8);
  });

  it('reads what a live process used, and leaves out one that ended between the two readings', { skip: process.platform !== 'linux' }, async () => {
    const ending = await burner(0.3);
    const before = (await procSnapshot())!;
    const endingBefore = before.find((p) => p.pid === ending.pid)!;
    assert.ok(endingBefore.seconds >= 0.29, `the ending child had used ${endingBefore.seconds} s`);
    ending.kill('SIGKILL');
    await once(ending, 'exit');
    const live = await burner(0.3);
    try {
      const after = (await procSnapshot())!;
      assert.equal(after.find((p) => p.pid === ending.pid && p.startTicks === endingBefore.startTicks), undefined);
      const liveSeconds = cpuSecondsBetween(before, after, (p) => p.pid === live.pid);
      assert.ok(liveSeconds >= 0.29, `the live child used ${liveSeconds} s`);
      // Both children run node: the ended one's 0.3 s neither counts nor subtracts.
      const ownChildren = (p: ProcStat) => p.ppid === process.pid && (p.pid === live.pid || p.pid === ending.pid);
      assert.equal(cpuSecondsBetween(before, after, ownChildren), liveSeconds);
    } finally {
      live.kill('SIGKILL');
    }
  });
});
