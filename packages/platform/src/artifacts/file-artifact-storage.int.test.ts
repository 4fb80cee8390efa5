import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { describeArtifactStorageContract } from './artifact-storage.contract.js';
import {
  ArtifactKeyConflictError,
  ArtifactNotFoundError,
  ArtifactStoreUnavailableError,
} from './artifact-errors.js';
import { FileArtifactStorage } from './file-artifact-storage.js';

describeArtifactStorageContract('FileArtifactStorage', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'contender-artifacts-'));
  // A folder that does not exist yet: init() must create it.
  const storage = new FileArtifactStorage({ rootDir: join(dir, 'store') });
  await storage.init();
  return {
    storage,
    leftovers: () => filesBelow(storage.rootDir),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('FileArtifactStorage', () => {
  let dir: string;
  let storage: FileArtifactStorage;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'contender-artifacts-'));
    storage = new FileArtifactStorage({ rootDir: join(dir, 'store') });
    await storage.init();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('stores a key as the file of that relative path and gives its file URI', async () => {
    const result = await storage.put('models/m1/model.onnx', Readable.from([Buffer.from('onnx')]));
    assert.equal(result.uri, `file://${join(dir, 'store', 'models', 'm1', 'model.onnx')}`);
    assert.deepEqual(await filesBelow(storage.rootDir), ['models/m1/model.onnx']);
  });

  it('keeps its temp folder out of listings', async () => {
    await storage.put('listed/a', Readable.from([Buffer.from('a')]));
    const keys: string[] = [];
    for await (const key of storage.list('')) keys.push(key);
    assert.ok(keys.includes('listed/a'));
    assert.ok(keys.every((key) => !key.startsWith('.')), keys.join(', '));
  });

  it('treats a key that names a folder of other artifacts as missing, and refuses to store it', async () => {
    await storage.put('nested/folder/leaf', Readable.from([Buffer.from('leaf')]));
    await assert.rejects(storage.get('nested/folder'), ArtifactNotFoundError);
    assert.equal(await storage.stat('nested/folder'), null);
    await storage.delete('nested/folder');
    await assert.rejects(storage.put('nested/folder', Readable.from([Buffer.from('x')])), ArtifactKeyConflictError);
    await assert.rejects(storage.put('nested/folder/leaf/below', Readable.from([Buffer.from('x')])), ArtifactKeyConflictError);
    assert.deepEqual(
      (await filesBelow(storage.rootDir)).filter((path) => path.startsWith('nested/') || path.startsWith('.tmp/')),
      ['nested/folder/leaf'],
    );
  });

  it('ping rejects with ArtifactStoreUnavailableError when the folder is gone', async () => {
    const gone = new FileArtifactStorage({ rootDir: join(dir, 'never-created') });
    await assert.rejects(gone.ping(), (err) => err instanceof ArtifactStoreUnavailableError && err.status === 503);
    await assert.rejects(gone.put('a/b', Readable.from([Buffer.from('x')])), ArtifactStoreUnavailableError);
  });

  it('refuses a relative root folder', () => {
    assert.throws(() => new FileArtifactStorage({ rootDir: 'data/artifacts' }), /absolute path/);
  });
});

/** Every file below `root`, temp files included, as sorted relative paths. */
async function filesBelow(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}
