import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { AppError, BadRequestError, PayloadTooLargeError } from '../errors.js';
import {
  ArtifactChecksumMismatchError,
  ArtifactNotFoundError,
  ArtifactRangeNotSatisfiableError,
  InvalidArtifactKeyError,
} from './artifact-errors.js';
import type { ArtifactStorage } from './artifact-storage.js';

export interface ArtifactStorageFixture {
  /** Initialised store. For S3, parts of 5 MiB and list pages of at most 10 keys, so both paths get exercised. */
  storage: ArtifactStorage;
  /** Everything physically in the store, including temp files and open multipart uploads. */
  leftovers(): Promise<string[]>;
  cleanup(): Promise<void>;
}

const MIB = 1024 * 1024;

/**
 * The behaviour every ArtifactStorage must have, as one suite that each implementation's test file
 * runs against its own fixture. Each test writes below a fresh key prefix, so tests do not depend
 * on each other; "leaves nothing behind" compares the whole store before and after.
 */
export function describeArtifactStorageContract(name: string, makeFixture: () => Promise<ArtifactStorageFixture>): void {
  describe(`${name} (ArtifactStorage contract)`, () => {
    let fixture: ArtifactStorageFixture;
    let storage: ArtifactStorage;
    before(async () => {
      fixture = await makeFixture();
      storage = fixture.storage;
    });
    after(() => fixture.cleanup());

    async function assertLeavesNothing(key: string, failingPut: () => Promise<unknown>, expected: (err: unknown) => boolean) {
      const before = await fixture.leftovers();
      await assert.rejects(failingPut, (err) => {
        assert.ok(expected(err), `unexpected error: ${String(err)}`);
        return true;
      });
      assert.deepEqual(await fixture.leftovers(), before);
      assert.equal(await storage.stat(key), null);
    }

    it('init can run again on a store that is already initialised', async () => {
      await storage.init();
      await storage.init();
      await storage.ping();
    });

    it('put stores a body that get returns byte for byte, with its size, sha256 and uri', async () => {
      const key = `${namespace()}/model.onnx`;
      const data = randomBytes(100_000);
      const result = await storage.put(key, bodyOf(data, 4096), { contentType: 'application/octet-stream' });
      assert.deepEqual(result, { key, uri: storage.uriFor(key), sizeBytes: data.length, sha256: sha256(data) });
      assert.ok(result.uri.startsWith(`${storage.kind}://`) && result.uri.endsWith(`/${key}`), result.uri);
      assert.deepEqual(await readAll(await storage.get(key)), data);
    });

    it('a 12 MiB body streamed from a generator round-trips byte for byte', async () => {
      const key = `${namespace()}/large.bin`;
      const data = randomBytes(12 * MIB);
      const result = await storage.put(key, Readable.from(slices(data, 256 * 1024)));
      assert.equal(result.sizeBytes, data.length);
      assert.equal(result.sha256, sha256(data));
      assert.deepEqual(await storage.stat(key), { sizeBytes: data.length });
      const read = await readAll(await storage.get(key));
      assert.equal(read.length, data.length);
      assert.equal(sha256(read), sha256(data));
    });

    it('an empty body is stored as an empty artifact', async () => {
      const key = `${namespace()}/empty`;
      const result = await storage.put(key, Readable.from([]));
      assert.equal(result.sizeBytes, 0);
      assert.equal(result.sha256, sha256(Buffer.alloc(0)));
      assert.deepEqual(await storage.stat(key), { sizeBytes: 0 });
      assert.equal((await readAll(await storage.get(key))).length, 0);
    });

    it('put replaces the artifact already stored under the key', async () => {
      const key = `${namespace()}/report.json`;
      await storage.put(key, bodyOf(Buffer.from('{"v":1}')));
      await storage.put(key, bodyOf(Buffer.from('{"v":2,"longer":true}')));
      assert.equal((await readAll(await storage.get(key))).toString(), '{"v":2,"longer":true}');
    });

    it('concurrent puts of the same content to one key both succeed and leave one whole artifact', async () => {
      const key = `${namespace()}/same.bin`;
      const data = randomBytes(200_000);
      const results = await Promise.all([storage.put(key, bodyOf(data, 8192)), storage.put(key, bodyOf(data, 8192))]);
      assert.deepEqual(results[0], results[1]);
      assert.deepEqual(await readAll(await storage.get(key)), data);
    });

    it('a body of exactly maxBytes is stored', async () => {
      const key = `${namespace()}/exact.bin`;
      const data = randomBytes(1000);
      const result = await storage.put(key, bodyOf(data, 100), { maxBytes: 1000 });
      assert.equal(result.sizeBytes, 1000);
    });

    it('a body over maxBytes is rejected with PayloadTooLargeError and leaves nothing behind', async () => {
      const key = `${namespace()}/too-large.bin`;
      const body = bodyOf(randomBytes(1001), 100);
      await assertLeavesNothing(
        key,
        () => storage.put(key, body, { maxBytes: 1000 }),
        (err) => err instanceof PayloadTooLargeError && err.status === 413,
      );
      assert.ok(body.destroyed, 'the body is destroyed');
    });

    it('a body over maxBytes that spans several parts is rejected and leaves nothing behind', async () => {
      const key = `${namespace()}/too-large-multipart.bin`;
      await assertLeavesNothing(
        key,
        () => storage.put(key, Readable.from(slices(randomBytes(8 * MIB), MIB)), { maxBytes: 7 * MIB }),
        (err) => err instanceof PayloadTooLargeError,
      );
    });

    it('a source stream that fails is rejected with its error and leaves nothing behind', async () => {
      const key = `${namespace()}/broken.bin`;
      await assertLeavesNothing(
        key,
        () => storage.put(key, Readable.from(failingAfter([randomBytes(10_000), randomBytes(10_000)]))),
        (err) => err instanceof Error && err.message === 'source failed',
      );
    });

    it('a source stream that fails after several parts is rejected and leaves nothing behind', async () => {
      const key = `${namespace()}/broken-multipart.bin`;
      await assertLeavesNothing(
        key,
        () => storage.put(key, Readable.from(failingAfter(slices(randomBytes(11 * MIB), MIB)))),
        (err) => err instanceof Error && err.message === 'source failed',
      );
    });

    it('a source stream that fails while a part is being stored leaves nothing behind', async () => {
      const key = `${namespace()}/broken-mid-part.bin`;
      await assertLeavesNothing(
        key,
        () => {
          const body = new PassThrough();
          body.write(randomBytes(6 * MIB));
          const put = storage.put(key, body);
          // Fails right after put has taken the 6 MiB, i.e. while it is writing them (on S3 while
          // the multipart upload is being created or the part sent): the store must wait for that
          // request before cleaning up, or it would miss what the request creates.
          setImmediate(() => body.destroy(new Error('source failed')));
          return put;
        },
        (err) => err instanceof Error && err.message === 'source failed',
      );
    });

    it('a body that does not match expectedSha256 is rejected and leaves nothing behind', async () => {
      const key = `${namespace()}/checked.bin`;
      const data = randomBytes(5000);
      await assertLeavesNothing(
        key,
        () => storage.put(key, bodyOf(data), { expectedSha256: sha256(Buffer.from('other')) }),
        (err) => err instanceof ArtifactChecksumMismatchError && err.code === 'checksum_mismatch',
      );
      const stored = await storage.put(key, bodyOf(data), { expectedSha256: sha256(data) });
      assert.equal(stored.sha256, sha256(data));
    });

    it('get of a missing key rejects with ArtifactNotFoundError', async () => {
      const key = `${namespace()}/missing.onnx`;
      await assert.rejects(
        storage.get(key),
        (err) => err instanceof ArtifactNotFoundError && err.status === 404 && err.code === 'artifact_not_found',
      );
      await assert.rejects(storage.get(key, { range: { start: 1, end: 2 } }), ArtifactNotFoundError);
    });

    it('stat returns the size of an artifact and null for a missing key', async () => {
      const key = `${namespace()}/sized.bin`;
      await storage.put(key, bodyOf(randomBytes(1234)));
      assert.deepEqual(await storage.stat(key), { sizeBytes: 1234 });
      assert.equal(await storage.stat(`${key}.missing`), null);
    });

    it('delete removes an artifact and succeeds again for the missing key', async () => {
      const key = `${namespace()}/deleted.bin`;
      await storage.put(key, bodyOf(Buffer.from('bye')));
      await storage.delete(key);
      assert.equal(await storage.stat(key), null);
      await assert.rejects(storage.get(key), ArtifactNotFoundError);
      await storage.delete(key);
      await storage.delete(`${namespace()}/never-written`);
    });

    it('move gives an artifact a new key, replacing what was there, and removes the old key', async () => {
      const p = randomUUID();
      const bytes = randomBytes(6 * MIB + 17);
      await storage.put(`${p}/staging/one`, Readable.from([bytes]));
      await storage.put(`${p}/final/sha256-x`, Readable.from([Buffer.from('older')]));
      await storage.move(`${p}/staging/one`, `${p}/final/sha256-x`);
      assert.equal(await storage.stat(`${p}/staging/one`), null);
      assert.deepEqual(await storage.stat(`${p}/final/sha256-x`), { sizeBytes: bytes.length });
      const chunks: Buffer[] = [];
      for await (const c of await storage.get(`${p}/final/sha256-x`)) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(bytes));
      await storage.move(`${p}/final/sha256-x`, `${p}/new-folder/deeper/k`);
      assert.deepEqual(await storage.stat(`${p}/new-folder/deeper/k`), { sizeBytes: bytes.length });
    });

    it('move of a missing key rejects with ArtifactNotFoundError and creates nothing', async () => {
      const p = randomUUID();
      await assert.rejects(storage.move(`${p}/missing`, `${p}/to`), ArtifactNotFoundError);
      assert.equal(await storage.stat(`${p}/to`), null);
      await assert.rejects(storage.move('../x', `${p}/to`), InvalidArtifactKeyError);
      await assert.rejects(storage.move(`${p}/missing`, '/abs'), InvalidArtifactKeyError);
    });

    it('list yields every key under a prefix in ascending order, across several pages', async () => {
      const ns = namespace();
      const keys = Array.from({ length: 34 }, (_, i) => `${ns}/k${String(i).padStart(3, '0')}`);
      const nested = [`${ns}/k010x/a/b`, `${ns}/m/inner`];
      for (const key of [...keys, ...nested].reverse()) await storage.put(key, bodyOf(Buffer.from(key)));
      await storage.put(`${ns}-sibling/x`, bodyOf(Buffer.from('not under the prefix')));
      assert.deepEqual(await collect(storage.list(`${ns}/`)), [...keys, ...nested].sort());
      assert.deepEqual(await collect(storage.list(`${ns}/k01`)), [...keys, ...nested].filter((k) => k.startsWith(`${ns}/k01`)).sort());
    });

    it('list matches prefixes as strings, not only at "/" boundaries, in byte order', async () => {
      const ns = namespace();
      const keys = [`${ns}/ab/1`, `${ns}/abc/2`, `${ns}/ab-c`, `${ns}/b/3`, `${ns}/a`];
      for (const key of keys) await storage.put(key, bodyOf(Buffer.from('x')));
      assert.deepEqual(await collect(storage.list(`${ns}/ab`)), [`${ns}/ab-c`, `${ns}/ab/1`, `${ns}/abc/2`]);
      assert.deepEqual(await collect(storage.list(`${ns}/`)), [...keys].sort());
      assert.deepEqual(await collect(storage.list(`${ns}/zz`)), []);
      assert.deepEqual(await collect(storage.list(`${namespace()}/`)), []);
      const all = await collect(storage.list(''));
      assert.ok(keys.every((key) => all.includes(key)));
    });

    it('get with a range returns exactly the requested bytes', async () => {
      const key = `${namespace()}/letters.txt`;
      await storage.put(key, bodyOf(Buffer.from('abcdefghij')));
      const read = async (start: number, end?: number) =>
        (await readAll(await storage.get(key, { range: end === undefined ? { start } : { start, end } }))).toString();
      assert.equal(await read(2, 4), 'cde');
      assert.equal(await read(0, 0), 'a');
      assert.equal(await read(9, 9), 'j');
      assert.equal(await read(7), 'hij');
      assert.equal(await read(0), 'abcdefghij');
      assert.equal(await read(8, 100), 'ij');
      const empty = `${namespace()}/empty`;
      await storage.put(empty, Readable.from([]));
      assert.equal((await readAll(await storage.get(empty, { range: { start: 0 } }))).length, 0);
    });

    it('get with a range that starts past the end rejects with ArtifactRangeNotSatisfiableError', async () => {
      const key = `${namespace()}/short.txt`;
      await storage.put(key, bodyOf(Buffer.from('abcdefghij')));
      const unsatisfiable = (err: unknown) => err instanceof ArtifactRangeNotSatisfiableError && err.status === 416;
      await assert.rejects(storage.get(key, { range: { start: 10 } }), unsatisfiable);
      await assert.rejects(storage.get(key, { range: { start: 10, end: 20 } }), unsatisfiable);
      const badRange = (err: unknown) => err instanceof BadRequestError && err.code === 'invalid_range';
      await assert.rejects(storage.get(key, { range: { start: -1 } }), badRange);
      await assert.rejects(storage.get(key, { range: { start: 5, end: 4 } }), badRange);
    });

    it('keys with traversal, absolute paths, empty segments or odd characters are rejected by every operation', async () => {
      const badKeys = ['', '/abs', 'a//b', 'a/', '../x', 'a/../b', './a', 'a/./b', '..', '.tmp/x', 'a b', 'a\\b', 'caf\u00e9', 'a?b', 'x'.repeat(901)];
      const invalid = (err: unknown) => err instanceof InvalidArtifactKeyError && err.status === 400 && err.code === 'invalid_artifact_key';
      for (const key of badKeys) {
        const body = bodyOf(Buffer.from('x'));
        await assert.rejects(storage.put(key, body), invalid, `put ${JSON.stringify(key)}`);
        assert.ok(body.destroyed, 'put destroys the body it refuses');
        await assert.rejects(storage.get(key), invalid, `get ${JSON.stringify(key)}`);
        await assert.rejects(storage.stat(key), invalid, `stat ${JSON.stringify(key)}`);
        await assert.rejects(storage.delete(key), invalid, `delete ${JSON.stringify(key)}`);
        assert.throws(() => storage.uriFor(key), invalid, `uriFor ${JSON.stringify(key)}`);
      }
      for (const prefix of ['/', '../', 'a//', '.tmp/', '/abs']) {
        await assert.rejects(collect(storage.list(prefix)), invalid, `list ${JSON.stringify(prefix)}`);
      }
    });

    it('every error the store throws is an AppError with a stable code', async () => {
      const errors = await Promise.allSettled([
        storage.get(`${namespace()}/missing`),
        storage.put('../escape', bodyOf(Buffer.from('x'))),
        storage.put(`${namespace()}/big`, bodyOf(Buffer.alloc(10)), { maxBytes: 5 }),
      ]);
      for (const outcome of errors) {
        assert.equal(outcome.status, 'rejected');
        assert.ok(outcome.reason instanceof AppError, String(outcome.reason));
      }
    });
  });
}

let counter = 0;
/** A fresh key prefix per test, so tests never see each other's keys. */
function namespace(): string {
  counter += 1;
  return `t${counter}-${randomUUID().slice(0, 8)}`;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function* slices(data: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

function bodyOf(data: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from(slices(data, chunkSize));
}

async function* failingAfter(chunks: Iterable<Buffer>): AsyncGenerator<Buffer> {
  yield* chunks;
  throw new Error('source failed');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const key of keys) all.push(key);
  return all;
}
