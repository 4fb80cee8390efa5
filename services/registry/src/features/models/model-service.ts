import type {
  AuditEvent,
  DeploymentState,
  Model,
  ModelVersion,
  TrafficMode,
  AuditAction,
} from '@contender/contracts';
import {
  ConflictError,
  NotFoundError,
  withTransaction,
  type Logger,
  type Pool,
  type PoolClient,
} from '@contender/platform';
import type { PgAuditStore } from '../audit/pg-audit-store.js';
import type { CommitHook } from '../idempotency/idempotency-service.js';
import type { RegistryEventPublisher } from '../../events/registry-event-publisher.js';
import type { RegistryMetrics } from '../../registry-metrics.js';
import type { ModelRecord, NewVersion, PgModelStore, VersionRecord } from './pg-model-store.js';

export const CHAMPION = 'champion';
export const CHALLENGER = 'challenger';

export interface ModelServiceDeps {
  pool: Pool;
  store: PgModelStore;
  audit: PgAuditStore;
  publisher: RegistryEventPublisher;
  metrics: RegistryMetrics;
  logger: Logger;
}

interface MutationContext {
  tx: PoolClient;
  model: ModelRecord;
  before: DeploymentState;
}

interface MutationResult {
  action: AuditAction;
  reason?: string | null;
  /** Extra facts for the audit event's `after`, beside the deployment state (e.g. the gate's numbers). */
  extra?: Record<string, unknown>;
  /** When set, the champion alias changed from → to (recorded so rollback can revert it). */
  championChange?: { from: number | null; to: number | null };
  /** Called with the new event, inside the transaction (rollback marks the change it undid). */
  onEvent?: (event: AuditEvent) => Promise<void>;
}

/**
 * The rules of the registry: aliases, traffic, promotion, rollback, versions. Every change runs in
 * one transaction that first locks the model's row, so concurrent changes to one model are applied
 * one at a time and each audit event's `before` is exactly the previous event's `after`.
 */
export class ModelService {
  constructor(private readonly deps: ModelServiceDeps) {}

  async createModel(
    input: { name: string; description?: string; task: Model['task']; primaryMetric: string; metricGoal: Model['metricGoal']; tags?: Record<string, string> },
    actor: string,
    hook?: CommitHook,
  ): Promise<Model> {
    const { store, audit } = this.deps;
    const { response, event } = await withTransaction(this.deps.pool, async (tx) => {
      const model = await store.insertModel(tx, {
        name: input.name,
        description: input.description ?? null,
        task: input.task,
        primaryMetric: input.primaryMetric,
        metricGoal: input.metricGoal,
        tags: input.tags ?? {},
        createdBy: actor,
      });
      if (!model) throw new ConflictError(`model "${input.name}" already exists`, { name: input.name }, 'model_exists');
      const event = await audit.append(tx, {
        modelId: model.id,
        modelName: model.name,
        actor,
        action: 'model.created',
        after: { name: model.name, task: model.task, primaryMetric: model.primaryMetric, metricGoal: model.metricGoal, ...emptyState() },
      });
      const response = toModelResponse(model, {});
      await hook?.(tx, response);
      return { response, event };
    });
    await this.publish(response.name, event);
    return response;
  }

  async getModel(name: string): Promise<Model> {
    const model = await this.requireModel(name);
    return toModelResponse(model, await this.deps.store.aliases(this.deps.pool, model.id));
  }

  async listModels(opts: { after?: string; limit: number }): Promise<{ items: Model[]; nextCursor: string | null }> {
    const models = await this.deps.store.listModels(this.deps.pool, opts);
    const aliases = await this.deps.store.aliasesOfModels(this.deps.pool, models.map((m) => m.id));
    return {
      items: models.map((m) => toModelResponse(m, aliases.get(m.id) ?? {})),
      nextCursor: models.length === opts.limit ? models[models.length - 1]!.name : null,
    };
  }

  async requireModel(name: string): Promise<ModelRecord> {
    const model = await this.deps.store.findModel(this.deps.pool, name);
    if (!model) throw new NotFoundError(`model "${name}" does not exist`, 'model_not_found');
    return model;
  }

  async getVersion(name: string, version: number): Promise<ModelVersion> {
    const model = await this.requireModel(name);
    const v = await this.requireVersion(this.deps.pool, model, version);
    return toVersionResponse(v, await this.deps.store.aliases(this.deps.pool, model.id));
  }

  async getVersionRecord(name: string, version: number): Promise<VersionRecord> {
    const model = await this.requireModel(name);
    return this.requireVersion(this.deps.pool, model, version);
  }

  async getReferenceProfile(name: string, version: number): Promise<unknown> {
    const model = await this.requireModel(name);
    await this.requireVersion(this.deps.pool, model, version);
    const profile = await this.deps.store.referenceProfile(this.deps.pool, model.id, version);
    if (profile === null) throw new NotFoundError(`version ${version} of "${name}" has no reference profile`, 'reference_profile_not_found');
    return profile;
  }

  async listVersions(name: string, opts: { before?: number; limit: number }): Promise<{ items: ModelVersion[]; nextCursor: number | null }> {
    const model = await this.requireModel(name);
    const versions = await this.deps.store.listVersions(this.deps.pool, model.id, opts);
    const aliases = await this.deps.store.aliases(this.deps.pool, model.id);
    return {
      items: versions.map((v) => toVersionResponse(v, aliases)),
      nextCursor: versions.length === opts.limit ? versions[versions.length - 1]!.version : null,
    };
  }

  /**
   * Records a version whose artifact is already in storage. `beforeCommit` runs inside the
   * transaction after the row is written (the uploader uses it to make sure the object still
   * exists under the same content-address lock); `hook` records the Idempotency-Key answer.
   */
  async registerVersion(
    name: string,
    v: Omit<NewVersion, 'modelId'>,
    beforeCommit?: (tx: PoolClient) => Promise<void>,
    hook?: CommitHook,
  ): Promise<ModelVersion> {
    const { store, audit } = this.deps;
    const { response, event } = await withTransaction(this.deps.pool, async (tx) => {
      const model = await store.findModel(tx, name, { forUpdate: true });
      if (!model) throw new NotFoundError(`model "${name}" does not exist`, 'model_not_found');
      const version = await store.nextVersion(tx, model.id);
      await store.insertVersion(tx, { ...v, modelId: model.id, version });
      const event = await audit.append(tx, {
        modelId: model.id,
        modelName: model.name,
        actor: v.createdBy,
        action: 'version.registered',
        after: { version, sha256: v.sha256, sizeBytes: v.sizeBytes, metrics: v.metrics, source: v.source },
      });
      if (beforeCommit) await beforeCommit(tx);
      const record = (await store.findVersion(tx, model.id, version))!;
      const response = toVersionResponse(record, await store.aliases(tx, model.id));
      await hook?.(tx, response);
      return { response, event };
    });
    this.deps.metrics.versionsRegistered.inc({ model: name });
    await this.publish(name, event);
    return response;
  }

  async setAlias(name: string, alias: string, input: { version: number; reason?: string }, actor: string): Promise<Model> {
    return this.mutate(name, actor, undefined, async ({ tx, model, before }) => {
      await this.requireVersion(tx, model, input.version);
      if (before.aliases[alias] === input.version) return null; // nothing moves, nothing to audit
      const other = alias === CHAMPION ? CHALLENGER : alias === CHALLENGER ? CHAMPION : null;
      if (other && before.aliases[other] === input.version) {
        throw new ConflictError(
          `version ${input.version} is already the ${other}; ${alias} and ${other} must be different versions`,
          { alias, version: input.version, [other]: input.version },
          'alias_conflict',
        );
      }
      await this.deps.store.setAlias(tx, model.id, alias, input.version);
      this.deps.metrics.aliasMoves.inc({ alias: aliasLabel(alias) });
      return {
        action: 'alias.set',
        reason: input.reason ?? null,
        extra: { alias, version: input.version },
        ...(alias === CHAMPION ? { championChange: { from: before.aliases[CHAMPION] ?? null, to: input.version } } : {}),
      };
    });
  }

  async deleteAlias(name: string, alias: string, reason: string | undefined, actor: string): Promise<Model> {
    return this.mutate(name, actor, undefined, async ({ tx, model, before }) => {
      if (before.aliases[alias] === undefined) {
        throw new NotFoundError(`model "${name}" has no alias "${alias}"`, 'alias_not_found');
      }
      await this.deps.store.deleteAlias(tx, model.id, alias);
      // Without a challenger there is nothing to send its share to.
      if (alias === CHALLENGER && before.traffic.challengerPercent > 0) {
        await this.deps.store.setTraffic(tx, model.id, 0, before.traffic.mode);
      }
      this.deps.metrics.aliasMoves.inc({ alias: aliasLabel(alias) });
      return {
        action: 'alias.deleted',
        reason: reason ?? null,
        extra: { alias, version: before.aliases[alias] },
        ...(alias === CHAMPION ? { championChange: { from: before.aliases[CHAMPION] ?? null, to: null } } : {}),
      };
    });
  }

  async setTraffic(name: string, input: { challengerPercent: number; mode: TrafficMode; reason?: string }, actor: string): Promise<Model> {
    return this.mutate(name, actor, undefined, async ({ tx, model, before }) => {
      if (input.challengerPercent > 0 && before.aliases[CHALLENGER] === undefined) {
        throw new ConflictError(
          `model "${name}" has no challenger; set the challenger alias before giving it ${input.challengerPercent}% of traffic`,
          { challengerPercent: input.challengerPercent },
          'no_challenger',
        );
      }
      if (before.traffic.challengerPercent === input.challengerPercent && before.traffic.mode === input.mode) return null;
      await this.deps.store.setTraffic(tx, model.id, input.challengerPercent, input.mode);
      return { action: 'traffic.set', reason: input.reason ?? null };
    });
  }

  async promote(name: string, input: { reason?: string; force: boolean }, actor: string, hook?: CommitHook): Promise<Model> {
    return this.mutate(name, actor, hook, async ({ tx, model, before }) => {
      const challengerVersion = before.aliases[CHALLENGER];
      if (challengerVersion === undefined) {
        throw new ConflictError(`model "${name}" has no challenger to promote`, null, 'no_challenger');
      }
      const championVersion = before.aliases[CHAMPION] ?? null;
      const versions = await this.deps.store.findVersions(tx, model.id, championVersion ? [challengerVersion, championVersion] : [challengerVersion]);
      const gate = evaluateGate(model, versions.get(challengerVersion)!, championVersion ? versions.get(championVersion)! : null);
      if (!gate.passed && !input.force) {
        this.deps.metrics.promotions.inc({ model: name, outcome: 'gate_failed' });
        throw new ConflictError(gate.message, gate.details, 'promotion_gate_failed');
      }
      await this.deps.store.setAlias(tx, model.id, CHAMPION, challengerVersion);
      await this.deps.store.deleteAlias(tx, model.id, CHALLENGER);
      await this.deps.store.setTraffic(tx, model.id, 0, before.traffic.mode);
      this.deps.metrics.promotions.inc({ model: name, outcome: input.force && !gate.passed ? 'forced' : 'promoted' });
      this.deps.metrics.aliasMoves.inc({ alias: 'champion' });
      return {
        action: 'model.promoted',
        reason: input.reason ?? null,
        extra: { promotedVersion: challengerVersion, previousChampion: championVersion, gate: { ...gate.details, passed: gate.passed, forced: input.force && !gate.passed } },
        championChange: { from: championVersion, to: challengerVersion },
      };
    });
  }

  async rollback(name: string, input: { reason?: string }, actor: string, hook?: CommitHook): Promise<Model> {
    return this.mutate(name, actor, hook, async ({ tx, model, before }) => {
      const change = await this.deps.store.lastChampionChange(tx, model.id);
      if (!change || change.from === null) {
        throw new ConflictError(
          change
            ? `version ${change.to} was the first champion of "${name}"; there is no earlier champion to roll back to`
            : `model "${name}" has no champion history to roll back`,
          null,
          'nothing_to_roll_back',
        );
      }
      await this.deps.store.setAlias(tx, model.id, CHAMPION, change.from);
      if (before.aliases[CHALLENGER] === change.from) {
        // The restored version cannot be champion and challenger at once.
        await this.deps.store.deleteAlias(tx, model.id, CHALLENGER);
        await this.deps.store.setTraffic(tx, model.id, 0, before.traffic.mode);
      }
      this.deps.metrics.rollbacks.inc({ model: name });
      this.deps.metrics.aliasMoves.inc({ alias: 'champion' });
      return {
        action: 'model.rolled_back',
        reason: input.reason ?? null,
        extra: { restoredVersion: change.from, replacedVersion: before.aliases[CHAMPION] ?? null },
        onEvent: (event) => this.deps.store.markChampionChangeUndone(tx, change.id, event.id),
      };
    });
  }

  async events(name: string, opts: { after?: number; limit: number }): Promise<{ items: AuditEvent[]; nextCursor: number | null }> {
    const model = await this.requireModel(name);
    const items = await this.deps.audit.listForModel(this.deps.pool, model.id, opts);
    return { items, nextCursor: items.length === opts.limit ? items[items.length - 1]!.id : null };
  }

  private async requireVersion(db: Pool | PoolClient, model: ModelRecord, version: number): Promise<VersionRecord> {
    const v = await this.deps.store.findVersion(db, model.id, version);
    if (!v) throw new NotFoundError(`model "${model.name}" has no version ${version}`, 'version_not_found');
    return v;
  }

  /**
   * One change to a model's deployment state: lock, read `before`, apply, read `after`, audit,
   * commit, then publish. `fn` returns null when nothing changed (no event, no message). `hook`
   * records the Idempotency-Key answer in the same transaction.
   */
  private async mutate(
    name: string,
    actor: string,
    hook: CommitHook | undefined,
    fn: (ctx: MutationContext) => Promise<MutationResult | null>,
  ): Promise<Model> {
    const { store, audit } = this.deps;
    const out = await withTransaction(this.deps.pool, async (tx) => {
      const model = await store.findModel(tx, name, { forUpdate: true });
      if (!model) throw new NotFoundError(`model "${name}" does not exist`, 'model_not_found');
      const before = await store.deploymentState(tx, model);
      const result = await fn({ tx, model, before });
      if (!result) {
        const response = toModelResponse(model, before.aliases);
        await hook?.(tx, response);
        return { response, event: null };
      }
      const updated = (await store.findModel(tx, name))!;
      const after = await store.deploymentState(tx, updated);
      const event = await audit.append(tx, {
        modelId: model.id,
        modelName: model.name,
        actor,
        action: result.action,
        before,
        after: { ...after, ...result.extra },
        reason: result.reason ?? null,
      });
      if (result.championChange) {
        await store.recordChampionChange(tx, { modelId: model.id, ...result.championChange, eventId: event.id });
      }
      if (result.onEvent) await result.onEvent(event);
      const response = toModelResponse({ ...updated, revision: event.id }, after.aliases);
      await hook?.(tx, response);
      return { response, event };
    });
    if (out.event) await this.publish(name, out.event);
    return out.response;
  }

  private async publish(model: string, event: AuditEvent): Promise<void> {
    await this.deps.publisher.publish({ model, action: event.action, eventId: event.id });
  }
}

interface GateResult {
  passed: boolean;
  message: string;
  details: Record<string, unknown>;
}

/**
 * The challenger must be at least as good as the champion on the model's primary metric, where
 * both versions report it. With no champion, or a version without the metric, there is no evidence
 * to block on and the gate passes (the audit event records which case applied).
 */
export function evaluateGate(model: ModelRecord, challenger: VersionRecord, champion: VersionRecord | null): GateResult {
  const metric = model.primaryMetric;
  const c = challenger.metrics[metric];
  const details: Record<string, unknown> = {
    metric,
    goal: model.metricGoal,
    challenger: { version: challenger.version, value: c ?? null },
    champion: champion ? { version: champion.version, value: champion.metrics[metric] ?? null } : null,
  };
  if (!champion) return { passed: true, message: 'no champion yet', details };
  const p = champion.metrics[metric];
  if (c === undefined || p === undefined) return { passed: true, message: `not both versions report ${metric}`, details };
  const passed = model.metricGoal === 'maximize' ? c >= p : c <= p;
  const cmp = model.metricGoal === 'maximize' ? 'below' : 'above';
  return {
    passed,
    message: passed
      ? 'challenger is at least as good as the champion'
      : `challenger version ${challenger.version} has ${metric} ${c}, ${cmp} champion version ${champion.version}'s ${p}; promote with force: true and a reason to override`,
    details,
  };
}

function emptyState(): DeploymentState {
  return { aliases: {}, traffic: { challengerPercent: 0, mode: 'split' } };
}

function aliasLabel(alias: string): string {
  return alias === CHAMPION || alias === CHALLENGER ? alias : 'other';
}

export function toModelResponse(m: ModelRecord, aliases: Record<string, number>): Model {
  return {
    name: m.name,
    description: m.description,
    task: m.task,
    primaryMetric: m.primaryMetric,
    metricGoal: m.metricGoal,
    tags: m.tags,
    aliases,
    traffic: { challengerPercent: m.challengerPercent, mode: m.trafficMode },
    latestVersion: m.lastVersion > 0 ? m.lastVersion : null,
    createdAt: m.createdAt.toISOString(),
    createdBy: m.createdBy,
  };
}

export function toVersionResponse(v: VersionRecord, aliases: Record<string, number>): ModelVersion {
  return {
    model: v.modelName,
    version: v.version,
    sha256: v.sha256,
    sizeBytes: v.sizeBytes,
    artifactUri: v.artifactUri,
    signature: v.signature,
    featureNames: v.featureNames,
    metrics: v.metrics,
    params: v.params,
    description: v.description,
    tags: v.tags,
    source: v.source,
    scoreOutput: v.scoreOutput,
    threshold: v.threshold,
    hasReferenceProfile: v.hasReferenceProfile,
    aliases: Object.entries(aliases)
      .filter(([, version]) => version === v.version)
      .map(([alias]) => alias),
    createdAt: v.createdAt.toISOString(),
    createdBy: v.createdBy,
  };
}
