// The built `contender` command, run as a child process (through the bin shim npm links) against
// a real registry and serving in-process.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { exportToOnnx, trainLogReg } from '@contender/ml';
import { createTestDatabase, type TestDatabase } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '@contender/registry/testing';
import { startTestServing, type TestServing } from '@contender/serving/testing';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/contender.js');

function tinyOnnx(seed: number): Uint8Array {
  const rows = 200;
  const data = new Float64Array(rows * 2);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    data[i * 2] = ((i * 37 + seed) % 101) / 101;
    data[i * 2 + 1] = ((i * 53 + seed) % 89) / 89;
    y[i] = data[i * 2]! + 0.3 * data[i * 2 + 1]! > 0.65 ? 1 : 0;
  }
  return exportToOnnx(trainLogReg({ featureNames: ['a', 'b'], X: { rows, cols: 2, data }, y }));
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('the contender CLI against the real registry and serving', { timeout: 300_000 }, () => {
  let registry: TestRegistry;
  let serving: TestServing;
  let db: TestDatabase;
  let tmp: string;
  let env: NodeJS.ProcessEnv;

  function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Result> {
    return new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, cwd: tmp, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  }
  /** Runs with --json, asserts exit 0 and returns the parsed answer. */
  async function json<T = Record<string, unknown>>(args: string[]): Promise<T> {
    const r = await cli([...args, '--json']);
    assert.equal(r.code, 0, `contender ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  before(async () => {
    registry = await startTestRegistry();
    db = await createTestDatabase('sdk-cli');
    serving = await startTestServing({ registryUrl: registry.url, apiKey: await registry.createKey('predictor'), databaseUrl: db.url, env: { RECONCILE_INTERVAL_MS: '200' } });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'sdk-cli-'));
    env = {
      PATH: process.env.PATH,
      HOME: tmp,
      CONTENDER_CONFIG: path.join(tmp, 'config', 'profile.json'),
      CONTENDER_REGISTRY_URL: registry.url,
      CONTENDER_SERVING_URL: serving.url,
      CONTENDER_SCHEDULER_URL: 'http://127.0.0.1:1',
    };
    await writeFile(path.join(tmp, 'v1.onnx'), tinyOnnx(1));
    await writeFile(path.join(tmp, 'v2.onnx'), tinyOnnx(2));
  });
  after(async () => {
    await serving?.close();
    await registry?.close();
    await db?.drop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('login checks the key, writes a 0600 profile, and later commands use it', async () => {
    const bad = await cli(['login', '--key', 'ctk_nope_0000000000000000000000000000000000000000']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /does not know this key/);
    const who = await json<{ role: string; path: string }>(['login', '--key', registry.adminKey]);
    assert.equal(who.role, 'admin');
    assert.equal(who.path, env.CONTENDER_CONFIG);
    assert.equal((await stat(who.path)).mode & 0o777, 0o600);
    const profile = JSON.parse(await readFile(who.path, 'utf8')) as { apiKey: string; registryUrl: string };
    assert.equal(profile.apiKey, registry.adminKey);
    assert.equal(profile.registryUrl, registry.url);
    // No CONTENDER_API_KEY in the environment: the key comes from the profile.
    assert.deepEqual((await json<{ items: unknown[] }>(['models', 'list'])).items, []);
  });

  it('models create, list and show', async () => {
    const m = await json<{ name: string; task: string }>(['models', 'create', 'credit', '--task', 'binary_classification', '--description', 'cards']);
    assert.deepEqual([m.name, m.task], ['credit', 'binary_classification']);
    assert.deepEqual((await json<{ items: { name: string }[] }>(['models', 'list'])).items.map((x) => x.name), ['credit']);
    assert.equal((await json<{ description: string }>(['models', 'show', 'credit'])).description, 'cards');
    const table = await cli(['models', 'list']);
    assert.match(table.stdout, /^NAME\s+TASK/m);
    assert.match(table.stdout, /^credit\s+binary_classification/m);
  });

  it("versions upload takes train's report as metadata, shows progress and the sha256; list, show and download agree", async () => {
    const report = { metrics: { auc: 0.81 }, params: { model: 'logreg' }, featureNames: ['a', 'b'], threshold: 0.4, featureImportance: { a: 1 }, evaluation: { test: {} } };
    await writeFile(path.join(tmp, 'report.json'), JSON.stringify(report));
    const up = await cli(['versions', 'upload', 'credit', 'v1.onnx', '--report', 'report.json', '--json']);
    assert.equal(up.code, 0, up.stderr);
    const v1 = JSON.parse(up.stdout) as { version: number; sha256: string; metrics: Record<string, number>; threshold: number; featureNames: string[] };
    assert.match(up.stderr, /^upload /m);
    assert.equal(v1.version, 1);
    assert.equal(v1.sha256, createHash('sha256').update(await readFile(path.join(tmp, 'v1.onnx'))).digest('hex'));
    assert.deepEqual(v1.metrics, { auc: 0.81 });
    assert.equal(v1.threshold, 0.4);
    await writeFile(path.join(tmp, 'meta.json'), JSON.stringify({ metrics: { auc: 0.83 }, featureNames: ['a', 'b'] }));
    const v2 = await json<{ version: number }>(['versions', 'upload', 'credit', 'v2.onnx', '--metadata', 'meta.json']);
    assert.equal(v2.version, 2);
    assert.deepEqual((await json<{ items: { version: number }[] }>(['versions', 'list', 'credit'])).items.map((v) => v.version), [2, 1]);
    assert.deepEqual((await json<{ metrics: unknown }>(['versions', 'show', 'credit', '2'])).metrics, { auc: 0.83 });
    const dl = await json<{ path: string; sha256: string }>(['versions', 'download', 'credit', '1', '--out', 'back.onnx']);
    assert.equal(dl.sha256, v1.sha256);
    assert.deepEqual(await readFile(path.join(tmp, 'back.onnx')), await readFile(path.join(tmp, 'v1.onnx')));
  });

  it('datasets create, upload, list and show', async () => {
    await writeFile(path.join(tmp, 'rows.csv'), 'id,a,b,y\n1,0.9,0.1,1\n2,0.1,0.2,0\n3,0.8,0.9,1\n');
    assert.equal((await json<{ name: string }>(['datasets', 'create', 'credit-train'])).name, 'credit-train');
    const v = await json<{ version: number; rows: number; columns: string[] }>(['datasets', 'upload', 'credit-train', 'rows.csv']);
    assert.deepEqual([v.version, v.rows, v.columns], [1, 3, ['id', 'a', 'b', 'y']]);
    assert.deepEqual((await json<{ items: { name: string; latestVersion: number }[] }>(['datasets', 'list'])).items.map((d) => [d.name, d.latestVersion]), [['credit-train', 1]]);
    assert.equal((await json<{ versions: unknown[] }>(['datasets', 'show', 'credit-train'])).versions.length, 1);
    assert.equal((await json<{ rows: number }>(['datasets', 'show', 'credit-train', '1'])).rows, 3);
  });

  it('aliases, traffic, promote, rollback and events move the model and leave an audit trail', async () => {
    assert.deepEqual((await json<{ aliases: unknown }>(['aliases', 'set', 'credit', 'champion', '1', '--reason', 'first'])).aliases, { champion: 1 });
    assert.deepEqual((await json<{ aliases: unknown }>(['aliases', 'set', 'credit', 'challenger', '2'])).aliases, { champion: 1, challenger: 2 });
    assert.deepEqual((await json<{ traffic: unknown }>(['traffic', 'set', 'credit', '20', '--mode', 'shadow'])).traffic, { challengerPercent: 20, mode: 'shadow' });
    assert.equal((await json<{ aliases: { champion: number } }>(['promote', 'credit', '--reason', 'better AUC'])).aliases.champion, 2);
    assert.equal((await json<{ aliases: { champion: number } }>(['rollback', 'credit', '--reason', 'undo'])).aliases.champion, 1);
    await json(['aliases', 'set', 'credit', 'staging', '2']);
    assert.equal((await json<{ aliases: Record<string, number> }>(['aliases', 'delete', 'credit', 'staging'])).aliases.staging, undefined);
    const events = await json<{ items: { action: string; reason: string | null }[] }>(['events', 'credit', '--limit', '100']);
    assert.ok(events.items.some((e) => e.reason === 'better AUC'), JSON.stringify(events.items.map((e) => [e.action, e.reason])));
    assert.ok(events.items.some((e) => e.reason === 'undo'));
  });

  it('predict scores one JSON row and a CSV as a batch; feedback records the outcome', async () => {
    await writeFile(path.join(tmp, 'score.csv'), 'ID,a,b\nc1,0.9,0.1\nc2,0.1,0.2\n');
    // serving loads the new champion on its own; poll until it answers.
    const deadline = Date.now() + 60_000;
    let one: Result;
    for (;;) {
      one = await cli(['predict', 'credit', '{"a":0.9,"b":0.5}', '--json']);
      if (one.code === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(one.code, 0, one.stderr);
    const p = JSON.parse(one.stdout) as { model: string; version: number; score: number; predictionId: string };
    assert.equal(p.model, 'credit');
    assert.ok(p.score >= 0 && p.score <= 1);
    const batch = await json<{ predictions: { entityId: string; score: number }[] }>(['predict', 'credit', '--csv', 'score.csv', '--id-column', 'ID']);
    assert.deepEqual(batch.predictions.map((x) => x.entityId), ['c1', 'c2']);
    assert.ok(batch.predictions[0]!.score > batch.predictions[1]!.score);
    const f = await json<{ predictionId: string; label: number }>(['feedback', p.predictionId, '1']);
    assert.deepEqual([f.predictionId, f.label], [p.predictionId, 1]);
  });

  it('keys create, list and revoke; a revoked key is refused', async () => {
    const k = await json<{ id: number; key: string; role: string }>(['keys', 'create', 'notebook', '--role', 'reader']);
    assert.equal(k.role, 'reader');
    assert.ok((await json<{ items: { id: number }[] }>(['keys', 'list'])).items.some((x) => x.id === k.id));
    assert.ok((await json<{ revokedAt: string | null }>(['keys', 'revoke', String(k.id)])).revokedAt);
    const refused = await cli(['models', 'list'], { CONTENDER_API_KEY: k.key });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^contender models list: 401 \w+: .+ \(request \S+\)$/m);
  });

  it('a refusal exits 1 with the code, message and request id; bad usage exits 2', async () => {
    const missing = await cli(['models', 'show', 'no-such-model']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^contender models show: 404 model_not_found: model "no-such-model" does not exist \(request \S+\)$/m);
    const reader = await registry.createKey('reader');
    const forbidden = await cli(['promote', 'credit'], { CONTENDER_API_KEY: reader });
    assert.equal(forbidden.code, 1);
    assert.match(forbidden.stderr, /403 \w+: .* \(request \S+\)/);
    for (const args of [['models', 'show'], ['models', 'nope'], ['traffic', 'set', 'credit', '150'], ['versions', 'show', 'credit', 'x'], ['models', 'list', '--bogus'], ['nope']]) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.length > 0);
    }
    const down = await cli(['runs', 'list']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /unreachable/);
  });
});
