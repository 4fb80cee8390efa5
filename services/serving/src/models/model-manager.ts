import { challengerBucketCount, REGISTRY_EVENTS_CHANNEL, RegistryEventMessage, type DeployedVersion, type Deployment } from '@contender/contracts';
import type { Logger, ReadinessCheck, Redis } from '@contender/platform';
import type { ServingMetrics } from '../metrics/serving-metrics.js';
import type { RegistryClient } from '../registry/registry-client.js';
import { ArtifactIntegrityError } from './artifact-cache.js';
import type { ManagedVersion, ServedModel, VersionLoader } from './served-model.js';

export interface ModelManagerDeps {
  registry: RegistryClient;
  loader: VersionLoader;
  logger: Logger;
  metrics: ServingMetrics;
  /** Only these models; null = every model that has a champion. */
  servedModels: readonly string[] | null;
  reconcileIntervalMs: number;
  /** A subscriber connection for registry events; null = timer only. */
  subscriber: Redis | null;
}

export interface ModelReadiness {
  /** Gates readiness: every served model has a champion loaded. */
  models: ReadinessCheck;
  /** Informational: the registry answered the last reconciliation. */
  registry: ReadinessCheck;
  /** Informational: every version the registry deploys is loaded (none failed). */
  versions: ReadinessCheck;
}

// Events that cannot change what is deployed; anything else triggers a reconciliation.
const IRRELEVANT = new Set(['model.created', 'version.registered', 'api_key.created', 'api_key.revoked']);

/**
 * Keeps the served models in step with the registry. Learns of changes from registry events at
 * once and reconciles on a timer as well, so a missed message only delays a change. A new version
 * is downloaded, sha256-checked, loaded and warmed before the snapshot that routes to it replaces
 * the old one; a version no snapshot refers to any more is retired, and its session released once
 * its last in-flight run has finished. If the registry is unreachable, what is loaded stays served.
 */
export class ModelManager {
  private readonly served = new Map<string, ServedModel>();
  private readonly loaded = new Map<string, ManagedVersion>();
  private readonly loading = new Map<string, Promise<ManagedVersion | null>>();
  private readonly failures = new Map<string, string>();
  private desired: Deployment[] | null = null;
  private registryError: string | null = null;
  private lastSyncAt: Date | null = null;
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private subscriberReadyCount = 0;
  private readonly applyListeners = new Set<() => void>();

  constructor(private readonly deps: ModelManagerDeps) {}

  /** The model's current snapshot; hot path: one map lookup. */
  get(model: string): ServedModel | undefined {
    return this.served.get(model);
  }

  /** True once the registry's deployments have been read (and applied) at least once. */
  hasSynced(): boolean {
    return this.desired !== null;
  }

  list(): ServedModel[] {
    return [...this.served.values()];
  }

  /** Subscribes to registry events, runs the first reconciliation, starts the timer. */
  async start(): Promise<void> {
    const sub = this.deps.subscriber;
    if (sub) {
      sub.on('message', this.onMessage);
      // ioredis re-subscribes by itself after a reconnect; messages published while it was away
      // are lost, so every reconnect after the first also triggers a reconciliation.
      // The connection opens when the container is built, so it is often ready before start():
      // that first ready has then already happened and the next one is a reconnect.
      if (sub.status === 'ready') this.subscriberReadyCount = 1;
      sub.on('ready', this.onSubscriberReady);
      sub.subscribe(REGISTRY_EVENTS_CHANNEL).catch((err: unknown) => {
        this.deps.logger.warn({ err }, 'subscribing to registry events failed; relying on the reconcile timer');
      });
    }
    this.timer = setInterval(() => {
      this.reconcile().catch(() => {});
    }, this.deps.reconcileIntervalMs);
    this.timer.unref();
    await this.reconcile();
  }

  /**
   * Brings the served models in line with the registry. Calls while one runs are coalesced into
   * one more run after it (the running one may have read the registry before the change).
   */
  reconcile(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!this.inFlight) {
      this.inFlight = this.runOnce().finally(() => {
        this.inFlight = null;
      });
      return this.inFlight;
    }
    this.queued ??= this.inFlight.then(() => {
      this.queued = null;
      return this.reconcile();
    });
    return this.queued;
  }

  /** Calls `fn` after every reconciliation; returns an unsubscribe function. */
  onApplied(fn: () => void): () => void {
    this.applyListeners.add(fn);
    return () => this.applyListeners.delete(fn);
  }

  readiness(): ModelReadiness {
    const lastSeen = this.lastSyncAt ? `serving the deployments last seen at ${this.lastSyncAt.toISOString()}` : 'no deployments seen yet';
    const registry: ReadinessCheck = this.registryError
      ? { ok: false, detail: `${this.registryError}; ${lastSeen}` }
      : { ok: this.lastSyncAt !== null, detail: this.lastSyncAt ? `last reconciled ${this.lastSyncAt.toISOString()}` : 'not reconciled yet' };
    if (!this.desired) {
      return { models: { ok: false, detail: 'waiting for the first deployment list from the registry' }, registry, versions: { ok: false, detail: 'not reconciled yet' } };
    }
    const missing: string[] = [];
    for (const d of this.desired) {
      if (!this.served.has(d.model)) {
        const why = this.failures.get(versionKey(d.model, d.champion!));
        missing.push(`${d.model}: champion v${d.champion!.version} not loaded${why ? ` (${why})` : ''}`);
      }
    }
    for (const name of this.deps.servedModels ?? []) {
      if (!this.desired.some((d) => d.model === name)) missing.push(`${name}: listed in SERVED_MODELS but has no champion in the registry`);
    }
    const models: ReadinessCheck = missing.length
      ? { ok: false, detail: missing.join('; ') }
      : { ok: true, detail: `${this.served.size} model(s) loaded` };
    const versions: ReadinessCheck = this.failures.size
      ? { ok: false, detail: [...this.failures.values()].join('; ') }
      : { ok: true };
    return { models, registry, versions };
  }

  /** Stops reacting to events and the timer; what is loaded keeps serving. Idempotent. */
  async stopFollowing(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const sub = this.deps.subscriber;
    if (sub) {
      sub.off('message', this.onMessage);
      sub.off('ready', this.onSubscriberReady);
    }
    await this.inFlight?.catch(() => {});
  }

  /** Stops following and releases every session (after its runs in flight). Idempotent. */
  async close(): Promise<void> {
    await this.stopFollowing();
    this.served.clear();
    const versions = [...this.loaded.values()];
    this.loaded.clear();
    for (const v of versions) v.retire();
    await Promise.all(versions.map((v) => v.released));
  }

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== REGISTRY_EVENTS_CHANNEL) return;
    let event: RegistryEventMessage;
    try {
      event = RegistryEventMessage.parse(JSON.parse(message));
    } catch (err) {
      this.deps.logger.warn({ err, message: message.slice(0, 200) }, 'ignoring a malformed registry event');
      return;
    }
    if (IRRELEVANT.has(event.action)) return;
    if (event.model !== null && this.deps.servedModels && !this.deps.servedModels.includes(event.model)) return;
    this.deps.logger.debug({ event }, 'registry event; reconciling');
    this.reconcile().catch(() => {});
  };

  private readonly onSubscriberReady = (): void => {
    if (this.subscriberReadyCount++ > 0) this.reconcile().catch(() => {});
  };

  private async runOnce(): Promise<void> {
    let items: Deployment[];
    try {
      items = (await this.deps.registry.listDeployments(this.deps.servedModels)).items;
    } catch (err) {
      const first = this.registryError === null;
      this.registryError = (err as Error).message;
      this.deps.metrics.registrySyncs.labels('unreachable').inc();
      // warn, not error: serving continues with what it has and heals when the registry is back.
      if (first) this.deps.logger.warn({ err }, 'registry unreachable; keeping the loaded models');
      return;
    }
    if (this.closed) return;
    if (this.registryError !== null) this.deps.logger.info('registry reachable again');
    this.registryError = null;
    this.lastSyncAt = new Date();
    const wanted = items.filter((d) => d.champion !== null && (!this.deps.servedModels || this.deps.servedModels.includes(d.model)));
    await Promise.all(wanted.map((d) => this.apply(d)));
    if (this.closed) return;
    this.desired = wanted;
    const names = new Set(wanted.map((d) => d.model));
    for (const name of this.served.keys()) {
      if (!names.has(name)) {
        this.served.delete(name);
        this.deps.logger.info({ model: name }, 'model no longer deployed; stopped serving it');
      }
    }
    this.collect(wanted);
    this.publishGauges();
    this.deps.metrics.registrySyncs.labels('ok').inc();
    for (const fn of this.applyListeners) fn();
  }

  private async apply(d: Deployment): Promise<void> {
    const [champion, challenger, previousChampion] = await Promise.all([
      this.ensure(d, d.champion!),
      d.challenger ? this.ensure(d, d.challenger) : null,
      d.previousChampion ? this.ensure(d, d.previousChampion) : null,
    ]);
    // Without its champion the model keeps the snapshot it has (if any): stale beats absent.
    if (!champion || this.closed) return;
    const current = this.served.get(d.model);
    const next: ServedModel = {
      name: d.model,
      task: d.task,
      champion,
      challenger,
      previousChampion,
      hasChallenger: challenger !== null,
      mode: d.traffic.mode,
      challengerPercent: d.traffic.challengerPercent,
      challengerBuckets: challengerBucketCount(d.traffic.challengerPercent),
      revision: d.revision,
    };
    if (
      current &&
      current.champion === next.champion &&
      current.challenger === next.challenger &&
      current.previousChampion === next.previousChampion &&
      current.mode === next.mode &&
      current.challengerBuckets === next.challengerBuckets &&
      current.task === next.task
    ) {
      return;
    }
    this.served.set(d.model, next);
    this.deps.logger.info(
      {
        model: d.model,
        champion: champion.version,
        challenger: challenger?.version ?? null,
        previousChampion: previousChampion?.version ?? null,
        traffic: d.traffic,
        revision: d.revision,
      },
      current ? 'deployment changed; now serving it' : 'model loaded; now serving it',
    );
  }

  /** The loaded version, loading it first if needed; null if it cannot be loaded (logged, counted). */
  private ensure(d: Deployment, deployed: DeployedVersion): Promise<ManagedVersion | null> {
    const key = versionKey(d.model, deployed);
    const have = this.loaded.get(key);
    if (have) return Promise.resolve(have);
    let pending = this.loading.get(key);
    if (!pending) {
      const started = performance.now();
      pending = this.deps.loader
        .load(d.model, d.task, deployed)
        .then(
          (v) => {
            if (this.closed) {
              v.retire();
              return null;
            }
            this.loaded.set(key, v);
            this.failures.delete(key);
            this.deps.metrics.modelLoads.labels('ok').inc();
            this.deps.logger.info(
              { model: d.model, version: deployed.version, sha256: deployed.sha256, ms: Math.round(performance.now() - started) },
              'model version loaded and warmed',
            );
            return v;
          },
          (err: unknown) => {
            this.failures.set(key, `${d.model} v${deployed.version}: ${(err as Error).message}`);
            this.deps.metrics.modelLoads.labels(err instanceof ArtifactIntegrityError ? 'corrupt' : 'error').inc();
            this.deps.logger.error({ err, model: d.model, version: deployed.version }, 'model version failed to load');
            return null;
          },
        )
        .finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  /** Retires versions no snapshot uses and forgets failures of versions no longer deployed. */
  private collect(wanted: Deployment[]): void {
    const used = new Set<ManagedVersion | null>();
    for (const s of this.served.values()) used.add(s.champion as ManagedVersion).add(s.challenger as ManagedVersion | null).add(s.previousChampion as ManagedVersion | null);
    for (const [key, v] of this.loaded) {
      if (!used.has(v)) {
        this.loaded.delete(key);
        v.retire();
        this.deps.logger.info({ model: v.model, version: v.version }, 'model version retired; released after its last request');
      }
    }
    const deployedKeys = new Set<string>();
    for (const d of wanted) {
      for (const v of [d.champion, d.challenger, d.previousChampion]) if (v) deployedKeys.add(versionKey(d.model, v));
    }
    for (const key of this.failures.keys()) if (!deployedKeys.has(key)) this.failures.delete(key);
  }

  private publishGauges(): void {
    const { modelInfo, challengerShare } = this.deps.metrics;
    modelInfo.reset();
    challengerShare.reset();
    for (const s of this.served.values()) {
      modelInfo.labels(s.name, String(s.champion.version), 'champion').set(1);
      if (s.challenger) modelInfo.labels(s.name, String(s.challenger.version), 'challenger').set(1);
      if (s.previousChampion) modelInfo.labels(s.name, String(s.previousChampion.version), 'previous_champion').set(1);
      challengerShare.labels(s.name).set(s.challengerPercent / 100);
    }
  }
}

function versionKey(model: string, v: DeployedVersion): string {
  return `${model}\u0000${v.version}\u0000${v.sha256}`;
}
