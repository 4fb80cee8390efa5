import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger, Pool } from '@contender/platform';
import { SharedRing, type RingRange } from '../offload/shared-ring.js';
import { Copier } from './copier.js';
import { PgPredictionPartitions } from './pg-prediction-partitions.js';
import { PgPredictionStore } from './pg-prediction-store.js';
import {
  entityNeedle,
  lineText,
  lineToRow,
  parseLogLine,
  toLogLine,
  type LogRow,
  type PendingPrediction,
  type PredictionRecord,
} from './prediction-record.js';
import { SpillFile, type RejectedEntry } from './spill-file.js';

export type { FeatureMap, PredictionRecord, PredictionVariant } from './prediction-record.js';

export interface PredictionLogDeps {
  /** For replays, partition maintenance and the rare row-by-row writes, on this thread. */
  pool: Pool;
  /** The same database, for the COPY thread's own connection. */
  databaseUrl: string;
  /**
   * Bytes of COPY lines the ring between this thread and the COPY thread holds. Default 16 MiB:
   * maxBufferedRecords rows of some 1.6 KB each; a record that finds it full is spilled at once.
   */
  ringBytes?: number;
  logger: Logger;
  metrics: Registry;
  /** A folder of this replica's own, on a volume that outlives the process (see SpillFile). */
  spillDir: string;
  /** Rows per COPY, and the backlog that triggers a flush before the timer. Default 500. */
  batchSize?: number;
  /** Default 200: how stale the table may be behind the responses. */
  flushIntervalMs?: number;
  /** Days of predictions kept (PREDICTION_RETENTION_DAYS). Default 30. */
  retentionDays?: number;
  /**
   * Records held in memory at most while writes are failing or stalled; beyond it they go to the
   * spill file at once. Default 20 × batchSize (10,000 records, a few MB).
   */
  maxBufferedRecords?: number;
  /** Day partitions created ahead of today, so a few missed maintenance runs cost nothing. Default 3. */
  partitionDaysAhead?: number;
  /**
   * Partition maintenance runs at start and then this often. Default one hour: the work is a no-op
   * on most runs, and a run that failed (Postgres down) is retried within the hour, not tomorrow.
   */
  maintenanceIntervalMs?: number;
  /** A write not answered in this time is abandoned and its batch spilled. Default 5,000. */
  writeTimeoutMs?: number;
  /** Backoff between attempts to reach Postgres again: from this, doubling, up to retryMaxMs. Default 250. */
  retryInitialMs?: number;
  /** Default 10,000. */
  retryMaxMs?: number;
  /** The clock of partition maintenance (records carry their own time). */
  now?: () => Date;
}

/** Records scanned by pendingForEntity between two yields to the event loop. */
const SCAN_CHUNK = 1_000;

type Settings = Required<Omit<PredictionLogDeps, 'pool' | 'databaseUrl' | 'ringBytes' | 'logger' | 'metrics' | 'spillDir' | 'now'>>;

const FLUSH_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The prediction log: every answered (and shadow-scored) prediction lands in serving.prediction
 * exactly once, without the request path ever waiting on Postgres.
 *
 * append() turns the record into its COPY line and writes that, as UTF-8, into a ring in shared
 * memory (SharedRing): the request thread keeps no object per prediction, which would otherwise
 * survive scavenges and make the tail of /predict (docs/benchmarks.md). A flush (every
 * flushIntervalMs, or as soon as batchSize records wait; never two at once) hands batches, as
 * ranges of the ring, to a worker thread that COPYs them on a connection of its own (Copier). A
 * batch holding a row that is already in the table (its earlier write committed but the answer was
 * lost), or one Postgres refuses, is written again from this thread through the idempotent path.
 * When a write fails, the batch and everything after it goes to the spill file (fsync'd) and a
 * background loop retries Postgres with backoff; once it answers, new batches go straight to it
 * again and the spill file is replayed, in order, through the idempotent path, then deleted. A
 * record's place in the ring is released only once it is committed or on disk, so the ring holds
 * exactly the records still unwritten: what findPending(), pendingForEntity() and
 * saveUnwrittenSync() read.
 *
 * The guarantee holds across Postgres outages and orderly shutdown (close()). A process that dies
 * otherwise — an uncaught exception, a shutdown past its deadline — saves what memory still holds
 * with saveUnwrittenSync() first (serving's main.ts wires it). Only a kill that runs no code
 * (SIGKILL, the OOM killer, a power cut) loses what was in memory: at most one flush interval of
 * predictions, or whatever a stalled write held (bounded by writeTimeoutMs and maxBufferedRecords).
 */
export class PredictionLog {
  private readonly logger: Logger;
  private readonly settings: Settings;
  private readonly now: () => Date;
  private readonly store: PgPredictionStore;
  private readonly partitions: PgPredictionPartitions;
  private readonly spill: SpillFile;

  private readonly ring: SharedRing;
  private readonly copier: Copier;
  /** Records in the ring not released yet: waiting, or in the batch being written. */
  private inRing = 0;
  /** Of those, the ones in the batch being written. */
  private inFlight = 0;
  /** COPY lines that found the ring full (or maxBufferedRecords in it): on their way to the spill file. */
  private overflow: string[] = [];
  /** Appended records that could not be turned into rows, on their way to the rejected file. */
  private malformed: RejectedEntry[] = [];

  private state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';
  private pgDown = false;
  private spillError: unknown = null;
  private spillRetryAt = 0;
  private overflowWarned = false;
  private maintenanceFailed = false;

  private flushing: Promise<void> | null = null;
  private overflowing: Promise<void> | null = null;
  private recovery: Promise<void> | null = null;
  private maintaining: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private flushTimer: NodeJS.Timeout | undefined;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private readonly stop = new AbortController();

  private readonly written: Counter;
  private readonly spilled: Counter;
  private readonly replayed: Counter;
  private readonly rejected: Counter;
  private readonly flushDuration: Histogram;

  constructor(deps: PredictionLogDeps) {
    this.logger = deps.logger;
    const batchSize = deps.batchSize ?? 500;
    this.settings = {
      batchSize,
      flushIntervalMs: deps.flushIntervalMs ?? 200,
      retentionDays: deps.retentionDays ?? 30,
      maxBufferedRecords: deps.maxBufferedRecords ?? 20 * batchSize,
      partitionDaysAhead: deps.partitionDaysAhead ?? 3,
      maintenanceIntervalMs: deps.maintenanceIntervalMs ?? 3_600_000,
      writeTimeoutMs: deps.writeTimeoutMs ?? 5_000,
      retryInitialMs: deps.retryInitialMs ?? 250,
      retryMaxMs: deps.retryMaxMs ?? 10_000,
    };
    this.now = deps.now ?? (() => new Date());
    this.store = new PgPredictionStore(deps.pool, { writeTimeoutMs: this.settings.writeTimeoutMs });
    this.partitions = new PgPredictionPartitions(deps.pool);
    this.spill = new SpillFile(deps.spillDir, deps.logger);
    this.ring = SharedRing.create(deps.ringBytes ?? 16 * 1024 * 1024);
    this.copier = new Copier(this.ring, { databaseUrl: deps.databaseUrl, writeTimeoutMs: this.settings.writeTimeoutMs });

    const registers = [deps.metrics];
    const pendingGauge: Gauge = new Gauge({
      name: 'serving_prediction_log_pending',
      help: 'Predictions held in memory, not yet committed to Postgres or written to the spill file',
      registers,
      collect: () => pendingGauge.set(this.pending()),
    });
    this.written = new Counter({
      name: 'serving_prediction_log_written_total',
      help: 'Predictions inserted into serving.prediction (directly or replayed from the spill file)',
      registers,
    });
    this.spilled = new Counter({
      name: 'serving_prediction_log_spilled_total',
      help: 'Predictions written to the local spill file because Postgres could not take them',
      registers,
    });
    this.replayed = new Counter({
      name: 'serving_prediction_log_replayed_total',
      help: 'Spilled predictions read back and committed to Postgres (rows already present included)',
      registers,
    });
    this.rejected = new Counter({
      name: 'serving_prediction_log_rejected_total',
      help: 'Predictions Postgres refused as data, set aside in the rejected file',
      registers,
    });
    this.flushDuration = new Histogram({
      name: 'serving_prediction_log_flush_duration_seconds',
      help: 'Time to insert one batch into serving.prediction',
      buckets: FLUSH_BUCKETS,
      registers,
    });
  }

  /**
   * Opens the spill folder, creates and expires partitions, starts the timers, and starts
   * replaying what an earlier run left on disk. The replay runs in the background: a large backlog
   * must not hold up the service's start (an orchestrator would restart it mid-replay, forever).
   * Rejects only if the spill folder cannot be used.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'starting';
    await this.spill.open();
    await this.maintain();
    if (this.state !== 'starting') return;
    if (this.spill.hasBacklog()) this.ensureRecovering();
    await this.copier.start();
    if (this.state !== 'starting') return;
    this.flushTimer = setInterval(() => {
      // A flush in progress is not queued behind: what it leaves is taken by the next tick or
      // by the next full batch.
      this.flushBuffered();
    }, this.settings.flushIntervalMs).unref();
    this.maintenanceTimer = setInterval(() => void this.maintain(), this.settings.maintenanceIntervalMs).unref();
    this.state = 'running';
  }

  /** Takes a record for writing. Synchronous, never throws, never waits for I/O. */
  append(r: PredictionRecord): void {
    try {
      if (!r || typeof r !== 'object') throw new TypeError(`not a prediction record: ${String(r)}`);
      let line: string;
      try {
        line = toLogLine(r);
      } catch (err) {
        const entry = { id: String(r.id), reason: errorMessage(err), record: r };
        if (this.state === 'closed') {
          this.logger.error({ predictionId: entry.id, reason: entry.reason }, 'prediction log: a prediction record cannot be stored');
        } else {
          this.malformed.push(entry);
        }
        return;
      }
      if (this.state === 'closed') {
        this.spillAfterClose([line]);
      } else if (this.inRing >= this.settings.maxBufferedRecords || !this.ring.push(line)) {
        this.overflow.push(line);
        this.spillOverflow();
      } else {
        this.inRing++;
        if (this.inRing - this.inFlight >= this.settings.batchSize) this.flushBuffered();
      }
    } catch (err) {
      this.logger.error({ err, predictionId: r?.id }, 'prediction log: append failed');
    }
  }

  /**
   * Writes everything buffered: to Postgres, else to the spill file. Rejects only when both fail
   * (the records then stay in memory and the next flush tries again).
   */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing.catch(() => undefined);
    if (this.overflow.length > 0) {
      this.spillOverflow();
      await this.overflowing;
    }
    if (this.waitingInRing() === 0 && this.malformed.length === 0) return;
    return this.startDrain(true);
  }

  /** Records in the ring not taken into a batch yet. */
  private waitingInRing(): number {
    return this.inRing - this.inFlight;
  }

  /**
   * The timer's and the full batch's flush: writes what is buffered now, and leaves what arrives
   * meanwhile to the next trigger. A flush that chased new arrivals until the buffer was empty
   * wrote, under steady load, one small COPY per round trip — about 70 transactions a second of
   * some 85 rows at 6,000 req/s, where full batches make 12 — and each transaction costs
   * serving and Postgres far more than its rows.
   */
  private flushBuffered(): void {
    if (this.flushing || (this.waitingInRing() === 0 && this.malformed.length === 0)) return;
    this.startDrain(false).then(
      // A full batch that filled up meanwhile goes at once (not after a failure: that would spin).
      () => {
        if (this.state === 'running' && this.waitingInRing() >= this.settings.batchSize) this.flushBuffered();
      },
      (err: unknown) => this.reportFlushError(err),
    );
  }

  /**
   * For SIGTERM: stops the timers and the retry loop, flushes. Every step runs even if another
   * failed. A spill backlog stays on disk for the next start. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  ready(): { ok: boolean; detail?: string } {
    if (this.state === 'new' || this.state === 'starting') return { ok: false, detail: 'prediction log not started' };
    if (this.state !== 'running') return { ok: false, detail: 'prediction log closed' };
    if (this.pgDown && this.spillError) {
      return { ok: false, detail: `cannot write predictions to Postgres nor to ${this.spill.spillPath}; ${this.pending()} held in memory` };
    }
    if (this.pgDown) return { ok: true, detail: `Postgres unreachable; predictions are spilled to ${this.spill.spillPath}` };
    if (this.spill.hasBacklog()) return { ok: true, detail: 'replaying spilled predictions into Postgres' };
    return { ok: true };
  }

  /** Records in memory, not yet committed or spilled. */
  pending(): number {
    return this.inRing + this.overflow.length;
  }

  /** A prediction appended here and not yet committed or spilled (so not findable in the table). */
  findPending(predictionId: string): { at: Date; classifier: boolean } | null {
    const want = `${predictionId.toLowerCase()}\t`;
    const place = this.ring.findUnreleased(Buffer.from(want), { lowerCase: true });
    const line = place ? this.ring.text(place) : this.overflow.find((l) => l.slice(0, want.length).toLowerCase() === want);
    if (line === undefined) return null;
    const row = lineToRow(line);
    return { at: row.at, classifier: row.classifier };
  }

  /**
   * An entity's predictions appended here and not yet committed or spilled (of `model` only, when
   * given), in no particular order: what GET /predictions adds to the table's rows. Scans the
   * lines in the ring, matching the entity's bytes before parsing a line, and yields to the event
   * loop every SCAN_CHUNK records, so a full ring (10,000 records by default) does not hold up the
   * predictions arriving meanwhile. A record committed during the scan is in the table.
   */
  async pendingForEntity(entityId: string, model?: string): Promise<PendingPrediction[]> {
    const needle = entityNeedle(entityId);
    const lines: string[] = [];
    const match = (offset: number, length: number) => {
      const bytes = this.ring.view(offset, length);
      if (bytes.indexOf(needle) >= 0) lines.push(bytes.toString('utf8'));
    };
    for (let at = this.ring.scanUnreleased(null, SCAN_CHUNK, match); at !== null; at = this.ring.scanUnreleased(at, SCAN_CHUNK, match)) {
      await new Promise(setImmediate);
    }
    for (const line of this.overflow) if (Buffer.from(line).indexOf(needle) >= 0) lines.push(line);
    const found: PendingPrediction[] = [];
    for (const line of lines) {
      const p = parseLogLine(lineToRow(line));
      if (p && p.entityId === entityId && (model === undefined || p.model === model)) found.push(p);
    }
    return found;
  }

  /**
   * Last words of a process about to exit without close() (an uncaught exception, a shutdown past
   * its deadline): writes every record still in memory — in the ring, whether waiting or in a
   * write that may never finish, or on its way to the spill file — to the spill file,
   * synchronously and fsync'd, and returns how many. The next start replays them through the
   * idempotent path, so a record that a write in progress commits as well is stored once. Never
   * throws: a failure is logged, and the records are then lost with the process.
   */
  saveUnwrittenSync(): number {
    const rows = this.unwrittenLines().map(lineToRow);
    if (rows.length === 0) return 0;
    try {
      this.spill.appendSync(rows);
    } catch (err) {
      this.logger.fatal(
        { err, count: rows.length, file: this.spill.spillPath, predictionIds: rows.map((r) => r.id) },
        'prediction log: could not save the predictions held in memory; they are lost',
      );
      return 0;
    }
    this.logger.fatal(
      { count: rows.length, file: this.spill.spillPath },
      'prediction log: saved the predictions held in memory to the spill file; the next start writes them to Postgres',
    );
    return rows.length;
  }

  /** Every record not yet committed or spilled, as its COPY line. */
  private unwrittenLines(): string[] {
    const lines: string[] = [];
    this.ring.forEachUnreleased((offset, length) => void lines.push(this.ring.text({ offset, length })));
    return lines.concat(this.overflow);
  }

  /** True while spilled predictions wait on disk: a prediction missing from the table may be there. */
  hasSpillBacklog(): boolean {
    return this.spill.hasBacklog();
  }

  /** Starts a drain as the one flush in progress. */
  private startDrain(all: boolean): Promise<void> {
    const run = this.drain(all).finally(() => {
      this.flushing = null;
    });
    this.flushing = run;
    return run;
  }

  /** Writes the ring's records in batches: all of them, new arrivals included (`all`), or those waiting now. */
  private async drain(all: boolean): Promise<void> {
    if (this.malformed.length > 0) {
      const entries = this.malformed.splice(0, this.malformed.length);
      try {
        await this.reject(entries);
      } catch (err) {
        this.malformed.unshift(...entries);
        this.noteSpillFailure(err);
        throw err;
      }
    }
    let left = all ? Infinity : this.waitingInRing();
    while (left > 0) {
      const range = this.ring.takeRange(Math.min(this.settings.batchSize, left));
      if (!range) break;
      left -= range.count;
      this.inFlight += range.count;
      try {
        await this.persist(range);
      } finally {
        this.inFlight -= range.count;
      }
    }
  }

  /** One batch to Postgres, else to the spill file; on double failure, back into the ring as not taken. */
  private async persist(range: RingRange): Promise<void> {
    if (!this.pgDown) {
      try {
        await this.copy(range);
        this.release(range);
        this.overflowWarned = false;
        return;
      } catch (err) {
        this.markDown(err);
      }
    }
    try {
      await this.spill.append(this.rowsOf(range));
    } catch (err) {
      this.ring.rewind(range);
      this.noteSpillFailure(err);
      throw err;
    }
    this.release(range);
    this.spilledOk(range.count);
  }

  /**
   * COPYs a batch from the COPY thread. A batch with a row already in the table, or one Postgres
   * refuses as data, goes through write()'s idempotent path from this thread instead.
   */
  private async copy(range: RingRange): Promise<number> {
    const end = this.flushDuration.startTimer();
    let n: number;
    try {
      n = await this.copier.copy(range);
    } catch (err) {
      if (!isUniqueViolation(err) && !isDataError(err)) throw err;
      return this.write(this.rowsOf(range));
    }
    end();
    this.written.inc(n);
    return n;
  }

  /** The rows of a batch, made from its lines (for the paths that need them: rare). */
  private rowsOf(range: RingRange): LogRow[] {
    const text = this.ring.readRange(range).toString('utf8');
    return text.split('\n').slice(0, -1).map(lineToRow);
  }

  private release(range: RingRange): void {
    this.ring.release(range);
    this.inRing -= range.count;
  }

  /**
   * Writes a batch through the idempotent path (a replay, or a batch whose COPY found a row already
   * in the table or refused one); returns the rows that were new. A row Postgres refuses as data
   * (not an outage: retrying would fail forever and hold up everything behind it) is set aside in
   * the rejected file and the rest are written. Rejects on any other failure.
   */
  private async write(batch: LogRow[]): Promise<number> {
    if (batch.length === 0) return 0;
    const end = this.flushDuration.startTimer();
    try {
      const n = await this.store.insertIdempotent(batch);
      end();
      this.written.inc(n);
      return n;
    } catch (err) {
      if (!isDataError(err)) throw err;
    }
    // Some row in the batch is refused: one at a time, to find it and keep the others.
    let n = 0;
    for (const row of batch) {
      try {
        const one = await this.store.insertIdempotent([row]);
        this.written.inc(one);
        n += one;
      } catch (err) {
        if (!isDataError(err)) throw err;
        await this.reject([{ id: row.id, reason: errorMessage(err), row: lineText(row) }]);
      }
    }
    return n;
  }

  private async reject(entries: RejectedEntry[]): Promise<void> {
    await this.spill.reject(entries);
    this.rejected.inc(entries.length);
    for (const { id, reason } of entries) {
      this.logger.error(
        { predictionId: id, reason, file: this.spill.rejectedPath },
        'prediction log: a prediction record cannot be stored; it is kept in the rejected file',
      );
    }
  }

  private spilledOk(count: number): void {
    this.spilled.inc(count);
    if (this.spillError) {
      this.spillError = null;
      this.logger.info({ file: this.spill.spillPath }, 'prediction log: the spill file is writable again');
    }
    this.ensureRecovering();
  }

  private noteSpillFailure(err: unknown): void {
    if (!this.spillError) {
      this.logger.error(
        { err, file: this.spill.spillPath, held: this.pending() },
        'prediction log: cannot write the spill file; predictions are held in memory',
      );
    }
    this.spillError = err;
    this.spillRetryAt = Date.now() + 1_000;
  }

  private reportFlushError(err: unknown): void {
    // A spill failure was logged where it happened; anything else is a bug worth seeing.
    if (err !== this.spillError) this.logger.error({ err }, 'prediction log: flush failed');
  }

  /**
   * The ring is full, or holds maxBufferedRecords: writes are failing or stalled (a hung connection
   * holds the one flush). What arrives now goes to disk rather than waiting in memory.
   */
  private spillOverflow(): void {
    if (this.overflowing || Date.now() < this.spillRetryAt) return;
    if (!this.overflowWarned) {
      this.overflowWarned = true;
      this.logger.warn(
        { held: this.inRing, limit: this.settings.maxBufferedRecords },
        'prediction log: buffer full while writes are stalled; spilling to disk',
      );
    }
    this.overflowing = (async () => {
      while (this.overflow.length > 0) {
        const lines = this.overflow.slice();
        try {
          await this.spill.append(lines.map(lineToRow));
        } catch (err) {
          this.noteSpillFailure(err);
          return;
        }
        this.overflow.splice(0, lines.length);
        this.spilledOk(lines.length);
      }
    })().finally(() => {
      this.overflowing = null;
    });
  }

  /** After close(): no timer will run again, so write to the spill file before returning. */
  private spillAfterClose(lines: string[]): void {
    const rows = lines.map(lineToRow);
    try {
      this.spill.appendSync(rows);
      this.spilled.inc(rows.length);
      this.logger.warn({ count: rows.length }, 'prediction log: predictions arrived after close; spilled, written at the next start');
    } catch (err) {
      this.logger.error({ err, predictionIds: rows.map((r) => r.id) }, 'prediction log: predictions arrived after close and could not be saved');
    }
  }

  private markDown(err: unknown): void {
    if (!this.pgDown) {
      this.pgDown = true;
      this.logger.warn({ err, file: this.spill.spillPath }, 'prediction log: cannot write to Postgres; spilling to disk until it answers');
    }
    this.ensureRecovering();
  }

  /** Keeps one background loop running while Postgres is down or a spill backlog waits. */
  private ensureRecovering(): void {
    if (this.recovery || this.stop.signal.aborted) return;
    this.recovery = this.recoveryLoop().finally(() => {
      this.recovery = null;
      // A batch spilled after the loop's last look at the files: go round again.
      if (this.pgDown || this.spill.hasBacklog()) this.ensureRecovering();
    });
  }

  private async recoveryLoop(): Promise<void> {
    let delay = this.settings.retryInitialMs;
    while (!this.stop.signal.aborted) {
      if (await this.tryRecover()) return;
      const jittered = delay / 2 + Math.random() * (delay / 2);
      try {
        await sleep(jittered, undefined, { signal: this.stop.signal, ref: false });
      } catch {
        return;
      }
      delay = Math.min(delay * 2, this.settings.retryMaxMs);
    }
  }

  /** One attempt: reach Postgres, then replay the backlog. True once nothing is left to do. */
  private async tryRecover(): Promise<boolean> {
    try {
      await this.store.ping();
    } catch (err) {
      this.markDown(err);
      this.logger.debug({ err }, 'prediction log: Postgres still unreachable');
      return false;
    }
    if (this.pgDown) {
      this.pgDown = false;
      this.logger.info('prediction log: Postgres answers again; writing to it directly');
      if (this.maintenanceFailed) void this.maintain();
    }
    try {
      return await this.replayBacklog();
    } catch (err) {
      this.logger.warn({ err }, 'prediction log: replaying the spill file failed; will retry');
      return false;
    }
  }

  /** True once nothing waits on disk; false if stopped by close() midway (the file stays). */
  private async replayBacklog(): Promise<boolean> {
    for (;;) {
      const file = await this.spill.claimForReplay();
      if (!file) return true;
      let records = 0;
      let inserted = 0;
      for await (const batch of this.spill.readBatches(file, this.settings.batchSize)) {
        if (this.stop.signal.aborted) return false;
        inserted += await this.write(batch);
        records += batch.length;
        this.replayed.inc(batch.length);
      }
      await this.spill.finishReplay();
      this.logger.info(
        { records, inserted, skipped: records - inserted },
        'prediction log: spilled predictions replayed into Postgres',
      );
    }
  }

  private maintain(): Promise<void> {
    this.maintaining ??= (async () => {
      try {
        const r = await this.partitions.maintain({
          now: this.now(),
          retentionDays: this.settings.retentionDays,
          daysAhead: this.settings.partitionDaysAhead,
        });
        this.maintenanceFailed = false;
        if (r.created.length || r.dropped.length || r.moved || r.expiredDefaultRows || r.expiredFeedback) {
          this.logger.info(r, 'prediction log: partitions maintained');
        }
      } catch (err) {
        this.maintenanceFailed = true;
        this.logger.warn({ err }, 'prediction log: partition maintenance failed; the DEFAULT partition takes rows meanwhile');
      }
    })().finally(() => {
      this.maintaining = null;
    });
    return this.maintaining;
  }

  private async shutdown(): Promise<void> {
    this.state = 'closing';
    clearInterval(this.flushTimer);
    clearInterval(this.maintenanceTimer);
    this.stop.abort();
    const steps: [string, () => Promise<unknown> | null][] = [
      ['retry loop', () => this.recovery],
      ['partition maintenance', () => this.maintaining],
      ['overflow spill', () => this.overflowing],
      ['flush', () => this.flush()],
      ['COPY thread', () => this.copier.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        this.logger.error({ err, step: name }, 'prediction log: close step failed');
      }
    }
    this.state = 'closed';
    if (this.pending() > 0) {
      // The last flush could write them nowhere: the spill file gets one more, synchronous, try.
      const lines = this.unwrittenLines();
      this.overflow = [];
      const rest = this.ring.takeRange();
      if (rest) this.release(rest);
      this.spillAfterClose(lines);
    }
    if (this.malformed.length > 0) {
      for (const { id, reason } of this.malformed.splice(0)) {
        this.logger.error({ predictionId: id, reason }, 'prediction log: a prediction record cannot be stored, and the log is closed');
      }
    }
  }
}

/**
 * Postgres refused the data itself (SQLSTATE class 22 data exception, 23 integrity violation):
 * the same rows would fail again. Everything else (connection, timeout, missing table) may heal.
 */
function isDataError(err: unknown): boolean {
  const code = sqlState(err);
  return code !== undefined && (code.startsWith('22') || code.startsWith('23'));
}

/** A row with this primary key is already in the table. */
function isUniqueViolation(err: unknown): boolean {
  return sqlState(err) === '23505';
}

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
