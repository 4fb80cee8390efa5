/**
 * Serving benchmark (not a test): req/s and latency of POST /predict at 64 connections, against
 * a bare node:http JSON endpoint on the same machine (the floor).
 *
 *   npm run bench:serving   (= npm run build && node services/serving/dist/bench/bench-serving.js)
 *
 * It trains the model the target speaks of — a 23-feature, 200-tree gradient-boosted classifier
 * on the Taiwan credit-default data (@contender/ml), exported to ONNX — registers it in a real
 * registry (in this process, with its own test database), starts serving as a child process
 * (`dist/main.js`, its own database and Redis key prefix) and the floor as another, and drives
 * both with load-generator.js, a lean keep-alive HTTP client over `net` in a child process of its
 * own.
 * Needs Postgres and Redis like the tests (TEST_DATABASE_URL, TEST_REDIS_URL).
 *
 * Environment: BENCH_DURATION_MS (measured time per run, default 10000), BENCH_WARMUP_MS (2000),
 * BENCH_CONNECTIONS (64), SERVING_WORKERS (1), BENCH_VERBOSE (print requests/p99/max per second),
 * BENCH_RATE (skip the closed-loop /predict runs; the open-loop runs go at this rate),
 * BENCH_REPEAT (rounds of runs, default 1; with more, the medians are printed too),
 * BENCH_SERVING_NODE_ARGS (extra node flags for the serving process, e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TAIWAN_CREDIT_CSV, TAIWAN_CREDIT_LABEL } from '@contender/fixtures';
import { exportToOnnx, loadCsvDataset, trainGbdt } from '@contender/ml';
import { createTestDatabase, deleteRedisKeys, freePort } from '@contender/platform/testing';
import { startTestRegistry } from '@contender/registry/testing';
import { RegistryAdmin } from '../test/registry-fixtures.js';
import type { LoadResult, LoadSpec } from './load-generator.js';
import { cpuSecondsBetween, named, procSnapshot, processAndChildren, threadSchedStat, type ProcStat } from './proc-stat.js';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 10_000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 2_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const WORKERS = process.env.SERVING_WORKERS ?? '1';
/** Rounds of runs; with more than one, the medians of the figures the targets are about are printed too. */
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1));
/** Only the open-loop runs, at this rate: for profiling the latency at a steady load. */
const FIXED_RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;
const ENTITIES = 1_000;
const here = path.dirname(fileURLToPath(import.meta.url));

interface Row {
  name: string;
  result: LoadResult;
  /** CPU the server process used per answered request, µs (user + system, from /proc), or null. */
  serverCpuUs: number | null;
  /** CPU every Postgres process of the machine used per answered request, µs, or null. */
  postgresCpuUs: number | null;
  /** The same for every redis-server process. */
  redisCpuUs: number | null;
  /**
   * The server's main thread during the run (warm-up included), as shares of the wall time: how
   * long it ran, and how long it was ready to run but waited for a CPU another process held.
   * Null where it is not measured (no /proc schedstat, or cluster mode, whose primary does not
   * answer requests).
   */
  mainThread: { running: number; waiting: number } | null;
  /** Serving's event-loop delay during the run (prom-client's nodejs_eventloop_lag_*), ms; null for the floor. */
  loopP99Ms: number | null;
  loopMaxMs: number | null;
}

async function main(): Promise<void> {
  const cleanup: Array<() => Promise<unknown> | unknown> = [];
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'contender-bench-'));
  cleanup.push(() => rm(tmp, { recursive: true, force: true }));
  // Run in reverse order: children stop before the databases and the registry they use go away.
  try {
    log(`training the benchmark model on ${TAIWAN_CREDIT_CSV} …`);
    const ds = await loadCsvDataset(TAIWAN_CREDIT_CSV, { label: TAIWAN_CREDIT_LABEL, drop: ['ID'] });
    const model = trainGbdt(ds, { nTrees: 200, maxDepth: 6, learningRate: 0.1 });
    const onnx = Buffer.from(exportToOnnx(model));
    log(`model: ${ds.featureNames.length} features, ${model.trees.length} trees, ${(onnx.length / 1024).toFixed(0)} KiB ONNX`);

    const registry = await startTestRegistry();
    cleanup.push(() => registry.close());
    const admin = new RegistryAdmin(registry.url, registry.adminKey);
    await admin.createModel('credit');
    const version = await admin.registerVersion('credit', onnx, { featureNames: ds.featureNames });
    await admin.setAlias('credit', 'champion', version);
    const key = await registry.createKey('predictor', 'bench');

    const db = await createTestDatabase('bench_serving');
    cleanup.push(() => db.drop());
    const port = await freePort();
    const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const redisKeyPrefix = `bench-${randomBytes(4).toString('hex')}:`;
    cleanup.push(() => deleteRedisKeys(redisUrl, redisKeyPrefix));
    const nodeArgs = (process.env.BENCH_SERVING_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const serving = spawn(process.execPath, [...nodeArgs, path.resolve(here, '../main.js')], {
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: db.url,
        REDIS_URL: redisUrl,
        REGISTRY_URL: registry.url,
        REGISTRY_API_KEY: await registry.createKey('predictor', 'bench-serving'),
        REDIS_KEY_PREFIX: redisKeyPrefix,
        MODEL_CACHE_DIR: path.join(tmp, 'models'),
        PREDICTION_SPILL_DIR: path.join(tmp, 'spill'),
        SERVING_WORKERS: WORKERS,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    cleanup.push(() => stop(serving));
    const base = `http://127.0.0.1:${port}`;
    await waitReady(`${base}/readyz`, 60_000);

    const floor = spawn(process.execPath, [path.resolve(here, 'floor-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.push(() => stop(floor));
    const floorPort = await new Promise<number>((resolve) => floor.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));

    // Real rows of the dataset, one entity each.
    const featureBodies: string[] = [];
    const entityBodies: string[] = [];
    for (let i = 0; i < ENTITIES; i++) {
      const features = Object.fromEntries(ds.featureNames.map((n, j) => [n, ds.X.data[i * ds.X.cols + j]!]));
      featureBodies.push(JSON.stringify({ model: 'credit', entityId: `c-${i}`, features }));
      entityBodies.push(JSON.stringify({ model: 'credit', entityId: `c-${i}` }));
      const put = await fetch(`${base}/features/c-${i}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ features }),
      });
      if (!put.ok) throw new Error(`PUT /features → ${put.status}: ${await put.text()}`);
    }
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const spec = (url: string, bodies: string[], rate?: number): LoadSpec => ({
      url,
      method: 'POST',
      headers,
      bodies,
      connections: CONNECTIONS,
      durationMs: DURATION_MS,
      warmupMs: WARMUP_MS,
      ...(rate === undefined ? {} : { rate }),
    });

    const rows: Row[] = [];
    const loopLag = async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
      return { p99: value('nodejs_eventloop_lag_p99_seconds'), max: value('nodejs_eventloop_lag_max_seconds') };
    };
    const measure = async (name: string, server: ChildProcess, s: LoadSpec) => {
      log(`${name} …`);
      // prom-client resets its event-loop histogram on every scrape: scrape once to start afresh.
      if (server === serving) await loopLag();
      const mainThread = server === serving && WORKERS !== '1' ? null : server.pid!;
      const before = await procSnapshot();
      const threadBefore = mainThread === null ? null : await threadSchedStat(mainThread);
      const startedAt = performance.now();
      const result = await load(s, tmp);
      const threadAfter = mainThread === null ? null : await threadSchedStat(mainThread);
      const wallSeconds = (performance.now() - startedAt) / 1000;
      const after = await procSnapshot();
      const mainThreadUse =
        threadBefore === null || threadAfter === null
          ? null
          : { running: (threadAfter.running - threadBefore.running) / wallSeconds, waiting: (threadAfter.waiting - threadBefore.waiting) / wallSeconds };
      // The server also works during the warm-up; spread its CPU over every request it answered.
      const answered = result.requests * ((s.durationMs + s.warmupMs) / s.durationMs);
      const perRequestUs = (include: (p: ProcStat) => boolean) =>
        before && after ? (cpuSecondsBetween(before, after, include) / answered) * 1e6 : null;
      const serverCpuUs = perRequestUs(processAndChildren(server.pid!));
      const postgresCpuUs = perRequestUs(named('postgres'));
      const redisCpuUs = perRequestUs(named('redis-server'));
      const lag = server === serving ? await loopLag() : null;
      rows.push({ name, result, serverCpuUs, postgresCpuUs, redisCpuUs, mainThread: mainThreadUse, loopP99Ms: lag?.p99 ?? null, loopMaxMs: lag?.max ?? null });
      if (process.env.BENCH_VERBOSE) log(`  per second: ${result.seconds.map((x) => `${x.requests}/${x.p99Ms.toFixed(1)}/${x.maxMs.toFixed(0)}`).join(' ')}`);
      const busy = mainThreadUse === null ? '' : `, main thread running ${pct(mainThreadUse.running)}, waiting for a CPU ${pct(mainThreadUse.waiting)}`;
      log(`  ${fmt(result)}, server CPU ${serverCpuUs?.toFixed(0) ?? 'n/a'} µs/request${busy}${lag ? `, event loop p99 ${lag.p99.toFixed(1)} ms, max ${lag.max.toFixed(1)} ms` : ''}`);
      return result;
    };
    const floorUrl = `http://127.0.0.1:${floorPort}/predict`;
    // One round: the floor, /predict closed loop (unless BENCH_RATE), then both open loop at
    // /predict's half rate, and the floor at half its own rate.
    const round = async (): Promise<Summary> => {
      rows.length = 0;
      const floorMax = await measure('floor: bare node:http JSON endpoint', floor, spec(floorUrl, featureBodies));
      let half = FIXED_RATE;
      let ratio: number | null = null;
      if (half === undefined) {
        const withFeatures = await measure('/predict with features (entityId + 23 features, write-through)', serving, spec(`${base}/predict`, featureBodies));
        await measure('/predict entity-only (features from the Redis cache)', serving, spec(`${base}/predict`, entityBodies));
        half = Math.round(withFeatures.rps / 2);
        ratio = withFeatures.rps / floorMax.rps;
      }
      const open = await measure(`/predict with features at ${FIXED_RATE === undefined ? 'half its max rate' : 'BENCH_RATE'} (${half} req/s, open loop)`, serving, spec(`${base}/predict`, featureBodies, half));
      // The same rate against the floor: what latency this machine gives any server at that rate.
      const floorOpen = await measure(`floor at the same rate (${half} req/s, open loop)`, floor, spec(floorUrl, featureBodies, half));
      // The target's own measure applied to the floor: its p99 at half of *its* maximum rate, what
      // this machine and generator give the barest node:http server under the same rule.
      let floorHalfP99Ms: number | null = null;
      if (FIXED_RATE === undefined) {
        const floorHalf = Math.round(floorMax.rps / 2);
        floorHalfP99Ms = (await measure(`floor at half its own max rate (${floorHalf} req/s, open loop)`, floor, spec(floorUrl, featureBodies, floorHalf))).p99Ms;
      }
      printTable(rows, floorMax.rps);
      return { ratio, p99Ms: open.p99Ms, floorP99Ms: floorOpen.p99Ms, floorHalfP99Ms };
    };
    const summaries: Summary[] = [];
    for (let i = 0; i < REPEAT; i++) {
      if (REPEAT > 1) log(`round ${i + 1} of ${REPEAT}`);
      summaries.push(await round());
    }
    if (REPEAT > 1) printSummary(summaries);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    const errors = /serving_predictions_total\{[^}]*outcome="error"[^}]*\} (\d+)/.exec(metrics);

    console.log(
      `\nserving: SERVING_WORKERS=${WORKERS}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}; ` +
        `${CONNECTIONS} connections, ${DURATION_MS / 1000} s measured after ${WARMUP_MS / 1000} s warm-up; ` +
        `failed predictions in serving's metrics: ${errors ? errors[1] : 0}.`,
    );
  } finally {
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch (err) {
        log(`cleanup: ${(err as Error).message}`);
      }
    }
  }
}

interface Summary {
  /** /predict with features against the floor of the same round (closed loop); null with BENCH_RATE. */
  ratio: number | null;
  /** p99 of /predict with features in the open-loop run, and of the floor at the same rate. */
  p99Ms: number;
  floorP99Ms: number;
  /** p99 of the floor at half of its own closed-loop rate; null with BENCH_RATE. */
  floorHalfP99Ms: number | null;
}

function printSummary(rounds: Summary[]): void {
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const list = (xs: number[], f: (x: number) => string) => xs.map(f).join(', ');
  const ratios = rounds.flatMap((r) => (r.ratio === null ? [] : [r.ratio]));
  const ms = (x: number) => x.toFixed(1);
  console.log(`\nover ${rounds.length} rounds (median; each round):`);
  if (ratios.length) console.log(`  /predict with features vs floor: ${pct(median(ratios))} (${list(ratios, pct)})`);
  console.log(`  p99 at the open-loop rate, ms: ${ms(median(rounds.map((r) => r.p99Ms)))} (${list(rounds.map((r) => r.p99Ms), ms)}); floor ${ms(median(rounds.map((r) => r.floorP99Ms)))} (${list(rounds.map((r) => r.floorP99Ms), ms)})`);
  const floorHalf = rounds.flatMap((r) => (r.floorHalfP99Ms === null ? [] : [r.floorHalfP99Ms]));
  if (floorHalf.length) console.log(`  floor's p99 at half its own max rate, ms: ${ms(median(floorHalf))} (${list(floorHalf, ms)})`);
}

function printTable(rows: Row[], floorRps: number): void {
  const lines = [
    '| run | req/s | vs floor | p50 ms | p99 ms | errors | server CPU µs/req | server main thread running / waiting for a CPU | Postgres CPU µs/req | Redis CPU µs/req | event-loop delay p99 / max ms | generator CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(({ name, result: r, serverCpuUs, mainThread, postgresCpuUs, redisCpuUs, loopP99Ms, loopMaxMs }) =>
      [
        name,
        r.rps.toFixed(0),
        `${((r.rps / floorRps) * 100).toFixed(0)}%`,
        r.p50Ms.toFixed(2),
        r.p99Ms.toFixed(2),
        String(r.errors + r.non2xx),
        serverCpuUs === null ? 'n/a' : serverCpuUs.toFixed(0),
        mainThread === null ? '–' : `${pct(mainThread.running)} / ${pct(mainThread.waiting)}`,
        postgresCpuUs === null ? 'n/a' : postgresCpuUs.toFixed(0),
        redisCpuUs === null ? 'n/a' : redisCpuUs.toFixed(1),
        loopP99Ms === null || loopMaxMs === null ? '–' : `${loopP99Ms.toFixed(1)} / ${loopMaxMs.toFixed(1)}`,
        `${(r.generatorCpu * 100).toFixed(0)}%`,
      ].join(' | '),
    ).map((l) => `| ${l} |`),
  ];
  console.log(`\n${lines.join('\n')}`);
}

async function load(spec: LoadSpec, dir: string): Promise<LoadResult> {
  const file = path.join(dir, `load-${randomBytes(4).toString('hex')}.json`);
  await writeFile(file, JSON.stringify(spec));
  const child = spawn(process.execPath, [path.resolve(here, 'load-generator.js'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  return JSON.parse(out) as LoadResult;
}

function fmt(r: LoadResult): string {
  return `${r.rps.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, errors ${r.errors + r.non2xx}, generator CPU ${(r.generatorCpu * 100).toFixed(0)}%`;
}

const pct = (share: number) => `${(share * 100).toFixed(0)}%`;

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = await res.text();
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`serving not ready after ${timeoutMs} ms: ${last}`);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
