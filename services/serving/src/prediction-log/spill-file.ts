import { createReadStream, closeSync, fdatasyncSync, fstatSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from '@contender/platform';
import { copyData, fromSpillLine, type LogRow } from './prediction-record.js';

/** What the rejected file keeps of a prediction that cannot be stored. */
export interface RejectedEntry {
  id: string;
  reason: string;
  /** The row as its COPY line, when Postgres refused it. */
  row?: string;
  /** The record as serving made it, when it could not even be turned into a row. */
  record?: unknown;
}

/**
 * The local, append-only overflow of the prediction log while Postgres cannot take it: one row per
 * line in Postgres' COPY text format (the columns of COPY_COLUMNS), fsync'd per batch. Three files
 * in one folder, which must belong to this replica alone (two processes appending and renaming the
 * same files would replay each other's halves):
 *
 *   prediction-log.spill            appended to while Postgres is down (or the buffer is full)
 *   prediction-log.replaying        the spill file, renamed before it is replayed; deleted only
 *                                   after every row in it is committed. A crash mid-replay leaves
 *                                   it behind and the next start replays it again; the primary
 *                                   key makes the second pass insert only what the first missed.
 *   prediction-log.rejected.jsonl   predictions Postgres refused as data (a bug upstream), as JSON
 *                                   lines with the reason, kept for a human instead of being
 *                                   retried forever
 *
 * Spill files of earlier versions (`.spill.jsonl`, `.replaying.jsonl`: a JSON record per line) are
 * replayed too, so an upgrade during an outage loses nothing.
 *
 * File operations run one at a time (appends, the rename, the delete), so a rename never lands
 * between an append's write and its fsync.
 */
export class SpillFile {
  readonly spillPath: string;
  readonly replayingPath: string;
  readonly rejectedPath: string;
  private readonly legacySpillPath: string;
  private readonly legacyReplayingPath: string;
  /** The file claimForReplay() handed out, which finishReplay() deletes. */
  private claimed: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private backlog = false;

  constructor(
    readonly dir: string,
    private readonly logger: Logger,
  ) {
    this.spillPath = path.join(dir, 'prediction-log.spill');
    this.replayingPath = path.join(dir, 'prediction-log.replaying');
    this.rejectedPath = path.join(dir, 'prediction-log.rejected.jsonl');
    this.legacySpillPath = path.join(dir, 'prediction-log.spill.jsonl');
    this.legacyReplayingPath = path.join(dir, 'prediction-log.replaying.jsonl');
  }

  /** Creates the folder, cuts a torn last line off a leftover spill file, notes leftovers. */
  open(): Promise<void> {
    return this.serial(async () => {
      await mkdir(this.dir, { recursive: true });
      await this.repairTail(this.spillPath);
      await this.repairTail(this.legacySpillPath);
      this.backlog = (await this.nextToReplay()) !== null;
    });
  }

  /** True while records wait on disk for Postgres (spilled and not yet replayed). */
  hasBacklog(): boolean {
    return this.backlog;
  }

  /** Appends the rows and fsyncs; resolves only once they are on disk. */
  append(rows: readonly LogRow[]): Promise<void> {
    return this.serial(async () => {
      await appendDurably(this.spillPath, copyData(rows));
      this.backlog = true;
    });
  }

  /**
   * The same, synchronously: for records that arrive after the log closed, and for the last words
   * of a process about to exit, when an async write would never run. Otherwise never call it while
   * an async operation is queued. (A dying process may do so: both kinds of append write whole
   * lines to the end of the file, and the replay skips a row written twice.)
   */
  appendSync(rows: readonly LogRow[]): void {
    const data = copyData(rows);
    const fd = openSync(this.spillPath, 'a');
    let created: boolean;
    try {
      created = fstatSync(fd).size === 0;
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (created) syncDirSync(this.dir);
    this.backlog = true;
  }

  /** Keeps predictions that cannot be stored, with the reason, for a human to look at. */
  reject(entries: readonly RejectedEntry[]): Promise<void> {
    const lines = entries.map((entry) => {
      try {
        return `${JSON.stringify(entry)}\n`;
      } catch {
        return `${JSON.stringify({ id: entry.id, reason: entry.reason, unserialisable: true })}\n`;
      }
    });
    return this.serial(() => appendDurably(this.rejectedPath, lines.join('')));
  }

  /**
   * The file to replay next: a leftover `.replaying` file first, else the spill file renamed to
   * `.replaying` (appends then start a new spill file). Null, and no backlog, when nothing waits.
   */
  claimForReplay(): Promise<string | null> {
    return this.serial(async () => {
      const next = await this.nextToReplay();
      if (next === null) {
        this.backlog = false;
        this.claimed = null;
        return null;
      }
      if (next === this.spillPath || next === this.legacySpillPath) {
        await rename(next, this.replayingPath);
        await syncDir(this.dir);
        this.claimed = this.replayingPath;
      } else {
        this.claimed = next;
      }
      return this.claimed;
    });
  }

  /** Deletes the replayed file: call only after every record in it is committed. */
  finishReplay(): Promise<void> {
    return this.serial(async () => {
      if (this.claimed === null) return;
      await unlink(this.claimed).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      this.claimed = null;
      await syncDir(this.dir);
    });
  }

  /** A replay left unfinished comes first; then the spill files with something in them. */
  private async nextToReplay(): Promise<string | null> {
    for (const file of [this.replayingPath, this.legacyReplayingPath]) if ((await sizeOf(file)) !== null) return file;
    for (const file of [this.legacySpillPath, this.spillPath]) if (((await sizeOf(file)) ?? 0) > 0) return file;
    return null;
  }

  /** Reads a spill file in order, `batchSize` rows at a time, skipping unreadable lines. */
  async *readBatches(file: string, batchSize: number): AsyncGenerator<LogRow[]> {
    const input = createReadStream(file, { encoding: 'utf8' });
    const lines = createInterface({ input, crlfDelay: Infinity });
    let batch: LogRow[] = [];
    let lineNo = 0;
    try {
      for await (const line of lines) {
        lineNo++;
        if (line.trim() === '') continue;
        const row = fromSpillLine(line);
        if (!row) {
          // Only a crash in the middle of writing a batch leaves such a line (the last one); that
          // batch was never acknowledged as written.
          this.logger.warn({ file, line: lineNo }, 'prediction log: skipping an unreadable line of the spill file');
          continue;
        }
        batch.push(row);
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      lines.close();
      input.destroy();
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * A crash while appending can leave a partial last line; appending after it would glue the next
   * record onto that fragment and make both unreadable. Truncates back to the last newline.
   */
  private async repairTail(file: string): Promise<void> {
    const size = await sizeOf(file);
    if (!size) return;
    const fh = await open(file, 'r+');
    try {
      const chunk = Buffer.alloc(64 * 1024);
      let end = size;
      let keep = 0;
      while (end > 0) {
        const start = Math.max(0, end - chunk.length);
        const { bytesRead } = await fh.read(chunk, 0, end - start, start);
        const nl = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
        if (nl >= 0) {
          keep = start + nl + 1;
          break;
        }
        end = start;
      }
      if (keep < size) {
        await fh.truncate(keep);
        await fh.datasync();
        this.logger.warn({ file, droppedBytes: size - keep }, 'prediction log: cut a torn last line off the spill file');
      }
    } finally {
      await fh.close();
    }
  }
}

async function sizeOf(file: string): Promise<number | null> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function appendDurably(file: string, data: string | Buffer): Promise<void> {
  const fh = await open(file, 'a');
  let created: boolean;
  try {
    created = (await fh.stat()).size === 0;
    await fh.appendFile(data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  // A new file's directory entry must be on disk too, or a power loss could lose the whole file.
  if (created) await syncDir(path.dirname(file));
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function syncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
