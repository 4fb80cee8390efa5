import { attr, FLOAT, INT64, ML_DOMAIN, node, STRING } from './builders.js';
import { decodeOnnxModel, encodeOnnxModel, type OnnxObject } from './proto.js';

/** Output names classifier exporters use for the probability matrix, in order of preference. */
const PROBABILITY_OUTPUTS = ['probabilities', 'output_probability'];

const LABEL_ATTRIBUTES = ['classlabels_int64s', 'classlabels_ints', 'classlabels_strings'];

const utf8 = new TextDecoder();

interface Attribute {
  name?: string;
  ints?: number[];
  strings?: Uint8Array[];
}

interface GraphNode {
  op_type?: string;
  domain?: string;
  input?: string[];
  output?: string[];
  attribute?: Attribute[];
}

interface ValueInfo {
  name?: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number }[] } } };
}

/**
 * Rewrites a classifier so that its probability output is a sequence of maps, the shape
 * scikit-learn's converters produce by default: the float [N, K] probability tensor is routed
 * through an ai.onnx.ml ZipMap node and the graph output with the same name becomes
 * `sequence<map<int64, float>>` (or `map<string, float>` for string class labels).
 *
 * The probability output is the graph output named `probabilities` or `output_probability`, or
 * else the second output of the node producing a graph output; class labels come from that
 * node's (or else the graph's classifier node's) `classlabels_int64s` / `classlabels_ints` /
 * `classlabels_strings`, or default to 0..K−1 when the probability tensor has K fixed columns.
 * Serving code that only handles tensors must reject the result; this exists to test that.
 */
export function withZipMap(bytes: Uint8Array): Uint8Array {
  const model = decodeOnnxModel(bytes);
  const graph = model.graph as { node?: GraphNode[]; output?: ValueInfo[] } | undefined;
  if (!graph?.output?.length) throw new Error('model has no graph outputs');
  const nodes = graph.node ?? [];

  const output =
    graph.output.find((o) => PROBABILITY_OUTPUTS.includes(o.name ?? '')) ??
    graph.output.find((o) => nodes.some((n) => n.output?.[1] !== undefined && n.output[1] === o.name));
  const name = output?.name;
  if (!output || !name) throw new Error('no probability output found (expected "probabilities" or a classifier\'s second output)');
  if (output.type?.tensor_type?.elem_type !== FLOAT) throw new Error(`output ${name} is not a float tensor`);
  const producer = nodes.find((n) => n.output?.includes(name));
  if (!producer) throw new Error(`no node produces ${name}`);

  // The producer may be a post-processing node (a Normalizer, say); then any classifier node of
  // the graph that declares its class labels does.
  const hasLabels = (n: GraphNode): boolean => (n.attribute ?? []).some((a) => LABEL_ATTRIBUTES.includes(a.name ?? ''));
  const labelled = hasLabels(producer) ? producer : nodes.find(hasLabels);
  const labelsAttr = (key: string): Attribute | undefined => labelled?.attribute?.find((a) => a.name === key);
  const stringLabels = labelsAttr('classlabels_strings')?.strings?.map((s) => utf8.decode(s));
  let intLabels = (labelsAttr('classlabels_int64s') ?? labelsAttr('classlabels_ints'))?.ints;
  if (!stringLabels && !intLabels) {
    const k = output.type.tensor_type.shape?.dim?.[1]?.dim_value;
    if (!k) throw new Error(`cannot tell the class labels of ${name}: no classlabels attribute and no fixed class dimension`);
    intLabels = Array.from({ length: k }, (_, i) => i);
  }

  // The tensor keeps flowing under a new name; the old name now belongs to the ZipMap's output.
  const taken = new Set(nodes.flatMap((n) => [...(n.input ?? []), ...(n.output ?? [])]));
  let inner = `${name}_tensor`;
  while (taken.has(inner)) inner = `_${inner}`;
  for (const n of nodes) {
    n.output = n.output?.map((o) => (o === name ? inner : o));
    n.input = n.input?.map((i) => (i === name ? inner : i));
  }
  const zipmap = node(
    'ZipMap',
    [inner],
    [name],
    [stringLabels ? attr.strings('classlabels_strings', stringLabels) : attr.ints('classlabels_int64s', intLabels!)],
    ML_DOMAIN,
  );
  graph.node = [...nodes, zipmap as GraphNode];
  (output as OnnxObject).type = {
    sequence_type: {
      elem_type: { map_type: { key_type: stringLabels ? STRING : INT64, value_type: { tensor_type: { elem_type: FLOAT } } } },
    },
  };

  const opsets = (model.opset_import ?? []) as { domain?: string; version?: number }[];
  if (!opsets.some((o) => o.domain === ML_DOMAIN)) opsets.push({ domain: ML_DOMAIN, version: 1 });
  model.opset_import = opsets;
  return encodeOnnxModel(model);
}
