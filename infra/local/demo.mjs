#!/usr/bin/env node
// `npm run demo` (with `npm start` running): trains a GBDT and a logistic regression on the Taiwan
// credit data with the contender CLI, registers both, makes them champion and challenger with a
// 30% split, sends predictions for a few real rows, and reports an outcome. Prints each step.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const R = `${process.env.REGISTRY_URL ?? 'http://127.0.0.1:8081'}/api/v1`;
const S = process.env.SERVING_URL ?? 'http://127.0.0.1:8080';
const KEY = process.env.CONTENDER_KEY ?? readFileSync(path.join(root, '.data/admin-key'), 'utf8').trim();
const CSV = path.join(root, 'packages/fixtures/datasets/credit-default-taiwan/default_of_credit_card_clients.csv');
const LABEL = 'default payment next month';
const MODEL = process.env.DEMO_MODEL ?? 'credit-demo';
const out = path.join(root, '.data/demo');
mkdirSync(out, { recursive: true });

const call = async (method, url, body, headers = {}) => {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body && !(body instanceof FormData) ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body instanceof FormData ? body : body && JSON.stringify(body),
  });
  const json = res.status === 204 ? null : await res.json();
  if (!res.ok && res.status !== 409) throw new Error(`${method} ${url} → ${res.status} ${JSON.stringify(json)}`);
  return { status: res.status, json };
};

function train(kind, file) {
  const args = ['--data', CSV, '--label', LABEL, '--drop', 'ID', '--model', kind, '--out', `${out}/${file}.onnx`, '--report', `${out}/${file}.json`];
  if (kind === 'gbdt') args.push('--trees', '150');
  console.log(`$ contender train --model ${kind} …`);
  execFileSync(process.execPath, [path.join(root, 'packages/sdk/dist/cli/main.js'), 'train', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  const report = JSON.parse(readFileSync(`${out}/${file}.json`, 'utf8'));
  console.log(`  test AUC ${report.metrics.auc.toFixed(4)}`);
  return report;
}

async function register(file, report) {
  const form = new FormData();
  form.append('artifact', new Blob([readFileSync(`${out}/${file}.onnx`)]), `${file}.onnx`);
  const { metrics, params, featureNames, source, referenceProfile, threshold } = report;
  form.append('metadata', JSON.stringify({ metrics, params, featureNames, source, referenceProfile, threshold }));
  const { json } = await call('POST', `${R}/models/${MODEL}/versions`, form);
  console.log(`  registered ${MODEL} v${json.version} (sha256 ${json.sha256.slice(0, 12)}…)`);
  return json.version;
}

const gbdt = train('gbdt', 'gbdt');
const logreg = train('logreg', 'logreg');
await call('POST', `${R}/models`, { name: MODEL, task: 'binary_classification', description: 'demo: Taiwan credit default' });
const vGbdt = await register('gbdt', gbdt);
const vLogreg = await register('logreg', logreg);
await call('PUT', `${R}/models/${MODEL}/aliases/champion`, { version: vGbdt, reason: 'demo' });
await call('PUT', `${R}/models/${MODEL}/aliases/challenger`, { version: vLogreg, reason: 'demo' });
await call('PUT', `${R}/models/${MODEL}/traffic`, { challengerPercent: 30, mode: 'split', reason: 'demo' });
console.log(`  champion v${vGbdt}, challenger v${vLogreg} with 30% of entities`);

// A few real rows of the dataset as prediction requests.
const lines = readFileSync(CSV, 'utf8').split('\n').slice(0, 9).map((l) => l.split(','));
const header = lines[0];
const rows = lines.slice(1).map((cells) => Object.fromEntries(header.map((h, i) => [h, Number(cells[i])])));
const deadline = Date.now() + 30_000;
let first;
for (;;) {
  const res = await fetch(`${S}/predict`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, entityId: `customer-${rows[0].ID}`, features: rows[0] }),
  });
  if (res.ok) {
    first = await res.json();
    break;
  }
  if (Date.now() > deadline) throw new Error(`serving did not answer for ${MODEL}: ${res.status} ${await res.text()}`);
  await new Promise((r) => setTimeout(r, 500)); // serving loads the new model when the registry's event arrives
}
console.log(`$ POST ${S}/predict for ${rows.length} customers`);
for (const row of rows) {
  const { json } = await call('POST', `${S}/predict`, { model: MODEL, entityId: `customer-${row.ID}`, features: row });
  console.log(`  customer-${row.ID}: ${json.variant.padEnd(10)} v${json.version}  score ${json.score.toFixed(4)}  (actual: ${row[LABEL]})`);
}
const again = await call('POST', `${S}/predict`, { model: MODEL, entityId: `customer-${rows[0].ID}` });
console.log(`  customer-${rows[0].ID} again, features from the cache: ${again.json.variant} v${again.json.version} score ${again.json.score.toFixed(4)}`);
const fb = await call('POST', `${S}/feedback`, { predictionId: first.predictionId, label: rows[0][LABEL] });
console.log(`$ POST ${S}/feedback → ${fb.status}`);
// A serving process lists its own predictions at once; with SERVING_WORKERS > 1 another worker's
// appear when it flushes its log, a fraction of a second behind the answers.
let hist;
for (const until = Date.now() + 5_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
  hist = await call('GET', `${S}/predictions?entityId=customer-${rows[0].ID}&model=${MODEL}&limit=5`);
  if (hist.json.items.some((p) => p.outcome)) break;
}
console.log(`$ GET ${S}/predictions?entityId=customer-${rows[0].ID}: ${hist.json.items.length} logged, newest first`);
for (const p of hist.json.items) console.log(`  ${p.at ?? ''} ${p.variant} v${p.version} score ${p.score.toFixed(4)} outcome ${p.outcome ? p.outcome.label : '—'}`);
