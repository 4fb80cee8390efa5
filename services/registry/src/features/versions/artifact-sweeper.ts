import { withTransaction, type ArtifactStorage, type Logger, type Pool, type PoolClient } from '@contender/platform';
import type { Counter } from 'prom-client';
import { DATASET_STAGING_KEY } from '../datasets/dataset-uploader.js';
import type { PgDatasetStore } from '../datasets/pg-dataset-store.js';
import type { PgModelStore } from '../models/pg-model-store.js';
import { lockArtifact } from './version-uploader.js';

export interface ArtifactSweeperDeps {
  pool: Pool;
  storage: ArtifactStorage;
  store: PgModelStore;
  /**
   * When given, dataset objects (datasets/<name>/sha256-<hex>.csv) are swept the same way, and
   * staged uploads (datasets/<name>/upload-<ms>-<uuid>.csv) older than `stagingMaxAgeMs`.
   */
  datasets?: PgDatasetStore;
  /** Default 24 h: a staged upload becomes visible only when it has arrived whole, and is moved or removed at once. */
  stagingMaxAgeMs?: number;
  logger: Logger;
  removed: Counter;
}

/** The keys the uploader writes (see artifactKey): the only ones a sweep may delete. */
const VERSION_ARTIFACT = /^models\/[^/]+\/sha256-([0-9a-f]{64})\.onnx$/;
/** The keys the dataset uploader writes (see datasetObjectKey). */
const DATASET_OBJECT = /^datasets\/[^/]+\/sha256-([0-9a-f]{64})\.csv$/;

/**
 * Removes version artifacts no version refers to. An upload stores its object before the
 * transaction that records the version; a process killed in between (or a failed cleanup) leaves
 * the object behind, and nothing else would ever delete it.
 *
 * Safe against uploads in progress: each key is checked and deleted under the same advisory lock
 * the uploader's transaction takes before it commits, and that transaction puts the object back
 * if it is gone by then. So a sweep either waits for the commit (and then sees the reference) or
 * deletes an object that the upload restores before its version exists.
 */
export class ArtifactSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | null = null;

  constructor(private readonly deps: ArtifactSweeperDeps) {}

  /** One pass over the store: how many version artifacts (and dataset objects) it looked at and how many it removed. */
  async sweep(): Promise<{ checked: number; removed: string[] }> {
    const removed: string[] = [];
    let checked = 0;
    const kinds = [
      // By key, not only by sha256: the same bytes registered under another model live under
      // that model's key, and do not keep this object.
      { prefix: 'models/', pattern: VERSION_ARTIFACT, what: 'model version', refs: (tx: PoolClient, sha: string, key: string) => this.deps.store.countVersionsWithArtifact(tx, sha, key) },
      ...(this.deps.datasets
        ? [{ prefix: 'datasets/', pattern: DATASET_OBJECT, what: 'dataset version', refs: (tx: PoolClient, sha: string, key: string) => this.deps.datasets!.countVersionsWithObject(tx, sha, key) }]
        : []),
    ];
    const staleBefore = Date.now() - (this.deps.stagingMaxAgeMs ?? 24 * 3600 * 1000);
    for (const kind of kinds) {
      for await (const key of this.deps.storage.list(kind.prefix)) {
        const started = kind.prefix === 'datasets/' ? DATASET_STAGING_KEY.exec(key)?.[1] : undefined;
        if (started !== undefined) {
          checked++;
          // Nothing refers to a staging key; one this old belongs to an upload that died.
          if (Number(started) < staleBefore) {
            await this.deps.storage.delete(key);
            removed.push(key);
            this.deps.removed.inc();
            this.deps.logger.warn({ key }, 'removed a staged dataset upload left by an interrupted request');
          }
          continue;
        }
        const sha256 = kind.pattern.exec(key)?.[1];
        if (!sha256) continue;
        checked++;
        const gone = await withTransaction(this.deps.pool, async (tx) => {
          await lockArtifact(tx, key);
          if ((await kind.refs(tx, sha256, key)) > 0) return false;
          await this.deps.storage.delete(key);
          return true;
        });
        if (gone) {
          removed.push(key);
          this.deps.removed.inc();
          this.deps.logger.warn({ key }, `removed an object no ${kind.what} refers to (left by an interrupted upload)`);
        }
      }
    }
    return { checked, removed };
  }

  /** Sweeps `firstDelayMs` after the call and then every `intervalMs`; failures are logged. */
  start(intervalMs: number, firstDelayMs = 60_000): void {
    if (intervalMs <= 0 || this.timer) return;
    const run = () => {
      if (this.running) return;
      this.running = this.sweep()
        .then((r) => {
          if (r.removed.length) this.deps.logger.info({ checked: r.checked, removed: r.removed.length }, 'artifact sweep done');
        })
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'artifact sweep failed; retried at the next interval'))
        .finally(() => {
          this.running = null;
        });
    };
    this.timer = setTimeout(() => {
      run();
      this.timer = setInterval(run, intervalMs).unref();
    }, firstDelayMs).unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
