import type { DagDefinition } from '@contender/pipeline';
import retrain from './retrain.js';
import score from './score.js';

/** Every DAG the scheduler offers, by id. A new pipeline is a module here and a line in this list. */
export const dags: ReadonlyArray<DagDefinition> = [retrain, score];

export { retrain, score };
export type { RetrainParams } from './retrain.js';
export type { ScoreParams } from './score.js';
