import type { DeployedVersion, Deployment, DeploymentList } from '@contender/contracts';
import type { Pool } from '@contender/platform';
import { CHALLENGER, CHAMPION } from '../models/model-service.js';
import type { PgModelStore, VersionRecord } from '../models/pg-model-store.js';

/**
 * What serving needs to route and score, for every model: champion, challenger, the version a
 * rollback would restore, and the traffic policy. Serving polls this (and is nudged by Redis
 * events); the registry stays the one place that decides.
 */
export class DeploymentReadModel {
  constructor(private readonly deps: { pool: Pool; store: PgModelStore }) {}

  async list(filter?: { models?: string[] }): Promise<DeploymentList> {
    const { pool, store } = this.deps;
    let models = await store.listModelsForDeployment(pool);
    if (filter?.models) models = models.filter((m) => filter.models!.includes(m.name));
    const aliases = await store.aliasesOfModels(pool, models.map((m) => m.id));
    const items: Deployment[] = [];
    for (const m of models) {
      const a = aliases.get(m.id) ?? {};
      const previous = (await store.lastChampionChange(pool, m.id))?.from ?? null;
      const wanted = [a[CHAMPION], a[CHALLENGER], previous].filter((v): v is number => typeof v === 'number');
      const versions = await store.findVersions(pool, m.id, wanted);
      const pick = (v: number | null | undefined) => (typeof v === 'number' && versions.has(v) ? toDeployed(versions.get(v)!) : null);
      items.push({
        model: m.name,
        task: m.task,
        champion: pick(a[CHAMPION]),
        challenger: pick(a[CHALLENGER]),
        previousChampion: previous !== a[CHAMPION] ? pick(previous) : null,
        traffic: { challengerPercent: m.challengerPercent, mode: m.trafficMode },
        revision: m.revision,
      });
    }
    return { items, revision: items.reduce((r, d) => Math.max(r, d.revision), 0) };
  }
}

function toDeployed(v: VersionRecord): DeployedVersion {
  return {
    version: v.version,
    sha256: v.sha256,
    sizeBytes: v.sizeBytes,
    artifactPath: `/api/v1/models/${encodeURIComponent(v.modelName)}/versions/${v.version}/artifact`,
    featureNames: v.featureNames,
    signature: v.signature,
    scoreOutput: v.scoreOutput,
    threshold: v.threshold,
  };
}
