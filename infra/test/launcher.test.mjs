// `npm start` from a fresh clone: it comes up, comes up again after `.data` is made anew (or a
// second checkout uses the same database), stops with one line when a port is taken, and any
// failure stops every process it started.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase } from '@contender/platform/testing';
import { freshClone } from './fresh-clone.mjs';

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function portsInUse(ports) {
  const inUse = [];
  for (const p of ports) {
    const free = await new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (!free) inUse.push(p);
  }
  return inUse;
}

/** Runs the clone's launcher; resolves once it printed its last ready line or exited. */
function launch(dir, env) {
  const child = spawn(process.execPath, ['infra/local/start.mjs'], {
    cwd: dir,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const settled = new Promise((resolve) => {
    const check = () => {
      if (/Ctrl-C stops everything/.test(out)) resolve('up');
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    exited.then(() => resolve('exited'));
  });
  return { child, exited, settled, output: () => out };
}

describe('npm start from a fresh clone', { timeout: 600_000 }, () => {
  let clone;
  let ports;
  let db;
  before(async () => {
    db = await createTestDatabase('launcher');
    clone = freshClone('launcher');
    ports = { REGISTRY_PORT: await freePort(), SERVING_PORT: await freePort(), SCHEDULER_PORT: await freePort() };
  });
  after(async () => {
    clone?.remove();
    await db?.drop();
  });
  const env = () => ({ DATABASE_URL: db.url, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) });

  async function upThenStop(label) {
    const run = launch(clone.dir, env());
    assert.equal(await run.settled, 'up', `${label}: the platform did not come up:\n${run.output()}`);
    for (const s of ['registry', 'serving', 'scheduler']) assert.match(run.output(), new RegExp(`\\[start\\] ${s} ready`), label);
    run.child.kill('SIGTERM');
    await run.exited;
    assert.deepEqual(await portsInUse(Object.values(ports)), [], `${label}: a process outlived npm start`);
    return run.output();
  }

  it('comes up on a new database, writes its keys with mode 0600, and leaves nothing running when stopped', async () => {
    await upThenStop('first start');
    for (const f of ['admin-key', 'serving-key', 'scheduler-key']) {
      const file = path.join(clone.dir, '.data', f);
      assert.ok(existsSync(file), `${f} written`);
      assert.equal(statSync(file).mode & 0o777, 0o600, `${f} is private`);
    }
  });

  it('comes up again after .data is made anew on the same database (the case of a second clone too)', async () => {
    renameSync(path.join(clone.dir, '.data'), path.join(clone.dir, '.data-first'));
    await upThenStop('after rm -rf .data');
    // The first checkout's .data comes back: its bootstrap key takes over again and it comes up.
    rmSync(path.join(clone.dir, '.data'), { recursive: true, force: true });
    renameSync(path.join(clone.dir, '.data-first'), path.join(clone.dir, '.data'));
    await upThenStop('the first checkout again');
  });

  it('stops with one line naming the port when a port is taken, starting nothing', async () => {
    const blocker = createServer().listen(ports.SERVING_PORT, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    try {
      const run = launch(clone.dir, env());
      assert.equal(await run.settled, 'exited');
      const { code } = await run.exited;
      assert.notEqual(code, 0);
      const lines = run.output().trim().split('\n').filter((l) => l.startsWith('[start]'));
      assert.deepEqual(lines, [`[start] port ${ports.SERVING_PORT} (serving) is in use, perhaps by another \`npm start\`: stop it, or set SERVING_PORT`]);
      assert.deepEqual(await portsInUse([ports.REGISTRY_PORT, ports.SCHEDULER_PORT]), []);
    } finally {
      blocker.close();
    }
  });

  it('stops every process it started when one service fails to start', async () => {
    // Serving refuses a bad setting and exits; the registry it started first must not outlive it.
    const run = launch(clone.dir, { ...env(), MAX_BATCH_ROWS: 'not-a-number' });
    assert.equal(await run.settled, 'exited', run.output());
    const { code } = await run.exited;
    assert.notEqual(code, 0);
    assert.match(run.output(), /\[start\] serving exited \(1\); stopping the platform/);
    assert.match(run.output(), /\[start\] registry ready/);
    assert.deepEqual(await portsInUse(Object.values(ports)), []);
  });
});
