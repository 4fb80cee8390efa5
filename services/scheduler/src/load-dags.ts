import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DagDefinition } from '@contender/pipeline';

/** The DAGs of dags/index.ts, or those of the module SCHEDULER_DAGS_MODULE names (tests, benchmarks). */
export async function loadDags(modulePath?: string): Promise<ReadonlyArray<DagDefinition>> {
  if (!modulePath) return (await import('@contender/dags')).dags;
  const mod = (await import(pathToFileURL(path.resolve(modulePath)).href)) as { dags?: ReadonlyArray<DagDefinition> };
  if (!Array.isArray(mod.dags)) throw new Error(`SCHEDULER_DAGS_MODULE ${modulePath} exports no \`dags\` array`);
  return mod.dags;
}
