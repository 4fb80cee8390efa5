import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';

import { createTestBucket, listBucketContents, s3TestConfig, type TestBucket } from '../testing/s3.js';
import { ArtifactStoreUnavailableError } from './artifact-errors.js';
import { describeArtifactStorageContract } from './artifact-storage.contract.js';
import { createMinioClient, S3ArtifactStorage } from './s3-artifact-storage.js';

describeArtifactStorageContract('S3ArtifactStorage', async () => {
  // Pages of 10 keys so that the listing test spans several pages.
  const { storage, bucket, cleanup } = await createTestBucket('artifact-contract', { listPageSize: 10 });
  return {
    storage,
    leftovers: async () => {
      const { objects, openUploads } = await listBucketContents(bucket);
      return [...objects, ...openUploads.map((key) => `open upload of ${key}`)];
    },
    cleanup,
  };
});

describe('S3ArtifactStorage', () => {
  let testBucket: TestBucket;
  before(async () => {
    testBucket = await createTestBucket('artifact-s3');
  });
  after(() => testBucket.cleanup());

  it('init and ping reject with ArtifactStoreUnavailableError naming the credentials when the secret key is wrong', async () => {
    const wrong = new S3ArtifactStorage({ ...s3TestConfig(), secretKey: 'not-the-secret', bucket: testBucket.bucket });
    const credentialsRejected = (err: unknown) =>
      err instanceof ArtifactStoreUnavailableError &&
      err.status === 503 &&
      err.code === 'artifact_store_unavailable' &&
      /S3_SECRET_KEY/.test(err.message);
    await assert.rejects(wrong.ping(), credentialsRejected);
    await assert.rejects(wrong.init(), credentialsRejected);
    await assert.rejects(wrong.put('a/b', Readable.from([Buffer.from('x')])), credentialsRejected);
  });

  it('ping rejects with ArtifactStoreUnavailableError when the endpoint is unreachable', async () => {
    // Port 1 (tcpmux) has no listener here, so the connection is refused at once.
    const down = new S3ArtifactStorage({ ...s3TestConfig(), endpoint: 'http://127.0.0.1:1', bucket: testBucket.bucket });
    await assert.rejects(down.ping(), (err) => err instanceof ArtifactStoreUnavailableError && /S3_ENDPOINT/.test(err.message));
  });

  it('ping and get reject with ArtifactStoreUnavailableError when the bucket does not exist', async () => {
    const missing = new S3ArtifactStorage({ ...s3TestConfig(), bucket: `${testBucket.bucket}-missing` });
    await assert.rejects(missing.ping(), (err) => err instanceof ArtifactStoreUnavailableError && /does not exist/.test(err.message));
    await assert.rejects(missing.get('a/b'), ArtifactStoreUnavailableError);
  });

  it('a store with a prefix keeps its objects below the prefix and lists keys without it', async () => {
    const prefixed = new S3ArtifactStorage({ ...s3TestConfig(), bucket: testBucket.bucket, prefix: 'tenant-a/artifacts' });
    await prefixed.init();
    const result = await prefixed.put('models/m1.onnx', Readable.from([Buffer.from('onnx')]));
    assert.equal(result.uri, `s3://${testBucket.bucket}/tenant-a/artifacts/models/m1.onnx`);
    assert.deepEqual((await listBucketContents(testBucket.bucket)).objects, ['tenant-a/artifacts/models/m1.onnx']);
    const keys: string[] = [];
    for await (const key of prefixed.list('models/')) keys.push(key);
    assert.deepEqual(keys, ['models/m1.onnx']);
    assert.deepEqual(await prefixed.stat('models/m1.onnx'), { sizeBytes: 4 });
  });

  it('stores the content type given to put', async () => {
    const { storage, bucket } = testBucket;
    await storage.put('typed/report.json', Readable.from([Buffer.from('{}')]), { contentType: 'application/json' });
    const info = await createMinioClient(s3TestConfig()).statObject(bucket, 'typed/report.json');
    assert.equal(info.metaData['content-type'], 'application/json');
  });
});
