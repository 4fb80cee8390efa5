import type { GbdtModel } from '../gbdt/model.js';
import { attr, FLOAT, INT64, ML_DOMAIN, modelProto, node, tensorInfo } from './builders.js';
import type { OnnxObject } from './proto.js';

/**
 * A GBDT as one ai.onnx.ml TreeEnsembleClassifier (binary) or TreeEnsembleRegressor node.
 *
 * Split semantics match training exactly: every internal node is `BRANCH_LT threshold` (true
 * branch = left) and the model's thresholds are float32 values, so `x < threshold` decides the
 * same for the runtime's float32 input as for the TypeScript predictor, which rounds inputs to
 * float32 first. NaN goes left iff `nodes_missing_value_tracks_true` is 1 — the learned default
 * direction; otherwise `NaN < t` is false and it goes right, as in training.
 *
 * Binary classifier layout: every leaf weight goes to class id 0 of a single score, `base_values`
 * holds the base log-odds, `post_transform` LOGISTIC. For two class labels and one score column
 * onnxruntime then emits probabilities [1 − σ(s), σ(s)] and label 1 iff s > 0 (that is p > 0.5) —
 * but only while some leaf weight is negative: when all weights are ≥ 0 its binary path takes the
 * score for a probability and picks label 1 iff s > 0.5 (older releases also skip the sigmoid).
 * A boosted model virtually always has negative leaves; if it has none, one extra single-leaf tree
 * of weight −2⁻⁴⁰ (a change of 10⁻¹² in the log-odds) keeps the runtime on the log-odds path.
 */
export function gbdtGraph(model: GbdtModel, metadata: Record<string, string>): OnnxObject {
  const nFeatures = model.featureNames.length;
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: string[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missingTrue: number[] = [];
  const leafTree: number[] = [];
  const leafNode: number[] = [];
  const leafWeight: number[] = [];

  const addLeafOnlyTree = (treeId: number, weight: number): void => {
    treeIds.push(treeId);
    nodeIds.push(0);
    featureIds.push(0);
    modes.push('LEAF');
    values.push(0);
    trueIds.push(0);
    falseIds.push(0);
    missingTrue.push(0);
    leafTree.push(treeId);
    leafNode.push(0);
    leafWeight.push(weight);
  };

  model.trees.forEach((tree, t) => {
    for (let i = 0; i < tree.feature.length; i++) {
      const f = tree.feature[i]!;
      treeIds.push(t);
      nodeIds.push(i);
      if (f < 0) {
        featureIds.push(0);
        modes.push('LEAF');
        values.push(0);
        trueIds.push(0);
        falseIds.push(0);
        missingTrue.push(0);
        leafTree.push(t);
        leafNode.push(i);
        leafWeight.push(tree.value[i]!);
      } else {
        featureIds.push(f);
        modes.push('BRANCH_LT');
        values.push(tree.threshold[i]!);
        trueIds.push(tree.left[i]!);
        falseIds.push(tree.right[i]!);
        missingTrue.push(tree.defaultLeft[i]! ? 1 : 0);
      }
    }
  });

  if (model.objective === 'binary' && !leafWeight.some((w) => w < 0)) addLeafOnlyTree(model.trees.length, -(2 ** -40));
  const common = [
    attr.ints('nodes_treeids', treeIds),
    attr.ints('nodes_nodeids', nodeIds),
    attr.ints('nodes_featureids', featureIds),
    attr.strings('nodes_modes', modes),
    attr.floats('nodes_values', values),
    attr.ints('nodes_truenodeids', trueIds),
    attr.ints('nodes_falsenodeids', falseIds),
    attr.ints('nodes_missing_value_tracks_true', missingTrue),
  ];
  const input = tensorInfo('features', FLOAT, ['N', nFeatures]);

  if (model.objective === 'binary') {
    const ensemble = node(
      'TreeEnsembleClassifier',
      ['features'],
      ['label', 'probabilities'],
      [
        ...common,
        attr.ints('class_treeids', leafTree),
        attr.ints('class_nodeids', leafNode),
        attr.ints('class_ids', leafTree.map(() => 0)),
        attr.floats('class_weights', leafWeight),
        attr.ints('classlabels_int64s', [0, 1]),
        attr.floats('base_values', [model.baseScore]),
        attr.string('post_transform', 'LOGISTIC'),
      ],
      ML_DOMAIN,
    );
    return modelProto({
      name: 'contender_gbdt_classifier',
      nodes: [ensemble],
      inputs: [input],
      outputs: [tensorInfo('label', INT64, ['N']), tensorInfo('probabilities', FLOAT, ['N', 2])],
      metadata,
      docString: 'Gradient-boosted trees (binary log loss) trained by @contender/ml',
    });
  }

  const ensemble = node(
    'TreeEnsembleRegressor',
    ['features'],
    ['variable'],
    [
      ...common,
      attr.int('n_targets', 1),
      attr.ints('target_treeids', leafTree),
      attr.ints('target_nodeids', leafNode),
      attr.ints('target_ids', leafTree.map(() => 0)),
      attr.floats('target_weights', leafWeight),
      attr.floats('base_values', [model.baseScore]),
      attr.string('aggregate_function', 'SUM'),
      attr.string('post_transform', 'NONE'),
    ],
    ML_DOMAIN,
  );
  return modelProto({
    name: 'contender_gbdt_regressor',
    nodes: [ensemble],
    inputs: [input],
    outputs: [tensorInfo('variable', FLOAT, ['N', 1])],
    metadata,
    docString: 'Gradient-boosted trees (squared error) trained by @contender/ml',
  });
}
