// Property-based fuzzing of every JSON endpoint of the registry and serving, started as real
// processes: generated bodies (arbitrary JSON, schema-shaped objects with one field made hostile,
// raw bytes, truncated JSON, wrong content types) and hostile path and query parameters, sent with
// no key, a malformed key, an unknown well-formed key and a real key of each role. The endpoints
// come from each service's own GET /openapi.json, so a new endpoint is fuzzed without editing this
// file. Asserts: no answer >= 500, no request left unanswered, both processes alive and healthy
// afterwards, and each process's resident memory bounded over the run.
//   FUZZ_REQUESTS (default 10000) requests in all; FUZZ_SEED replays a run (printed at the start).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { onnxFixture } from '@contender/fixtures';
import { RegistryClient } from '@contender/sdk';
import { startPlatform } from './platform-processes.mjs';

const TOTAL = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? (Date.now() % 2 ** 31));
const CONCURRENCY = 4;
const REQUEST_TIMEOUT_MS = 20_000;
const WARM_UP = 500;
/** Growth allowed between the RSS after the warm-up and the RSS after the run, per process. */
const RSS_GROWTH_BOUND_BYTES = 150 * 1024 * 1024;
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

function rssBytes(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

// ---- the endpoints, from the OpenAPI documents ----------------------------------------------

function resolver(doc) {
  const resolve = (schema, depth = 0) => {
    if (!schema || typeof schema !== 'object' || depth > 20) return schema ?? {};
    if (typeof schema.$ref === 'string') {
      const target = schema.$ref.replace(/^#\//, '').split('/').reduce((o, k) => o?.[k], doc);
      return resolve(target, depth + 1);
    }
    return schema;
  };
  return resolve;
}

/** Every operation of `doc` with a JSON request body or path or query parameters. */
export function operationsOf(service, doc) {
  const resolve = resolver(doc);
  const ops = [];
  for (const [p, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])]
        .map((x) => resolve(x))
        .filter((x) => x.in === 'path' || x.in === 'query');
      const body = op.requestBody ? resolve(op.requestBody) : undefined;
      const jsonSchema = body?.content?.['application/json']?.schema;
      const hasPathParam = /\{[^}]+\}/.test(p);
      if (!jsonSchema && params.length === 0 && !hasPathParam) continue;
      if (body && !jsonSchema) continue; // multipart uploads: not a JSON endpoint
      const pathParams = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      ops.push({
        service,
        method: method.toUpperCase(),
        path: p,
        pathParams,
        query: params.filter((x) => x.in === 'query').map((x) => ({ name: x.name, schema: resolve(x.schema) })),
        schema: jsonSchema ? resolve(jsonSchema) : undefined,
        resolve,
      });
    }
  }
  return ops;
}

// ---- generators ------------------------------------------------------------------------------

/** Text that JSON.stringify cannot produce: placed as a string, then spliced in raw. */
const RAW = '\u0001RAW:';
const raw = (text) => `${RAW}${text}`;
const serialize = (value) =>
  JSON.stringify(value).replace(new RegExp(`"${RAW}((?:[^"\\\\]|\\\\.)*)"`, 'g'), (_m, t) => JSON.parse(`"${t}"`));

const controlString = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const nasty = fc.oneof(
  fc.constantFrom(
    raw('1e400'), raw('-1e400'), raw('1e308'), raw('9007199254740993'), raw('-0'), raw('0.0000000000000000000001'),
    null, true, false, 0, -1, 2 ** 31, -(2 ** 53), 1.5, '', ' ', '\u0000', 'a\u0000b', '../../etc/passwd', '%00', '\ud800',
    '__proto__', 'constructor', [], {}, [null], { __proto__: 1 }, { constructor: { prototype: { x: 1 } } },
  ),
  controlString,
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.integer({ min: 500, max: 20_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 10, max: 3000 }).map((d) => raw('['.repeat(d) + ']'.repeat(d))),
  fc.integer({ min: 10, max: 3000 }).map((d) => raw('{"a":'.repeat(d) + '1' + '}'.repeat(d))),
  fc.double(),
  fc.array(fc.integer(), { maxLength: 200 }),
);

/** A value shaped like `schema` (best effort: its fields, types and enums), depth-limited. */
function shaped(schema, resolve, depth = 0) {
  schema = resolve(schema);
  if (depth > 6) return fc.constant(null);
  const alts = schema.oneOf ?? schema.anyOf;
  if (alts?.length) return fc.oneof(...alts.map((s) => shaped(s, resolve, depth + 1)));
  if (schema.allOf?.length) {
    return fc.tuple(...schema.allOf.map((s) => shaped(s, resolve, depth + 1))).map((parts) => Object.assign({}, ...parts.filter((x) => x && typeof x === 'object')));
  }
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if ('const' in schema) return fc.constant(schema.const);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const props = schema.properties ?? {};
      const rec = {};
      for (const [k, s] of Object.entries(props)) rec[k] = shaped(s, resolve, depth + 1);
      const base = Object.keys(rec).length ? fc.record(rec, { requiredKeys: schema.required?.filter((k) => k in rec) ?? [] }) : fc.constant({});
      if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        return fc.tuple(base, fc.dictionary(fc.string({ maxLength: 12 }), shaped(schema.additionalProperties, resolve, depth + 1), { maxKeys: 5 })).map(([a, b]) => ({ ...b, ...a }));
      }
      return base;
    }
    case 'array':
      return fc.array(shaped(schema.items ?? {}, resolve, depth + 1), { maxLength: 4 });
    case 'string':
      return fc.oneof(fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 20, 40) }), fc.constantFrom('a', 'model-a', 'champion', '2024-01-01T00:00:00Z'));
    case 'integer':
      return fc.integer({ min: -5, max: 1000 });
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });
    case 'boolean':
      return fc.boolean();
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Replaces one field, at any depth, of `value` with `replacement` (picked by `pick`). */
function mutateOne(value, pick, replacement) {
  const slots = [];
  const walk = (v, d) => {
    if (d > 6 || v === null || typeof v !== 'object') return;
    for (const k of Object.keys(v)) {
      slots.push([v, k]);
      walk(v[k], d + 1);
    }
  };
  const copy = structuredClone(value);
  walk(copy, 0);
  if (slots.length === 0) return replacement;
  const [obj, key] = slots[pick % slots.length];
  obj[key] = replacement;
  return copy;
}

/** A served model, so /predict's bodies reach feature validation and scoring, not only model_not_found. */
const MODEL = 'fuzz-model';
const FEATURES = ['LIMIT_BAL', 'SEX', 'EDUCATION', 'MARRIAGE', 'AGE', 'PAY_0', 'PAY_2', 'PAY_3', 'PAY_4', 'PAY_5', 'PAY_6', 'BILL_AMT1', 'BILL_AMT2', 'BILL_AMT3', 'BILL_AMT4', 'BILL_AMT5', 'BILL_AMT6', 'PAY_AMT1', 'PAY_AMT2', 'PAY_AMT3', 'PAY_AMT4', 'PAY_AMT5', 'PAY_AMT6'];
const goodFeatures = fc.tuple(...FEATURES.map(() => fc.integer({ min: -2, max: 50_000 }))).map((v) => Object.fromEntries(FEATURES.map((f, i) => [f, v[i]])));
const entityId = fc.oneof(fc.constantFrom('e1', 'e2'), fc.string({ minLength: 1, maxLength: 20 }));
/** Valid requests of the operations that score (by the shape of their schema: a `features` field). */
function scoringExamples(op) {
  const props = op.schema?.properties ?? {};
  if ('features' in props && 'model' in props) return fc.record({ model: fc.constant(MODEL), entityId, features: goodFeatures }, { requiredKeys: ['model', 'features'] });
  if ('rows' in props && 'model' in props) return fc.record({ model: fc.constant(MODEL), rows: fc.array(fc.record({ entityId, features: goodFeatures }, { requiredKeys: ['features'] }), { minLength: 1, maxLength: 5 }) });
  if ('features' in props) return fc.record({ features: goodFeatures });
  return undefined;
}

function bodyArbitrary(op) {
  const json = fc.jsonValue({ maxDepth: 4 }).map(serialize);
  const generic = [
    { weight: 3, arbitrary: json },
    { weight: 2, arbitrary: nasty.map(serialize) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: fc.tuple(json, fc.nat()).map(([t, n]) => t.slice(0, n % (t.length + 1))) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', '[', '"', 'nul', '{"a":1,}', '\u0000', '\ufeff{}', '{"a":"\\ud800"}', '{"a":1}{"a":2}') },
  ];
  if (!op.schema) return fc.oneof(...generic);
  const scoring = scoringExamples(op);
  const valid = scoring ? fc.oneof(shaped(op.schema, op.resolve), { weight: 3, arbitrary: scoring }) : shaped(op.schema, op.resolve);
  return fc.oneof(
    ...generic,
    { weight: 3, arbitrary: valid.map(serialize) },
    { weight: 6, arbitrary: fc.tuple(valid, fc.nat(), nasty).map(([v, i, r]) => serialize(mutateOne(v, i, r))) },
    { weight: 1, arbitrary: fc.tuple(valid, fc.nat()).map(([v, n]) => { const t = serialize(v); return t.slice(0, n % (t.length + 1)); }) },
  );
}

const paramValue = fc.oneof(
  fc.constantFrom('a', 'model-a', '1', '0', '-1', '00000000-0000-0000-0000-000000000000', 'a\u0000b', '\u0000', '..', '.', ' ', '\ud800', '9'.repeat(400)),
  fc.string({ maxLength: 30 }),
  controlString,
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.integer({ min: 256, max: 5000 }).map((n) => 'y'.repeat(n)),
);
/** Encoded for a URL; sometimes left broken (a lone %, a bad UTF-8 sequence). */
const encodedParam = fc.oneof(
  { weight: 8, arbitrary: paramValue.map((v) => encodeURIComponent(v.replace(/[\ud800-\udfff]/g, '\ufffd'))) },
  { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%E0%A4%A', '%C0%AF', '%FF', 'a%00b', '%2e%2e', '%2F') },
);

const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom(undefined, 'text/plain', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/*', 'APPLICATION/JSON', '', 'application/json;;;', 'application/merge-patch+json') },
);

const REAL_KEYS = { admin: 1, reader: 1, predictor: 1, 'data-scientist': 1 };

function requestArbitrary(op, keyNames) {
  const hasBody = !['GET', 'DELETE'].includes(op.method);
  return fc.record({
    // Real keys more often than wrong ones, so bodies reach validation behind the key check.
    key: fc.oneof(...keyNames.map((k) => ({ weight: k in REAL_KEYS ? 3 : 1, arbitrary: fc.constant(k) }))),
    pathValues: fc.tuple(...op.pathParams.map(() => encodedParam)),
    query: fc.array(fc.tuple(fc.constantFrom(...(op.query.length ? op.query.map((q) => q.name) : ['x'])), encodedParam), { maxLength: 3 }),
    body: hasBody ? bodyArbitrary(op) : fc.constant(undefined),
    type: hasBody ? contentType : fc.constant(undefined),
  });
}

// ---- sending ---------------------------------------------------------------------------------

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });

function send(base, { method, url, headers, body }) {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(url, base), { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

function describeRequest(r) {
  const b = r.body === undefined ? '' : Buffer.isBuffer(r.body) ? `<${r.body.length} raw bytes: ${r.body.toString('hex').slice(0, 200)}>` : r.body.slice(0, 400);
  return `${r.method} ${r.service}${r.url} key=${r.keyName} content-type=${r.headers['content-type'] ?? '(none)'} body=${b}`;
}

// ---- the test --------------------------------------------------------------------------------

describe('fuzzing every JSON endpoint of the registry and serving', { timeout: 540_000 }, () => {
  let platform;
  const keys = {};
  before(async () => {
    platform = await startPlatform({ services: ['serving'] });
    keys.none = undefined;
    keys.malformed = 'Bearer not-a-key';
    keys.unknown = `Bearer ctk_${randomBytes(32).toString('base64url')}`;
    keys.basic = 'Basic YWRtaW46YWRtaW4=';
    keys.admin = `Bearer ${platform.adminKey}`;
    for (const role of ['reader', 'predictor', 'data-scientist']) keys[role] = `Bearer ${await platform.createKey(role)}`;
    const client = new RegistryClient({ baseUrl: platform.urls.registry, apiKey: platform.adminKey });
    await client.createModel({ name: MODEL, task: 'binary_classification' });
    await client.uploadVersion(MODEL, { artifact: onnxFixture('sklearn-onnx__tests_datasets_treecl2.onnx'), metadata: { featureNames: FEATURES } });
    await client.setAlias(MODEL, 'champion', 1);
  });
  after(() => platform?.stop());

  it(`answers ${TOTAL} generated requests with no 5xx, no hang, and bounded memory`, async () => {
    console.log(`fuzz: seed ${SEED} (FUZZ_SEED=${SEED} replays this run), ${TOTAL} requests`);
    const ops = [];
    for (const service of ['registry', 'serving']) {
      const doc = await (await fetch(`${platform.urls[service]}/openapi.json`)).json();
      const found = operationsOf(service, doc);
      assert.ok(found.some((o) => o.schema), `${service}'s OpenAPI document lists JSON endpoints`);
      ops.push(...found);
    }
    assert.ok(ops.some((o) => o.service === 'serving' && o.method === 'POST' && o.path === '/predict'), 'POST /predict is fuzzed');

    const keyNames = Object.keys(keys);
    console.log(`fuzz: ${ops.map((o) => `${o.service} ${o.method} ${o.path}`).join(', ')}`);
    // TOTAL bodies shared by the operations that take one; a tenth as many again for the others
    // (GET and DELETE: their path and query parameters).
    const withBody = ops.filter((o) => !['GET', 'DELETE'].includes(o.method));
    const perBodyOp = Math.ceil(TOTAL / withBody.length);
    const perOtherOp = Math.ceil(TOTAL / 10 / Math.max(1, ops.length - withBody.length));
    const requests = [];
    ops.forEach((op, i) => {
      const numRuns = withBody.includes(op) ? perBodyOp : perOtherOp;
      for (const g of fc.sample(requestArbitrary(op, keyNames), { numRuns, seed: SEED + i })) {
        let p = op.path;
        op.pathParams.forEach((name, j) => (p = p.replace(`{${name}}`, g.pathValues[j] || 'a')));
        const qs = g.query.map(([k, v]) => `${encodeURIComponent(k)}=${v}`).join('&');
        const headers = {};
        if (keys[g.key]) headers.authorization = keys[g.key];
        if (g.type !== undefined) headers['content-type'] = g.type;
        if (g.body !== undefined) headers['content-length'] = String(Buffer.byteLength(g.body));
        requests.push({ service: op.service, op: `${op.method} ${op.path}`, method: op.method, url: p + (qs ? `?${qs}` : ''), headers, body: g.body, keyName: g.key });
      }
    });
    // Interleave the endpoints so every one is under load while the others are.
    const order = fc.sample(fc.shuffledSubarray(requests.map((_r, i) => i), { minLength: requests.length }), { numRuns: 1, seed: SEED })[0];
    const queue = order.map((i) => requests[i]);

    const pids = { registry: platform.procs.registry.pid, serving: platform.procs.serving.pid };
    const rss = { registry: [], serving: [] };
    const sample = () => {
      for (const [name, pid] of Object.entries(pids)) rss[name].push(rssBytes(pid));
    };
    let baseline;
    let sent = 0;
    let bodies = 0;
    let scored = 0;
    const failures = [];
    const statuses = new Map();
    let next = 0;
    const worker = async () => {
      while (next < queue.length && failures.length === 0) {
        const r = queue[next++];
        let res;
        try {
          res = await send(platform.urls[r.service], r);
        } catch (err) {
          failures.push(`${describeRequest(r)}\n  -> ${err.message}`);
          return;
        }
        sent += 1;
        if (r.body !== undefined) bodies += 1;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (r.service === 'serving' && r.op === 'POST /predict' && res.status === 200) scored += 1;
        if (res.status >= 500) failures.push(`${describeRequest(r)}\n  -> ${res.status} ${res.body.slice(0, 1000)}`);
        if (sent % 250 === 0) sample();
        if (sent === WARM_UP) baseline = { registry: rssBytes(pids.registry), serving: rssBytes(pids.serving) };
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const logsOnFailure = () => Object.entries(platform.logs).map(([n, l]) => `--- ${n} log\n${l.slice(-4000)}`).join('\n');
    assert.deepEqual(failures, [], `first failing request(s) (FUZZ_SEED=${SEED}):\n${failures.join('\n')}\n${logsOnFailure()}`);
    assert.equal(sent, queue.length, 'every generated request was answered');
    assert.ok(scored > 0, 'some generated /predict requests were scored by the served model');
    assert.ok(bodies >= TOTAL, `sent ${bodies} generated bodies, at least ${TOTAL}`);
    const final = { registry: rssBytes(pids.registry), serving: rssBytes(pids.serving) };
    const mb = (b) => `${(b / 1024 / 1024).toFixed(1)} MB`;
    console.log(
      `fuzz: ${sent} requests (${bodies} with a body) over ${ops.length} operations (${withBody.length} with a body), ${scored} scored by /predict; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; ` +
        Object.keys(pids).map((n) => `${n} RSS after warm-up ${mb(baseline[n])}, peak ${mb(Math.max(...rss[n]))}, final ${mb(final[n])}`).join('; '),
    );
    for (const name of Object.keys(pids)) {
      assert.equal(platform.procs[name].exitCode, null, `${name} is still running`);
      assert.ok(final[name] - baseline[name] < RSS_GROWTH_BOUND_BYTES, `${name}'s RSS grew by ${mb(final[name] - baseline[name])} over the run (bound ${mb(RSS_GROWTH_BOUND_BYTES)})`);
      const health = await fetch(`${platform.urls[name]}/healthz`);
      assert.equal(health.status, 200, `${name} /healthz answers after the run`);
    }
    agent.destroy();
  });
});
