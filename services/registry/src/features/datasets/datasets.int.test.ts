import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import request from 'supertest';
import type { Express } from 'express';
import { CsvParser, type CsvRecord } from '@contender/ml';
import { TAIWAN_CREDIT_CSV } from '@contender/fixtures';
import { listBucketContents } from '@contender/platform/testing';
import { startTestRegistry, type TestRegistry } from '../../testing.js';
import { auth } from '../../test/fixtures.js';
import { datasetStagingKey } from './dataset-uploader.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const TAIWAN = readFileSync(TAIWAN_CREDIT_CSV);

/** Rows and header of a CSV as @contender/ml reads it: computed apart from the registry. */
function independently(bytes: Buffer): { columns: string[]; rows: number } {
  const p = new CsvParser();
  const out: CsvRecord[] = [];
  p.push(bytes.toString('utf8'), out);
  p.end(out);
  return { columns: out[0]!.fields, rows: out.length - 1 };
}

function uploadDataset(app: Express, key: string, name: string, bytes: Buffer, o: { metadata?: unknown; idempotencyKey?: string } = {}) {
  let req = request(app).post(`/api/v1/datasets/${name}/versions`).set(auth(key)).attach('file', bytes, 'data.csv');
  if (o.idempotencyKey) req = req.set('Idempotency-Key', o.idempotencyKey);
  return o.metadata === undefined ? req : req.field('metadata', typeof o.metadata === 'string' ? o.metadata : JSON.stringify(o.metadata));
}

const binary = (r: request.Test) =>
  r.buffer(true).parse((res, cb) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => cb(null, Buffer.concat(chunks)));
  });

for (const store of ['file', 's3'] as const) {
  describe(`dataset versions (${store} store)`, () => {
    let reg: TestRegistry;
    let key: string;
    const MAX = 20 * 1024 * 1024;

    const objects = async () => {
      const keys: string[] = [];
      for await (const k of reg.container.storage.list('datasets/')) keys.push(k);
      return keys.sort();
    };
    const versionRows = async () =>
      (await reg.container.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM registry.dataset_version')).rows[0]!.n;
    const stagedFiles = async () => (await readdir(reg.container.config.UPLOAD_TMP_DIR)).filter((f) => f.startsWith('upload-'));

    before(async () => {
      reg = await startTestRegistry({ store, env: { MAX_DATASET_BYTES: String(MAX) } });
      key = await reg.createKey('data-scientist', 'alice');
      await request(reg.app).post('/api/v1/datasets').set(auth(key)).send({ name: 'taiwan', description: 'UCI credit default', tags: { source: 'uci' } }).expect(201);
    });
    after(() => reg.close());

    it('stores the Taiwan CSV as uploaded, with the rows, columns and sha256 computed on the way', async () => {
      const want = independently(TAIWAN);
      assert.equal(want.rows, 30_000);
      assert.equal(want.columns[0], 'ID');
      assert.equal(want.columns[24], 'default payment next month');
      const res = await uploadDataset(reg.app, key, 'taiwan', TAIWAN, { metadata: { description: 'as published', source: { url: 'https://archive.ics.uci.edu/dataset/350' } } }).expect(201);
      const digest = sha256(TAIWAN);
      assert.equal(res.body.dataset, 'taiwan');
      assert.equal(res.body.version, 1);
      assert.equal(res.body.sha256, digest);
      assert.equal(res.body.sizeBytes, TAIWAN.length);
      assert.equal(res.body.rows, want.rows);
      assert.deepEqual(res.body.columns, want.columns);
      assert.match(res.body.createdBy, /^alice#\d+$/);
      assert.equal(res.body.description, 'as published');
      assert.deepEqual(res.body.source, { url: 'https://archive.ics.uci.edu/dataset/350' });
      assert.ok(res.body.uri.endsWith(`datasets/taiwan/sha256-${digest}.csv`), res.body.uri);
      if (store === 's3') assert.ok(res.body.uri.startsWith(`s3://${reg.bucket}/`));
      assert.ok(!Number.isNaN(Date.parse(res.body.createdAt)));
      assert.deepEqual(await objects(), [`datasets/taiwan/sha256-${digest}.csv`]);
      assert.deepEqual(await stagedFiles(), []);

      for (const v of ['1', 'latest']) {
        const dl = await binary(request(reg.app).get(`/api/v1/datasets/taiwan/versions/${v}/content`).set(auth(key))).expect(200);
        assert.ok(Buffer.compare(dl.body as Buffer, TAIWAN) === 0, 'downloaded bytes differ');
        assert.equal(dl.headers.etag, `"${digest}"`);
        assert.match(dl.headers['content-type']!, /^text\/csv/);
        assert.match(dl.headers['cache-control']!, /^private/);
        assert.equal(sha256(dl.body as Buffer), digest);
      }
      await request(reg.app).get('/api/v1/datasets/taiwan/versions/1/content').set(auth(key)).set('If-None-Match', `"${digest}"`).expect(304);
      const got = await request(reg.app).get('/api/v1/datasets/taiwan/versions/latest').set(auth(key)).expect(200);
      assert.deepEqual(got.body, res.body);
      const ds = await request(reg.app).get('/api/v1/datasets/taiwan').set(auth(key)).expect(200);
      assert.equal(ds.body.latestVersion, 1);
      assert.deepEqual(ds.body.latest, res.body);
      assert.deepEqual(ds.body.tags, { source: 'uci' });
    });

    it('refuses a ragged row with 422 naming the row and line, and leaves no row, object or staged file', async () => {
      const before = { versions: await versionRows(), objects: await objects() };
      const lines = TAIWAN.toString('utf8').split('\n');
      lines[1001] = lines[1001]!.split(',').slice(0, -1).join(','); // row 1001 (line 1002) loses a field
      const res = await uploadDataset(reg.app, key, 'taiwan', Buffer.from(lines.join('\n'))).expect(422);
      assert.equal(res.body.error.code, 'csv_ragged_row');
      assert.match(res.body.error.message, /^row 1001 \(line 1002\) has 24 fields; the header has 25 columns$/);
      assert.deepEqual(res.body.error.details, { line: 1002, row: 1001, fields: 24, columns: 25 });
      assert.equal(await versionRows(), before.versions);
      assert.deepEqual(await objects(), before.objects);
      assert.deepEqual(await stagedFiles(), []);
    });

    it('refuses an unterminated quote, a file without a header and an empty file with 422, storing nothing', async () => {
      const before = { versions: await versionRows(), objects: await objects() };
      const quote = await uploadDataset(reg.app, key, 'taiwan', Buffer.from('a,b\n1,2\n3,"never closed\n4,5\n')).expect(422);
      assert.equal(quote.body.error.code, 'csv_unterminated_quote');
      assert.deepEqual(quote.body.error.details, { line: 3, row: 2 });
      assert.match(quote.body.error.message, /row 2 \(line 3\)/);
      const numbers = await uploadDataset(reg.app, key, 'taiwan', Buffer.from('1,2\n3,4\n')).expect(422);
      assert.equal(numbers.body.error.code, 'csv_no_header');
      const empty = await uploadDataset(reg.app, key, 'taiwan', Buffer.alloc(0)).expect(422);
      assert.equal(empty.body.error.code, 'csv_no_header');
      const dup = await uploadDataset(reg.app, key, 'taiwan', Buffer.from('a,b,a\n1,2,3\n')).expect(422);
      assert.equal(dup.body.error.code, 'csv_invalid_header');
      assert.equal(await versionRows(), before.versions);
      assert.deepEqual(await objects(), before.objects);
      assert.deepEqual(await stagedFiles(), []);
    });

    it('refuses a ragged row near the end of a body larger than one S3 part, storing nothing', async () => {
      // About 18 MiB: the S3 store has sent its first 16 MiB part before the refusal, and aborts it.
      const n = 2_000_000;
      const rows = Array.from({ length: n }, (_, i) => `${i},${i % 7}`);
      rows[n - 2] = '1,2,3';
      const body = Buffer.from(`a,b\n${rows.join('\n')}\n`);
      assert.ok(body.length > 16 * 1024 * 1024 && body.length < MAX);
      const before = { versions: await versionRows(), objects: await objects() };
      const res = await uploadDataset(reg.app, key, 'taiwan', body).expect(422);
      assert.deepEqual(res.body.error.details, { line: n, row: n - 1, fields: 3, columns: 2 });
      if (store === 's3') assert.deepEqual((await listBucketContents(reg.bucket!)).openUploads, [], 'the multipart upload was aborted');
      assert.equal(await versionRows(), before.versions);
      assert.deepEqual(await objects(), before.objects);
    });

    it('refuses a file over MAX_DATASET_BYTES with 413, storing nothing', async () => {
      const before = { versions: await versionRows(), objects: await objects() };
      const big = Buffer.concat([Buffer.from('a,b\n'), Buffer.alloc(MAX + 10, '1,2\n')]);
      const res = await uploadDataset(reg.app, key, 'taiwan', big).expect(413);
      assert.match(res.body.error.message, /MAX_DATASET_BYTES/);
      assert.equal(await versionRows(), before.versions);
      assert.deepEqual(await objects(), before.objects);
    });

    it('answers a repeat with the same Idempotency-Key with the first version, and stores the file once', async () => {
      await request(reg.app).post('/api/v1/datasets').set(auth(key)).send({ name: 'idem' }).expect(201);
      const bytes = Buffer.from('x,y\n1,2\n3,4\n');
      const first = await uploadDataset(reg.app, key, 'idem', bytes, { metadata: { description: 'd', tags: { a: '1' } }, idempotencyKey: 'upload-1' }).expect(201);
      // Same file, same metadata with keys in another order: the same request.
      const again = await uploadDataset(reg.app, key, 'idem', bytes, { metadata: '{"tags":{"a":"1"},"description":"d"}', idempotencyKey: 'upload-1' }).expect(201);
      assert.deepEqual(again.body, first.body);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(first.headers['idempotent-replayed'], undefined);
      // The repeat streamed in again, and its staged object is gone: one object for the bytes.
      assert.deepEqual((await objects()).filter((k) => k.startsWith('datasets/idem/')), [`datasets/idem/sha256-${sha256(bytes)}.csv`]);
      const list = await request(reg.app).get('/api/v1/datasets/idem/versions').set(auth(key)).expect(200);
      assert.deepEqual(list.body.items.map((v: { version: number }) => v.version), [1]);
      const objectsBefore = await objects();

      const other = await uploadDataset(reg.app, key, 'idem', Buffer.from('x,y\n5,6\n'), { idempotencyKey: 'upload-1' }).expect(409);
      assert.equal(other.body.error.code, 'idempotency_key_reused');
      assert.match(other.body.error.message, /Idempotency-Key "upload-1" was already used for POST \/api\/v1\/datasets\/idem\/versions with another body/);
      const otherMeta = await uploadDataset(reg.app, key, 'idem', bytes, { metadata: { description: 'e' }, idempotencyKey: 'upload-1' }).expect(409);
      assert.equal(otherMeta.body.error.code, 'idempotency_key_reused');
      assert.deepEqual(await objects(), objectsBefore, 'the refused upload left no object');
      assert.deepEqual(await stagedFiles(), []);
      const after = await request(reg.app).get('/api/v1/datasets/idem/versions').set(auth(key)).expect(200);
      assert.equal(after.body.items.length, 1);
    });

    it('numbers concurrent uploads 1…n with no gap or duplicate, and concurrent repeats of one key make one version', async () => {
      await request(reg.app).post('/api/v1/datasets').set(auth(key)).send({ name: 'race' }).expect(201);
      const n = 8;
      const results = await Promise.all(Array.from({ length: n }, (_, i) => uploadDataset(reg.app, key, 'race', Buffer.from(`k,v\n${i},${i * i}\n`))));
      assert.deepEqual(results.map((r) => r.status), Array(n).fill(201));
      assert.deepEqual(results.map((r) => r.body.version).sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i + 1));

      await request(reg.app).post('/api/v1/datasets').set(auth(key)).send({ name: 'race-idem' }).expect(201);
      const bytes = Buffer.from('k,v\n1,1\n');
      const same = await Promise.all(Array.from({ length: 5 }, () => uploadDataset(reg.app, key, 'race-idem', bytes, { idempotencyKey: 'same-key' })));
      assert.deepEqual(same.map((r) => r.status), Array(5).fill(201));
      for (const r of same) assert.deepEqual(r.body, same[0]!.body);
      const list = await request(reg.app).get('/api/v1/datasets/race-idem/versions').set(auth(key)).expect(200);
      assert.equal(list.body.items.length, 1);
      assert.equal((await objects()).filter((k) => k === `datasets/race-idem/sha256-${sha256(bytes)}.csv`).length, 1);
    });

    it('sweeps dataset objects no version refers to and stale staged uploads, and keeps the rest', async () => {
      const kept = await objects();
      const orphan = `datasets/taiwan/sha256-${sha256(randomBytes(16))}.csv`;
      const stale = datasetStagingKey('taiwan', Date.now() - 25 * 3600 * 1000);
      const recent = datasetStagingKey('taiwan', Date.now()); // an upload that may still be moving into place
      for (const k of [orphan, stale, recent, 'datasets/notes.txt']) await reg.container.storage.put(k, Readable.from([Buffer.from('a\n1\n')]));
      const result = await reg.container.sweeper.sweep();
      assert.deepEqual([...result.removed].sort(), [orphan, stale].sort());
      assert.deepEqual(await objects(), [...kept, recent, 'datasets/notes.txt'].sort());
    });
  });
}

describe('the dataset API', () => {
  let reg: TestRegistry;
  let scientist: string;
  let reader: string;
  let predictor: string;

  before(async () => {
    reg = await startTestRegistry({ env: { MAX_METADATA_BYTES: '2048' } });
    scientist = await reg.createKey('data-scientist', 'dana');
    reader = await reg.createKey('reader');
    predictor = await reg.createKey('predictor');
    await request(reg.app).post('/api/v1/datasets').set(auth(scientist)).send({ name: 'base' }).expect(201);
    await uploadDataset(reg.app, scientist, 'base', Buffer.from('a,b\n1,2\n')).expect(201);
  });
  after(() => reg.close());

  it('creates a dataset and refuses a duplicate name with 409 dataset_exists', async () => {
    const res = await request(reg.app).post('/api/v1/datasets').set(auth(scientist)).send({ name: 'credit.v2_x-y', description: 'd', tags: { team: 'risk' } }).expect(201);
    assert.match(res.body.createdBy, /^dana#\d+$/, 'the actor is the key\'s name and id');
    assert.deepEqual({ ...res.body, createdAt: undefined, createdBy: undefined }, {
      name: 'credit.v2_x-y',
      description: 'd',
      tags: { team: 'risk' },
      latestVersion: null,
      latest: null,
      createdAt: undefined,
      createdBy: undefined,
    });
    const dup = await request(reg.app).post('/api/v1/datasets').set(auth(scientist)).send({ name: 'credit.v2_x-y' }).expect(409);
    assert.equal(dup.body.error.code, 'dataset_exists');
    assert.match(dup.body.error.message, /dataset "credit.v2_x-y" already exists/);
  });

  it('validates a new dataset: the name rule, unknown fields, tags', async () => {
    for (const [body, path] of [
      [{ name: 'Upper' }, 'name'],
      [{ name: '-x' }, 'name'],
      [{ name: 'a'.repeat(64) }, 'name'],
      [{}, 'name'],
      [{ name: 'ok', extra: 1 }, '(body)'],
      [{ name: 'ok', tags: { a: 1 } }, 'tags.a'],
    ] as const) {
      const res = await request(reg.app).post('/api/v1/datasets').set(auth(scientist)).send(body).expect(400);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.ok(res.body.error.details.some((d: { path: string }) => d.path === path), `${JSON.stringify(body)}: ${res.body.error.message}`);
    }
  });

  it('answers a repeated creation under one Idempotency-Key with the first answer instead of 409', async () => {
    const first = await request(reg.app).post('/api/v1/datasets').set(auth(scientist)).set('Idempotency-Key', 'create-1').send({ name: 'made-once' }).expect(201);
    const again = await request(reg.app).post('/api/v1/datasets').set(auth(scientist)).set('Idempotency-Key', 'create-1').send({ name: 'made-once' }).expect(201);
    assert.deepEqual(again.body, first.body);
    const other = await request(reg.app).post('/api/v1/datasets').set(auth(scientist)).set('Idempotency-Key', 'create-1').send({ name: 'made-twice' }).expect(409);
    assert.equal(other.body.error.code, 'idempotency_key_reused');
    await request(reg.app).get('/api/v1/datasets/made-twice').set(auth(scientist)).expect(404);
  });

  it('lists datasets by name with their latest version, paginated', async () => {
    for (const n of ['p-1', 'p-2', 'p-3']) await request(reg.app).post('/api/v1/datasets').set(auth(scientist)).send({ name: n }).expect(201);
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await request(reg.app).get('/api/v1/datasets').query({ limit: 2, ...(cursor ? { after: cursor } : {}) }).set(auth(reader)).expect(200);
      all.push(...res.body.items.map((d: { name: string }) => d.name));
      cursor = res.body.nextCursor;
    } while (cursor);
    assert.deepEqual(all, [...all].sort());
    assert.ok(['base', 'p-1', 'p-2', 'p-3'].every((n) => all.includes(n)));
    const page = await request(reg.app).get('/api/v1/datasets').query({ limit: 200 }).set(auth(reader)).expect(200);
    const base = page.body.items.find((d: { name: string }) => d.name === 'base');
    assert.equal(base.latestVersion, 1);
    assert.deepEqual(base.latest.columns, ['a', 'b']);
    await request(reg.app).get('/api/v1/datasets').query({ limit: 0 }).set(auth(reader)).expect(400);
  });

  it('lists versions newest first with a cursor', async () => {
    await request(reg.app).post('/api/v1/datasets').set(auth(scientist)).send({ name: 'pages' }).expect(201);
    for (let i = 0; i < 5; i++) await uploadDataset(reg.app, scientist, 'pages', Buffer.from(`a\n${i}\n`)).expect(201);
    const p1 = await request(reg.app).get('/api/v1/datasets/pages/versions').query({ limit: 3 }).set(auth(reader)).expect(200);
    assert.deepEqual(p1.body.items.map((v: { version: number }) => v.version), [5, 4, 3]);
    const p2 = await request(reg.app).get('/api/v1/datasets/pages/versions').query({ limit: 3, before: p1.body.nextCursor }).set(auth(reader)).expect(200);
    assert.deepEqual(p2.body.items.map((v: { version: number }) => v.version), [2, 1]);
    assert.equal(p2.body.nextCursor, null);
  });

  it('records dataset.created and dataset.version_created in the audit trail with the actor', async () => {
    const res = await request(reg.app).get('/api/v1/datasets/base/events').set(auth(reader)).expect(200);
    assert.deepEqual(res.body.items.map((e: { action: string }) => e.action), ['dataset.created', 'dataset.version_created']);
    for (const e of res.body.items) {
      assert.match(e.actor, /^dana#\d+$/);
      assert.equal(e.dataset, 'base');
      assert.equal(e.model, null);
    }
    assert.equal(res.body.items[1].after.version, 1);
    assert.equal(res.body.items[1].after.rows, 1);
    await assert.rejects(reg.container.pool.query("DELETE FROM registry.audit_event WHERE action = 'dataset.created'"), /append-only/);
    await assert.rejects(reg.container.pool.query("UPDATE registry.audit_event SET actor = 'x' WHERE dataset_name = 'base'"), /append-only/);
  });

  it('answers every 4xx of the upload naming the part or field', async () => {
    const post = (name = 'base') => request(reg.app).post(`/api/v1/datasets/${name}/versions`).set(auth(scientist));
    const cases: [request.Test, number, string, RegExp][] = [
      [post('nope').attach('file', Buffer.from('a\n1\n'), 'a.csv'), 404, 'dataset_not_found', /dataset "nope" does not exist/],
      [post('Bad%20Name').attach('file', Buffer.from('a\n1\n'), 'a.csv'), 400, 'validation_failed', /^name: /],
      [post().set('content-type', 'text/csv').send('a\n1\n'), 415, 'unsupported_media_type', /multipart\/form-data with a file part "file"/],
      [post().field('metadata', '{}'), 400, 'missing_part', /missing part "file": the CSV file/],
      [post().attach('artifact', Buffer.from('a\n1\n'), 'a.csv'), 400, 'unexpected_part', /unexpected part "artifact"/],
      [post().attach('file', Buffer.from('a\n1\n'), 'a.csv').field('metadata', '{nope'), 400, 'malformed_json', /metadata is not valid JSON/],
      [post().attach('file', Buffer.from('a\n1\n'), 'a.csv').field('metadata', '{"rows":3}'), 400, 'validation_failed', /metadata/],
      [post().attach('file', Buffer.from('a\n1\n'), 'a.csv').field('metadata', JSON.stringify({ description: 'x'.repeat(3000) })), 413, 'payload_too_large', /metadata exceeds 2048 bytes/],
      [post().set('Idempotency-Key', 'has space').attach('file', Buffer.from('a\n1\n'), 'a.csv'), 400, 'invalid_idempotency_key', /Idempotency-Key/],
    ];
    const versionsBefore = (await request(reg.app).get('/api/v1/datasets/base').set(auth(reader))).body.latestVersion;
    for (const [req, status, code, message] of cases) {
      const res = await req;
      assert.equal(res.status, status, `${code}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code);
      assert.match(res.body.error.message, message);
    }
    assert.equal((await request(reg.app).get('/api/v1/datasets/base').set(auth(reader))).body.latestVersion, versionsBefore);
  });

  it('answers every 4xx of the reads', async () => {
    const get = (path: string) => request(reg.app).get(`/api/v1/datasets${path}`).set(auth(reader));
    assert.equal((await get('/nope').expect(404)).body.error.code, 'dataset_not_found');
    assert.equal((await get('/nope/versions').expect(404)).body.error.code, 'dataset_not_found');
    assert.equal((await get('/base/versions/2').expect(404)).body.error.code, 'dataset_version_not_found');
    assert.equal((await get('/base/versions/2/content').expect(404)).body.error.code, 'dataset_version_not_found');
    for (const v of ['0', 'abc', '1.5', '-1', 'newest']) {
      const res = await get(`/base/versions/${v}`).expect(400);
      assert.match(res.body.error.message, /^version: /);
    }
    await request(reg.app).post('/api/v1/datasets').set(auth(scientist)).send({ name: 'empty' }).expect(201);
    const none = await get('/empty/versions/latest').expect(404);
    assert.match(none.body.error.message, /dataset "empty" has no versions yet/);
    await get('/empty/versions/latest/content').expect(404);
    await get('/base/versions?limit=500').expect(400);
    await get('/base/events?after=-1').expect(400);
  });

  it('enforces each role boundary: readers read, data scientists create, no key is 401', async () => {
    const csv = Buffer.from('a,b\n1,2\n');
    for (const k of [reader, predictor]) {
      const c = await request(reg.app).post('/api/v1/datasets').set(auth(k)).send({ name: 'denied' }).expect(403);
      assert.match(c.body.error.message, /needs role "data-scientist"/);
      await uploadDataset(reg.app, k, 'base', csv).expect(403);
    }
    await request(reg.app).post('/api/v1/datasets').send({ name: 'denied' }).expect(401);
    await request(reg.app).post('/api/v1/datasets/base/versions').attach('file', csv, 'a.csv').expect(401);
    for (const path of ['', '/base', '/base/versions', '/base/versions/1', '/base/versions/latest/content', '/base/events']) {
      await request(reg.app).get(`/api/v1/datasets${path}`).expect(401);
      await request(reg.app).get(`/api/v1/datasets${path}`).set(auth('ctk_unknown')).expect(401);
      await request(reg.app).get(`/api/v1/datasets${path}`).set(auth(reader)).expect(200);
      await request(reg.app).get(`/api/v1/datasets${path}`).set(auth(predictor)).expect(200);
    }
    await request(reg.app).get('/api/v1/datasets/denied').set(auth(reader)).expect(404);
  });

  it('documents the dataset endpoints and the Idempotency-Key header in the OpenAPI document', async () => {
    const doc = (await request(reg.app).get('/openapi.json').expect(200)).body;
    for (const p of ['/api/v1/datasets', '/api/v1/datasets/{name}', '/api/v1/datasets/{name}/versions', '/api/v1/datasets/{name}/versions/{version}', '/api/v1/datasets/{name}/versions/{version}/content']) {
      assert.ok(doc.paths[p], p);
    }
    const upload = doc.paths['/api/v1/datasets/{name}/versions'].post;
    assert.ok(upload.parameters.some((p: { name: string; in: string }) => p.name === 'Idempotency-Key' && p.in === 'header'));
    assert.deepEqual(upload.requestBody.content['multipart/form-data'].schema.required, ['file']);
    for (const p of ['/api/v1/models/{name}/versions', '/api/v1/models/{name}/promote', '/api/v1/models/{name}/rollback', '/api/v1/models']) {
      assert.ok(doc.paths[p].post.parameters.some((x: { name: string }) => x.name === 'Idempotency-Key'), p);
    }
  });
});
