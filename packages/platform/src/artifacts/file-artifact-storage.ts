import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';

import { ArtifactMeter, pipeThroughMeter } from './artifact-meter.js';
import {
  ArtifactKeyConflictError,
  ArtifactNotFoundError,
  ArtifactRangeNotSatisfiableError,
  ArtifactStoreUnavailableError,
} from './artifact-errors.js';
import {
  assertArtifactKey,
  assertPutArguments,
  assertArtifactPrefix,
  assertByteRange,
  isUnsatisfiableRange,
  type ArtifactGetOptions,
  type ArtifactPutOptions,
  type ArtifactPutResult,
  type ArtifactStat,
  type ArtifactStorage,
} from './artifact-storage.js';

/**
 * Holds bodies while they are written. Inside the root, so the final rename never crosses a file
 * system (rename is only atomic within one); its leading "." keeps it out of the key space. Files
 * left here by a crashed process are garbage and may be deleted whenever no put is running.
 */
const TMP_DIR = '.tmp';

export interface FileArtifactStorageOptions {
  /** Absolute folder; keys are paths below it. */
  rootDir: string;
}

/**
 * Artifacts as plain files under one folder, for local runs and tests. A put writes a temp file,
 * fsyncs it, renames it over the final path and fsyncs the folder, so after a crash the artifact is
 * either complete or absent. Folders created for keys are not removed when the last artifact in
 * them is deleted: pruning them would race with a concurrent put into the same folder.
 */
export class FileArtifactStorage implements ArtifactStorage {
  readonly kind = 'file' as const;
  readonly rootDir: string;
  readonly #tmpDir: string;

  constructor(options: FileArtifactStorageOptions) {
    if (!isAbsolute(options.rootDir)) {
      throw new Error(`artifact folder must be an absolute path, got "${options.rootDir}"`);
    }
    this.rootDir = resolve(options.rootDir);
    this.#tmpDir = join(this.rootDir, TMP_DIR);
  }

  async init(): Promise<void> {
    await mkdir(this.#tmpDir, { recursive: true });
  }

  async put(key: string, body: Readable, opts: ArtifactPutOptions = {}): Promise<ArtifactPutResult> {
    assertPutArguments(key, body, opts);
    const target = this.#pathFor(key);
    const tmp = join(this.#tmpDir, `${randomUUID()}.part`);
    const meter = new ArtifactMeter(opts.maxBytes);
    // Filled in by the sink; a holder because TypeScript does not see assignments in closures.
    const temp: { file?: FileHandle } = {};
    try {
      // No await before this call: the pipeline must listen to `body` at once, or an error the body
      // emits meanwhile would have no listener and crash the process.
      await pipeThroughMeter(body, meter, async (source) => {
        // "wx": a fresh name that nobody else can be writing to.
        const file = await open(tmp, 'wx', 0o644).catch((err: unknown) => {
          throw isMissing(err) ? this.#unavailable(err) : err;
        });
        temp.file = file;
        for await (const chunk of source) await writeAll(file, chunk);
      });
      const { sizeBytes, sha256 } = meter.verify(opts.expectedSha256);
      const file = temp.file;
      if (!file) throw new Error('the artifact body was consumed without a temp file');
      await file.sync();
      temp.file = undefined;
      await file.close();
      await this.#moveIntoPlace(tmp, target, key);
      return { key, uri: this.uriFor(key), sizeBytes, sha256 };
    } catch (err) {
      body.destroy();
      await temp.file?.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(key: string, opts: ArtifactGetOptions = {}): Promise<Readable> {
    assertArtifactKey(key);
    const { range } = opts;
    if (range) assertByteRange(range);
    let file: FileHandle;
    try {
      file = await open(this.#pathFor(key), 'r');
    } catch (err) {
      if (isMissing(err)) throw new ArtifactNotFoundError(key);
      throw err;
    }
    try {
      const info = await file.stat();
      // Opening a folder read-only succeeds on Linux; a key that is a folder holds no artifact.
      if (!info.isFile()) throw new ArtifactNotFoundError(key);
      if (range && isUnsatisfiableRange(range, info.size)) {
        throw new ArtifactRangeNotSatisfiableError(key, { sizeBytes: info.size });
      }
      // Reading through the descriptor opened above keeps serving the bytes it found even if the
      // artifact is replaced or deleted meanwhile. The stream closes it when it ends or is destroyed.
      return file.createReadStream(range ? { start: range.start, end: range.end ?? Infinity } : {});
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  async stat(key: string): Promise<ArtifactStat | null> {
    assertArtifactKey(key);
    try {
      const info = await stat(this.#pathFor(key));
      return info.isFile() ? { sizeBytes: info.size } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertArtifactKey(key);
    try {
      await unlink(this.#pathFor(key));
    } catch (err) {
      // EISDIR/EPERM: the key names a folder, which holds no artifact, so there is nothing to delete.
      if (isMissing(err) || hasCode(err, 'EISDIR') || hasCode(err, 'EPERM')) return;
      throw err;
    }
  }

  async move(from: string, to: string): Promise<void> {
    assertArtifactKey(from);
    assertArtifactKey(to);
    const source = this.#pathFor(from);
    const info = await stat(source).catch((err: unknown) => {
      if (isMissing(err)) throw new ArtifactNotFoundError(from);
      throw err;
    });
    if (!info.isFile()) throw new ArtifactNotFoundError(from);
    await this.#moveIntoPlace(source, this.#pathFor(to), to);
  }

  async *list(prefix: string): AsyncIterable<string> {
    assertArtifactPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    yield* this.#walk(slash < 0 ? '' : prefix.slice(0, slash), prefix);
  }

  uriFor(key: string): string {
    assertArtifactKey(key);
    return pathToFileURL(this.#pathFor(key)).href;
  }

  async ping(): Promise<void> {
    try {
      await access(this.#tmpDir, fsConstants.R_OK | fsConstants.W_OK);
    } catch (err) {
      throw this.#unavailable(err);
    }
  }

  #pathFor(key: string): string {
    // Safe only because assertArtifactKey has ruled out "..", absolute paths and empty segments.
    return join(this.rootDir, ...key.split('/'));
  }

  #unavailable(cause: unknown): ArtifactStoreUnavailableError {
    return new ArtifactStoreUnavailableError(
      `artifact folder ${this.rootDir} is missing or not writable (was init() called?)`,
      cause,
    );
  }

  async #moveIntoPlace(tmp: string, target: string, key: string): Promise<void> {
    const folder = dirname(target);
    try {
      await mkdir(folder, { recursive: true });
      await rename(tmp, target);
    } catch (err) {
      // ENOTDIR/EEXIST: a parent of the key is a file; EISDIR: the key itself is a folder.
      if (hasCode(err, 'ENOTDIR') || hasCode(err, 'EEXIST') || hasCode(err, 'EISDIR')) {
        throw new ArtifactKeyConflictError(key);
      }
      throw err;
    }
    // The rename is durable only once the folder entry itself is on disk.
    const dir = await open(folder, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /**
   * Depth-first walk of `dirKey` yielding keys that start with `prefix`. Entries are sorted so that
   * the walk yields keys in byte order, as S3 lists them: a folder sorts as its name plus "/" (so
   * "a-c" comes before "a/b", since "-" < "/"). Only one folder's names are held at a time.
   */
  async *#walk(dirKey: string, prefix: string): AsyncGenerator<string> {
    let entries;
    try {
      entries = await readdir(dirKey === '' ? this.rootDir : this.#pathFor(dirKey), { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    const items = entries
      .filter((entry) => !entry.name.startsWith('.') && (entry.isFile() || entry.isDirectory()))
      .map((entry) => {
        const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
        return { key, folder: entry.isDirectory(), sortKey: entry.isDirectory() ? `${key}/` : key };
      })
      .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const item of items) {
      if (item.folder) {
        if (item.sortKey.startsWith(prefix) || prefix.startsWith(item.sortKey)) yield* this.#walk(item.key, prefix);
      } else if (item.key.startsWith(prefix)) {
        yield item.key;
      }
    }
  }
}

async function writeAll(file: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await file.write(chunk, offset);
    offset += bytesWritten;
  }
}

function hasCode(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

/** ENOENT, or ENOTDIR when a parent of the path is a file: either way nothing is stored there. */
function isMissing(err: unknown): boolean {
  return hasCode(err, 'ENOENT') || hasCode(err, 'ENOTDIR');
}
