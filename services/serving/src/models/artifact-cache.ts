import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DeployedVersion } from '@contender/contracts';
import type { Logger } from '@contender/platform';
import type { RegistryClient } from '../registry/registry-client.js';

/** The bytes do not hash to the sha256 the registry recorded: never load them. */
export class ArtifactIntegrityError extends Error {
  override name = 'ArtifactIntegrityError';
}

/**
 * Artifact bytes by sha256: from a local directory when a previous run already downloaded them,
 * else from the registry. The hash is checked every time the bytes are used, not only on download,
 * so a corrupted cache file is detected and fetched again.
 */
export class ArtifactCache {
  constructor(private readonly deps: { dir: string; registry: RegistryClient; logger: Logger }) {}

  async get(version: Pick<DeployedVersion, 'sha256' | 'sizeBytes' | 'artifactPath'>): Promise<Buffer> {
    const file = path.join(this.deps.dir, `${version.sha256}.onnx`);
    const cached = await readFile(file).catch(() => null);
    if (cached) {
      if (sha256(cached) === version.sha256) return cached;
      this.deps.logger.warn({ file }, 'cached artifact does not match its sha256; downloading it again');
      await rm(file, { force: true });
    }
    const bytes = await this.deps.registry.downloadArtifact(version.artifactPath);
    const actual = sha256(bytes);
    if (actual !== version.sha256) {
      throw new ArtifactIntegrityError(
        `artifact ${version.artifactPath} has sha256 ${actual} (${bytes.length} bytes), the registry recorded ${version.sha256} (${version.sizeBytes} bytes)`,
      );
    }
    await this.store(file, bytes).catch((err: unknown) => {
      // Only a lost optimisation: the next start downloads again.
      this.deps.logger.warn({ err, file }, 'could not write the artifact cache');
    });
    return bytes;
  }

  private async store(file: string, bytes: Buffer): Promise<void> {
    await mkdir(this.deps.dir, { recursive: true });
    // Write then rename, so a reader (another worker) never sees half a file.
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, file);
    } finally {
      await rm(tmp, { force: true });
    }
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
