import { randomBytes } from 'node:crypto';

import type { Client } from 'minio';

import {
  createMinioClient,
  S3ArtifactStorage,
  type S3ArtifactStorageOptions,
  type S3ConnectionOptions,
} from '../artifacts/s3-artifact-storage.js';

/** The S3 test server that `npm test` starts (infra/s3-test-server), overridable through S3_TEST_*. */
export function s3TestConfig(): Required<S3ConnectionOptions> {
  return {
    endpoint: process.env.S3_TEST_ENDPOINT ?? 'http://127.0.0.1:18080',
    accessKey: process.env.S3_TEST_ACCESS_KEY ?? 'test:tester',
    secretKey: process.env.S3_TEST_SECRET_KEY ?? 'testing',
    region: 'us-east-1',
  };
}

export interface TestBucket {
  /** Initialised store on the bucket; parts are 5 MiB (S3's minimum) so multipart uploads are cheap to test. */
  storage: S3ArtifactStorage;
  bucket: string;
  /** Removes every object, aborts every open multipart upload, then removes the bucket. */
  cleanup(): Promise<void>;
}

export interface BucketContents {
  objects: string[];
  /** Keys of multipart uploads started and neither completed nor aborted. */
  openUploads: string[];
}

/**
 * A bucket of its own for one test file, so files can run in parallel without seeing each other's
 * objects. `label` becomes part of the name.
 */
export async function createTestBucket(
  label: string,
  options: Partial<Pick<S3ArtifactStorageOptions, 'prefix' | 'partSizeBytes' | 'listPageSize'>> = {},
): Promise<TestBucket> {
  const slug = label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  // 8 hex digits keep names unique across parallel files and reruns; 63 is S3's length limit.
  const bucket = `t-${slug || 'bucket'}-${randomBytes(4).toString('hex')}`.slice(0, 63);
  const storage = new S3ArtifactStorage({
    ...s3TestConfig(),
    bucket,
    partSizeBytes: 5 * 1024 * 1024,
    ...options,
  });
  await storage.init();
  return { storage, bucket, cleanup: () => removeTestBucket(bucket) };
}

/** Everything a bucket holds, including what a failed upload might have left (test proof of "nothing left behind"). */
export async function listBucketContents(bucket: string, client: Client = createMinioClient(s3TestConfig())): Promise<BucketContents> {
  const objects: string[] = [];
  let token = '';
  do {
    const page = await client.listObjectsV2Query(bucket, '', token, '', 1000, '');
    for (const item of page.objects) if (item.name !== undefined) objects.push(item.name);
    token = page.isTruncated ? page.nextContinuationToken : '';
  } while (token !== '');
  const openUploads = (await listOpenUploads(client, bucket)).map((upload) => upload.key);
  return { objects, openUploads };
}

export async function removeTestBucket(bucket: string): Promise<void> {
  const client = createMinioClient(s3TestConfig());
  if (!(await client.bucketExists(bucket))) return;
  for (const upload of await listOpenUploads(client, bucket)) {
    await client.abortMultipartUpload(bucket, upload.key, upload.uploadId);
  }
  const { objects } = await listBucketContents(bucket, client);
  // Batches of 1,000: the most one DeleteObjects request may name.
  for (let i = 0; i < objects.length; i += 1000) {
    await client.removeObjects(bucket, objects.slice(i, i + 1000));
  }
  await client.removeBucket(bucket);
}

/**
 * ListMultipartUploads by hand: minio's own listing always sends `delimiter=`, which Swift's s3api
 * takes as a real (empty) delimiter and answers with no uploads at all. Test buckets hold fewer
 * than 1,000 open uploads, so one page is enough; a truncated answer fails loudly.
 */
async function listOpenUploads(client: Client, bucket: string): Promise<{ key: string; uploadId: string }[]> {
  const response = await client.makeRequestAsync({ method: 'GET', bucketName: bucket, query: 'uploads' });
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  const xml = Buffer.concat(chunks).toString('utf8');
  if (/<IsTruncated>true<\/IsTruncated>/.test(xml)) throw new Error(`bucket ${bucket} has more open uploads than one page`);
  return [...xml.matchAll(/<Upload>([\s\S]*?)<\/Upload>/g)].map(([, upload = '']) => ({
    key: decodeXml(/<Key>([\s\S]*?)<\/Key>/.exec(upload)?.[1] ?? ''),
    uploadId: decodeXml(/<UploadId>([\s\S]*?)<\/UploadId>/.exec(upload)?.[1] ?? ''),
  }));
}

function decodeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}
