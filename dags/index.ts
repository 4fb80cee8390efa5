import type { DagDefinition } from '@contender/pipeline';

/** Every DAG the scheduler offers, by id. A new pipeline is a module here and a line in this list. */
export const dags: ReadonlyArray<DagDefinition> = [];
