import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createLogger, createMetricsRegistry } from '@contender/platform';
import { startTcpProxy, type TcpProxy } from '../testing/tcp-proxy.js';
import { PredictionLog } from './prediction-log.js';
import { rowCounts, setUpLogDatabase, waitFor } from './test-helpers.js';

const DYING = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test/dying-process.js');
const RECORDS = 300;

let env: Awaited<ReturnType<typeof setUpLogDatabase>>;

before(async () => {
  env = await setUpLogDatabase('prediction_log_last_words');
});
after(async () => {
  await env.tearDown();
});

interface Death {
  ids: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  logs: Array<Record<string, unknown>>;
}

/**
 * Runs test/dying-process.js until it dies. `beforeGo` runs once its log has started, before it
 * appends; with `sigterm` the test sends SIGTERM once the records are in memory.
 */
async function runDying(opts: { mode: string; spillDir: string; databaseUrl: string; flush?: boolean; sigterm?: boolean; beforeGo?: () => void }): Promise<Death> {
  const child = spawn(process.execPath, [DYING], {
    env: {
      ...process.env,
      DATABASE_URL: opts.databaseUrl,
      DYING_SPILL_DIR: opts.spillDir,
      DYING_MODE: opts.mode,
      DYING_RECORDS: String(RECORDS),
      DYING_FLUSH: opts.flush ? '1' : '0',
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, signal) => resolve([code, signal])));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  let ids: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  for await (const line of createInterface({ input: child.stdout })) {
    const msg = JSON.parse(line) as Record<string, unknown>;
    if (msg.ready) {
      opts.beforeGo?.();
      child.stdin.write('go\n');
    } else if (Array.isArray(msg.ids)) {
      ids = msg.ids as string[];
      if (opts.sigterm) child.kill('SIGTERM');
    } else {
      logs.push(msg);
    }
  }
  const [code, signal] = await exited;
  clearTimeout(killer);
  return { ids, code, signal, logs };
}

/** How many predictions the dead process' last words say it saved (undefined if it said nothing). */
const savedCount = (death: Death): unknown =>
  death.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('prediction log: saved the predictions held in memory'))?.count;

/** Starts a log on the dead process' spill folder, as its next start would, and waits for the replay. */
async function restartAndReplay(spillDir: string): Promise<void> {
  const log = new PredictionLog({
    pool: env.pool,
    databaseUrl: env.db.url,
    logger: createLogger('serving', 'silent'),
    metrics: createMetricsRegistry('serving', { defaultMetrics: false }),
    spillDir,
  });
  await log.start();
  try {
    await waitFor(() => !log.hasSpillBacklog(), { what: 'the replay of the spill file' });
  } finally {
    await log.close();
  }
}

describe('prediction log: a process that dies without a shutdown saves what it holds in memory', () => {
  for (const mode of ['uncaught-exception', 'unhandled-rejection', 'shutdown-past-deadline']) {
    it(`${mode}: exits with 1 after saving every unwritten prediction; the next start writes each once`, async () => {
      const spillDir = await env.tmp();
      const death = await runDying({ mode, spillDir, databaseUrl: env.db.url, sigterm: mode === 'shutdown-past-deadline' });
      assert.equal(death.ids.length, RECORDS);
      assert.deepEqual([death.code, death.signal], [1, null]);
      const why = death.logs[0];
      if (mode === 'shutdown-past-deadline') assert.equal(why?.msg, 'shutdown timed out; exiting');
      else {
        assert.equal(why?.msg, 'uncaught exception; exiting');
        assert.equal(why?.origin, mode === 'uncaught-exception' ? 'uncaughtException' : 'unhandledRejection');
      }
      assert.equal(savedCount(death), RECORDS, `the last words say how many were saved: ${JSON.stringify(death.logs)}`);
      assert.equal((await rowCounts(env.pool, death.ids)).distinct, 0, 'nothing was written before the process died');

      await restartAndReplay(spillDir);
      assert.deepEqual(await rowCounts(env.pool, death.ids), { total: RECORDS, distinct: RECORDS, missing: 0, duplicated: 0 });
    });
  }

  it('saves the records of a write Postgres never answered as well, and the next start stores each once', async () => {
    const proxy: TcpProxy = await startTcpProxy({ port: Number(new URL(env.db.url).port || 5432) });
    try {
      const spillDir = await env.tmp();
      const death = await runDying({
        mode: 'uncaught-exception',
        spillDir,
        databaseUrl: proxy.rewrite(env.db.url),
        flush: true,
        // A partition: the flush's COPY is sent and never answered.
        beforeGo: () => proxy.cut('blackhole'),
      });
      assert.deepEqual([death.code, death.signal], [1, null]);
      assert.equal(savedCount(death), RECORDS);
      await restartAndReplay(spillDir);
      assert.deepEqual(await rowCounts(env.pool, death.ids), { total: RECORDS, distinct: RECORDS, missing: 0, duplicated: 0 });
    } finally {
      proxy.restore();
      await proxy.close();
    }
  });
});
