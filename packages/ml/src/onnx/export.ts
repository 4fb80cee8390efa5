import { GbdtModel } from '../gbdt/model.js';
import { LogRegModel } from '../logreg/logreg.js';
import { gbdtGraph } from './export-gbdt.js';
import { logRegGraph } from './export-logreg.js';
import { encodeOnnxModel } from './proto.js';

export interface ExportOnnxOptions {
  /** Extra `metadata_props` entries. Keys starting with `contender.` are reserved for the exporter. */
  readonly metadata?: Record<string, string>;
  /** Evaluation figures (e.g. `{ test_auc: 0.78 }`), stored as JSON under `contender.metrics`. */
  readonly metrics?: Record<string, number>;
}

/** Metadata keys written by the exporter; `contender.feature_names` is a JSON array of strings. */
export const METADATA_KEYS = {
  modelType: 'contender.model_type',
  objective: 'contender.objective',
  featureNames: 'contender.feature_names',
  params: 'contender.params',
  training: 'contender.training',
  metrics: 'contender.metrics',
} as const;

export type ExportableModel = GbdtModel | LogRegModel;

/**
 * Serialises a trained model as an ONNX ModelProto (IR 8, opsets ai.onnx 17 and ai.onnx.ml 3).
 * Input: `features`, float [N, F] in `featureNames` order, NaN for missing values. Outputs:
 * classifiers `label` int64 [N] and `probabilities` float [N, 2]; regressors `variable` float [N, 1].
 */
export function exportToOnnx(model: ExportableModel, options: ExportOnnxOptions = {}): Uint8Array {
  const metadata: Record<string, string> = {
    [METADATA_KEYS.modelType]: model.kind,
    [METADATA_KEYS.objective]: model.objective,
    [METADATA_KEYS.featureNames]: JSON.stringify(model.featureNames),
    [METADATA_KEYS.params]: JSON.stringify(model.params),
    [METADATA_KEYS.training]: JSON.stringify(trainingFacts(model)),
  };
  if (options.metrics) metadata[METADATA_KEYS.metrics] = JSON.stringify(options.metrics);
  for (const [key, value] of Object.entries(options.metadata ?? {})) {
    if (key.startsWith('contender.')) throw new Error(`metadata key ${key} is reserved for the exporter`);
    if (typeof value !== 'string') throw new TypeError(`metadata value of ${key} must be a string`);
    metadata[key] = value;
  }
  if (model instanceof GbdtModel) return encodeOnnxModel(gbdtGraph(model, metadata));
  if (model instanceof LogRegModel) return encodeOnnxModel(logRegGraph(model, metadata));
  throw new TypeError('exportToOnnx takes a GbdtModel or a LogRegModel');
}

function trainingFacts(model: ExportableModel): Record<string, unknown> {
  if (model instanceof GbdtModel) {
    const best = model.history[model.bestIteration];
    return {
      trees: model.trees.length,
      bestIteration: model.bestIteration,
      baseScore: model.baseScore,
      ...(best ? { trainLoss: best.trainLoss, validLoss: best.validLoss } : {}),
    };
  }
  return { iterations: model.iterations, converged: model.converged, trainLoss: model.trainLoss };
}
