export * from './artifact-errors.js';
export {
  DEFAULT_ARTIFACT_CONTENT_TYPE,
  assertArtifactKey,
  assertArtifactPrefix,
  type ArtifactGetOptions,
  type ArtifactPutOptions,
  type ArtifactPutResult,
  type ArtifactStat,
  type ArtifactStorage,
  type ByteRange,
} from './artifact-storage.js';
export { createArtifactStorage, type ArtifactStorageConfig } from './create-artifact-storage.js';
export { FileArtifactStorage, type FileArtifactStorageOptions } from './file-artifact-storage.js';
export {
  DEFAULT_S3_REGION,
  S3ArtifactStorage,
  type S3ArtifactStorageOptions,
  type S3ConnectionOptions,
} from './s3-artifact-storage.js';
