import { fileURLToPath } from 'node:url';

import type { ArtifactStorage } from './artifact-storage.js';
import { FileArtifactStorage } from './file-artifact-storage.js';
import { isDnsCompliantBucketName, S3ArtifactStorage } from './s3-artifact-storage.js';

export interface ArtifactStorageConfig {
  /** The ARTIFACT_STORE setting: `file:///absolute/dir` or `s3://bucket[/prefix]`. */
  artifactStore: string;
  /** S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION; needed for s3:// only. */
  s3?: {
    endpoint?: string | undefined;
    accessKey?: string | undefined;
    secretKey?: string | undefined;
    region?: string | undefined;
  };
}

/**
 * The store named by ARTIFACT_STORE. Only parses and validates; call `init()` on the result before
 * use. Misconfiguration throws a plain Error naming the setting to fix, meant for startup logs.
 */
export function createArtifactStorage(config: ArtifactStorageConfig): ArtifactStorage {
  const { artifactStore } = config;
  let url: URL;
  try {
    url = new URL(artifactStore);
  } catch {
    throw new Error(`ARTIFACT_STORE "${artifactStore}" is not a URI: use file:///absolute/dir or s3://bucket[/prefix]`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new Error(`ARTIFACT_STORE "${artifactStore}" must not have a query or fragment`);
  }
  switch (url.protocol) {
    case 'file:':
      return new FileArtifactStorage({ rootDir: fileRootDir(url, artifactStore) });
    case 's3:':
      return s3Storage(url, config);
    default:
      throw new Error(
        `ARTIFACT_STORE "${artifactStore}" has unsupported scheme "${url.protocol}": use file:///absolute/dir or s3://bucket[/prefix]`,
      );
  }
}

function fileRootDir(url: URL, artifactStore: string): string {
  // file://data/x parses with host "data": almost always a relative path written with two slashes.
  if (url.host !== '') {
    throw new Error(
      `ARTIFACT_STORE "${artifactStore}" names host "${url.host}": a file URI needs an absolute path, file:///absolute/dir`,
    );
  }
  const rootDir = fileURLToPath(url);
  // "file:///" would store artifacts directly in the file system root.
  if (rootDir === '/') throw new Error(`ARTIFACT_STORE "${artifactStore}" must name a folder below /`);
  return rootDir;
}

function s3Storage(url: URL, config: ArtifactStorageConfig): S3ArtifactStorage {
  const { artifactStore } = config;
  if (url.username !== '' || url.password !== '') {
    throw new Error(`ARTIFACT_STORE "${artifactStore}" must not carry credentials: set S3_ACCESS_KEY and S3_SECRET_KEY`);
  }
  if (url.port !== '') {
    throw new Error(`ARTIFACT_STORE "${artifactStore}" must not have a port: the server is S3_ENDPOINT`);
  }
  // For s3: (not a "special" scheme) URL keeps the host as written, so case is checked here too.
  const bucket = url.hostname;
  if (!isDnsCompliantBucketName(bucket)) {
    throw new Error(
      `ARTIFACT_STORE "${artifactStore}": bucket "${bucket}" is not DNS-compliant (3-63 lowercase letters, digits, "-" and ".")`,
    );
  }
  // From the string as written: URL would already have resolved "/../" and "/./" away.
  const prefix = artifactStore.replace(/^s3:\/\/[^/]*/i, '').replace(/^\/+|\/+$/g, '');
  const { endpoint, accessKey, secretKey, region } = config.s3 ?? {};
  if (!endpoint || !accessKey || !secretKey) {
    const missing = Object.entries({ S3_ENDPOINT: endpoint, S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey })
      .filter(([, value]) => !value)
      .map(([name]) => name);
    throw new Error(`ARTIFACT_STORE "${artifactStore}" needs ${missing.join(', ')} to be set`);
  }
  try {
    return new S3ArtifactStorage({
      endpoint,
      accessKey,
      secretKey,
      region: region || undefined,
      bucket,
      prefix,
    });
  } catch (err) {
    throw new Error(`ARTIFACT_STORE "${artifactStore}" with S3_ENDPOINT "${endpoint}": ${(err as Error).message}`, {
      cause: err,
    });
  }
}
