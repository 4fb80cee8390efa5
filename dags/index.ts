import type { DagDefinition } from '@contender/pipeline';
import drift from './drift.js';
import evaluate from './evaluate.js';
import retrain from './retrain.js';
import score from './score.js';

/** Every DAG the scheduler offers, by id. A new pipeline is a module here and a line in this list. */
export const dags: ReadonlyArray<DagDefinition> = [retrain, score, drift, evaluate];

export { drift, evaluate, retrain, score };
export type { DriftParams, DriftRunOutput } from './drift.js';
export type { EvaluateParams, EvaluationRunOutput } from './evaluate.js';
export type { RetrainParams } from './retrain.js';
export type { ScoreParams } from './score.js';
