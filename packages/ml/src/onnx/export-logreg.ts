import type { LogRegModel } from '../logreg/logreg.js';
import { attr, FLOAT, INT64, ML_DOMAIN, modelProto, node, tensorInfo } from './builders.js';
import type { OnnxObject } from './proto.js';

/**
 * Logistic regression as ai.onnx.ml Imputer → LinearClassifier.
 *
 * The Imputer replaces NaN (`replaced_value_float` NaN is matched with isnan) by each feature's
 * training mean — the model's `imputeValues` — so the linear node sees exactly the x̃ that
 * `LogRegModel.predictRaw` uses. The LinearClassifier holds the raw-feature coefficients and
 * intercept (standardisation already folded in) as one score row for class 1; with two class
 * labels and post_transform LOGISTIC onnxruntime emits probabilities [1 − σ(s), σ(s)] and label
 * 1 iff s > 0.
 */
export function logRegGraph(model: LogRegModel, metadata: Record<string, string>): OnnxObject {
  const nFeatures = model.featureNames.length;
  const imputer = node(
    'Imputer',
    ['features'],
    ['features_imputed'],
    [attr.floats('imputed_value_floats', model.imputeValues), attr.float('replaced_value_float', NaN)],
    ML_DOMAIN,
  );
  const linear = node(
    'LinearClassifier',
    ['features_imputed'],
    ['label', 'probabilities'],
    [
      attr.floats('coefficients', model.coefficients),
      attr.floats('intercepts', [model.intercept]),
      attr.ints('classlabels_ints', [0, 1]),
      attr.int('multi_class', 0),
      attr.string('post_transform', 'LOGISTIC'),
    ],
    ML_DOMAIN,
  );
  return modelProto({
    name: 'contender_logreg_classifier',
    nodes: [imputer, linear],
    inputs: [tensorInfo('features', FLOAT, ['N', nFeatures])],
    outputs: [tensorInfo('label', INT64, ['N']), tensorInfo('probabilities', FLOAT, ['N', 2])],
    metadata,
    docString: 'Logistic regression (L2, mean imputation) trained by @contender/ml',
  });
}
