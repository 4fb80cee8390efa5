import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Registry } from 'prom-client';
import { REGISTRY_EVENTS_CHANNEL, type DeployedVersion, type Deployment, type DeploymentList, type Task } from '@contender/contracts';
import { createLogger, type Redis } from '@contender/platform';
import { FeatureEncoder } from '../features/feature-encoder.js';
import { ServingMetrics } from '../metrics/serving-metrics.js';
import type { RegistryClient } from '../registry/registry-client.js';
import { ModelManager } from './model-manager.js';
import type { ManagedVersion, VersionLoader } from './served-model.js';

const deployed = (version: number): DeployedVersion => ({
  version,
  sha256: String(version).padStart(64, '0'),
  sizeBytes: 10,
  artifactPath: `/api/v1/models/credit/versions/${version}/artifact`,
  featureNames: ['a'],
  signature: { inputs: [], outputs: [] },
  scoreOutput: null,
  threshold: null,
});

const deployment = (model: string, champion: number | null, challenger: number | null = null, previous: number | null = null, percent = 0): Deployment => ({
  model,
  task: 'binary_classification',
  champion: champion === null ? null : deployed(champion),
  challenger: challenger === null ? null : deployed(challenger),
  previousChampion: previous === null ? null : deployed(previous),
  traffic: { challengerPercent: percent, mode: 'split' },
  revision: 1,
});

class FakeVersion implements ManagedVersion {
  readonly sha256: string;
  readonly threshold = 0.5;
  readonly encoder = FeatureEncoder.forSignature(['a'], [{ name: 'input', type: 'float32', shape: ['', 1] }]);
  retired = false;
  readonly released: Promise<void>;
  private release!: () => void;
  constructor(
    readonly model: string,
    readonly task: Task,
    readonly version: number,
  ) {
    this.sha256 = deployed(version).sha256;
    this.released = new Promise((r) => (this.release = r));
  }
  async score(): Promise<Float64Array> {
    return Float64Array.of(this.version);
  }
  retire(): void {
    this.retired = true;
    this.release();
  }
}

class FakeLoader implements VersionLoader {
  loads: string[] = [];
  failing = new Set<number>();
  blocked = new Map<number, { promise: Promise<void>; open: () => void }>();
  made: FakeVersion[] = [];
  block(version: number) {
    let open!: () => void;
    const promise = new Promise<void>((r) => (open = r));
    this.blocked.set(version, { promise, open });
  }
  async load(model: string, task: Task, d: DeployedVersion): Promise<ManagedVersion> {
    this.loads.push(`${model}@${d.version}`);
    await this.blocked.get(d.version)?.promise;
    if (this.failing.has(d.version)) throw new Error(`v${d.version} is corrupt`);
    const v = new FakeVersion(model, task, d.version);
    this.made.push(v);
    return v;
  }
}

class FakeRegistry implements RegistryClient {
  items: Deployment[] = [];
  down = false;
  lists = 0;
  async listDeployments(): Promise<DeploymentList> {
    this.lists++;
    if (this.down) throw new Error('registry unreachable at http://registry: ECONNREFUSED');
    return { items: structuredClone(this.items), revision: 1 };
  }
  async downloadArtifact(): Promise<Buffer> {
    throw new Error('not used');
  }
  async introspect(): Promise<never> {
    throw new Error('not used');
  }
}

function setup(servedModels: string[] | null = null) {
  const registry = new FakeRegistry();
  const loader = new FakeLoader();
  const subscriber = Object.assign(new EventEmitter(), { subscribe: async () => 1 }) as unknown as Redis;
  const manager = new ModelManager({
    registry,
    loader,
    logger: createLogger('test', 'silent'),
    metrics: new ServingMetrics(new Registry()),
    servedModels,
    reconcileIntervalMs: 3_600_000,
    subscriber,
  });
  const publish = (action: string, model: string | null = 'credit') =>
    (subscriber as unknown as EventEmitter).emit('message', REGISTRY_EVENTS_CHANNEL, JSON.stringify({ model, action, eventId: 1 }));
  return { registry, loader, manager, publish };
}

describe('ModelManager', () => {
  it('is not ready before the first deployment list, then serves every model that has a champion', async () => {
    const { registry, manager } = setup();
    assert.equal(manager.readiness().models.ok, false);
    registry.items = [deployment('credit', 1), deployment('churn', 4), deployment('empty', null)];
    await manager.start();
    assert.equal(manager.readiness().models.ok, true);
    assert.equal(manager.get('credit')?.champion.version, 1);
    assert.equal(manager.get('churn')?.champion.version, 4);
    assert.equal(manager.get('empty'), undefined);
    await manager.close();
  });

  it('serves only the models listed in SERVED_MODELS and is not ready while one of them has no champion', async () => {
    const { registry, manager } = setup(['credit', 'fraud']);
    registry.items = [deployment('credit', 1), deployment('churn', 4)];
    await manager.start();
    assert.equal(manager.get('churn'), undefined);
    const r = manager.readiness().models;
    assert.equal(r.ok, false);
    assert.match(r.detail!, /fraud: listed in SERVED_MODELS but has no champion/);
    await manager.close();
  });

  it('routes to a new champion only once it is loaded; until then the old one answers', async () => {
    const { registry, loader, manager, publish } = setup();
    registry.items = [deployment('credit', 1)];
    await manager.start();
    loader.block(2);
    registry.items = [deployment('credit', 2, null, 1)];
    publish('alias.set');
    await new Promise((r) => setImmediate(r));
    assert.equal(manager.get('credit')?.champion.version, 1, 'still the old champion while v2 loads');
    const applied = new Promise<void>((r) => manager.onApplied(r));
    loader.blocked.get(2)!.open();
    await applied;
    assert.equal(manager.get('credit')?.champion.version, 2);
    assert.equal(manager.get('credit')?.previousChampion?.version, 1);
    await manager.close();
  });

  it('promotes without loading anything: the challenger\'s session becomes the champion\'s', async () => {
    const { registry, loader, manager } = setup();
    registry.items = [deployment('credit', 1, 2, null, 10)];
    await manager.start();
    const challenger = manager.get('credit')!.challenger;
    registry.items = [deployment('credit', 2, null, 1)];
    await manager.reconcile();
    assert.equal(manager.get('credit')!.champion, challenger);
    assert.deepEqual(loader.loads, ['credit@1', 'credit@2']);
    await manager.close();
  });

  it('retires a version once no deployment refers to it, and keeps the previous champion warm', async () => {
    const { registry, loader, manager } = setup();
    registry.items = [deployment('credit', 1, 2)];
    await manager.start();
    registry.items = [deployment('credit', 2, null, 1)];
    await manager.reconcile();
    const [v1, v2] = loader.made;
    assert.equal(v1!.retired, false, 'v1 is the previous champion now');
    registry.items = [deployment('credit', 3, null, 2)];
    await manager.reconcile();
    assert.equal(v1!.retired, true);
    assert.equal(v2!.retired, false);
    registry.items = [];
    await manager.reconcile();
    assert.equal(manager.get('credit'), undefined, 'a model without a champion is no longer served');
    assert.ok(loader.made.every((v) => v.retired));
    await manager.close();
  });

  it('keeps the old champion when the new one fails to load, and reports why', async () => {
    const { registry, loader, manager } = setup();
    registry.items = [deployment('credit', 1)];
    await manager.start();
    loader.failing.add(2);
    registry.items = [deployment('credit', 2, null, 1)];
    await manager.reconcile();
    assert.equal(manager.get('credit')?.champion.version, 1);
    const r = manager.readiness();
    assert.equal(r.models.ok, true, 'still answering');
    assert.equal(r.versions.ok, false);
    assert.match(r.versions.detail!, /credit v2: v2 is corrupt/);
    loader.failing.delete(2);
    await manager.reconcile();
    assert.equal(manager.get('credit')?.champion.version, 2, 'loaded on the next reconciliation');
    assert.equal(manager.readiness().versions.ok, true);
    await manager.close();
  });

  it('keeps serving what it has while the registry is unreachable, and says so', async () => {
    const { registry, manager } = setup();
    registry.items = [deployment('credit', 1)];
    await manager.start();
    registry.down = true;
    await manager.reconcile();
    assert.equal(manager.get('credit')?.champion.version, 1);
    const r = manager.readiness();
    assert.equal(r.models.ok, true);
    assert.equal(r.registry.ok, false);
    assert.match(r.registry.detail!, /ECONNREFUSED; serving the deployments last seen at/);
    registry.down = false;
    await manager.reconcile();
    assert.equal(manager.readiness().registry.ok, true);
    await manager.close();
  });

  it('coalesces reconciliations asked for while one runs into one more run', async () => {
    const { registry, loader, manager } = setup();
    registry.items = [deployment('credit', 1)];
    loader.block(1);
    const first = manager.start();
    await new Promise((r) => setImmediate(r));
    const more = [manager.reconcile(), manager.reconcile(), manager.reconcile()];
    loader.blocked.get(1)!.open();
    await Promise.all([first, ...more]);
    assert.equal(registry.lists, 2);
    await manager.close();
  });

  it('reconciles on a registry event and ignores events that cannot change a deployment', async () => {
    const { registry, manager, publish } = setup();
    registry.items = [deployment('credit', 1)];
    await manager.start();
    publish('version.registered');
    publish('model.created');
    await new Promise((r) => setImmediate(r));
    assert.equal(registry.lists, 1);
    const applied = new Promise<void>((r) => manager.onApplied(r));
    publish('traffic.set');
    await applied;
    assert.equal(registry.lists, 2);
    await manager.close();
  });

  it('releases every version on close', async () => {
    const { registry, loader, manager } = setup();
    registry.items = [deployment('credit', 1, 2, 3)];
    await manager.start();
    await manager.close();
    assert.equal(loader.made.length, 3);
    assert.ok(loader.made.every((v) => v.retired));
    assert.equal(manager.get('credit'), undefined);
  });
});
