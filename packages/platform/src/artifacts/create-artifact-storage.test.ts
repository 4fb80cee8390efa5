import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createArtifactStorage } from './create-artifact-storage.js';
import { FileArtifactStorage } from './file-artifact-storage.js';
import { S3ArtifactStorage } from './s3-artifact-storage.js';

const s3 = { endpoint: 'http://127.0.0.1:9000', accessKey: 'access', secretKey: 'secret', region: 'us-east-1' };

describe('createArtifactStorage', () => {
  it('gives a file store rooted at the absolute folder of a file URI', () => {
    const storage = createArtifactStorage({ artifactStore: 'file:///var/lib/contender/artifacts/' });
    assert.ok(storage instanceof FileArtifactStorage);
    assert.equal(storage.rootDir, '/var/lib/contender/artifacts');
    assert.equal(storage.uriFor('models/m.onnx'), 'file:///var/lib/contender/artifacts/models/m.onnx');
  });

  it('rejects a file URI whose path is relative or the file system root', () => {
    assert.throws(() => createArtifactStorage({ artifactStore: 'file://data/artifacts' }), /absolute path/);
    assert.throws(() => createArtifactStorage({ artifactStore: 'file:///' }), /folder below/);
  });

  it('gives an S3 store on the bucket of an s3 URI, with its path as key prefix', () => {
    const plain = createArtifactStorage({ artifactStore: 's3://contender-artifacts', s3 });
    assert.ok(plain instanceof S3ArtifactStorage);
    assert.equal(plain.bucket, 'contender-artifacts');
    assert.equal(plain.uriFor('models/m.onnx'), 's3://contender-artifacts/models/m.onnx');
    const prefixed = createArtifactStorage({ artifactStore: 's3://contender-artifacts/staging/', s3 });
    assert.equal(prefixed.uriFor('models/m.onnx'), 's3://contender-artifacts/staging/models/m.onnx');
  });

  it('rejects an s3 URI without endpoint or credentials, naming the missing settings', () => {
    assert.throws(() => createArtifactStorage({ artifactStore: 's3://bucket' }), /S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY/);
    assert.throws(
      () => createArtifactStorage({ artifactStore: 's3://bucket', s3: { ...s3, secretKey: '' } }),
      /needs S3_SECRET_KEY to be set/,
    );
  });

  it('rejects bucket names that are not DNS-compliant, credentials in the URI and bad key prefixes', () => {
    assert.throws(() => createArtifactStorage({ artifactStore: 's3://My_Bucket', s3 }), /DNS-compliant/);
    assert.throws(() => createArtifactStorage({ artifactStore: 's3://ab', s3 }), /DNS-compliant/);
    assert.throws(() => createArtifactStorage({ artifactStore: 's3://key:secret@bucket', s3 }), /credentials/);
    assert.throws(() => createArtifactStorage({ artifactStore: 's3://bucket/../x', s3 }), /artifact key/);
  });

  it('rejects an S3 endpoint that is not an http(s) origin', () => {
    assert.throws(() => createArtifactStorage({ artifactStore: 's3://bucket', s3: { ...s3, endpoint: '127.0.0.1:9000' } }), /http/);
    assert.throws(() => createArtifactStorage({ artifactStore: 's3://bucket', s3: { ...s3, endpoint: 'http://host/path' } }), /without a path/);
  });

  it('rejects unknown schemes and values that are not URIs', () => {
    assert.throws(() => createArtifactStorage({ artifactStore: 'gs://bucket' }), /unsupported scheme "gs:"/);
    assert.throws(() => createArtifactStorage({ artifactStore: '/var/lib/artifacts' }), /not a URI/);
    assert.throws(() => createArtifactStorage({ artifactStore: '' }), /not a URI/);
  });
});
