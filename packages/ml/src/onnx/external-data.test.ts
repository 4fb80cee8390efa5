import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { FLOAT, INT64, modelProto, node, tensorInfo } from './builders.js';
import { findExternalTensors, OnnxWireError } from './external-data.js';
import { encodeOnnxModel, type OnnxObject } from './proto.js';

const external = (name: string, location = 'secret.bin'): OnnxObject => ({
  name,
  data_type: INT64,
  dims: [2],
  data_location: 'EXTERNAL',
  external_data: [{ key: 'location', value: location }],
});
const inline = (name: string): OnnxObject => ({ name, data_type: INT64, dims: [2], int64_data: [1, 2] });

function reshapeModel(extra: { initializer?: OnnxObject[]; sparse?: OnnxObject[]; nodes?: OnnxObject[] } = {}): Uint8Array {
  const model = modelProto({
    name: 'm',
    nodes: [node('Reshape', ['x', 'shape'], ['y'], []), ...(extra.nodes ?? [])],
    inputs: [tensorInfo('x', FLOAT, [1, 2])],
    outputs: [tensorInfo('y', FLOAT, [2, 1])],
    metadata: {},
  });
  const graph = model.graph as OnnxObject;
  graph.initializer = extra.initializer ?? [inline('shape')];
  if (extra.sparse) graph.sparse_initializer = extra.sparse;
  return encodeOnnxModel(model);
}

const subgraph = (initializer: OnnxObject[], nodes: OnnxObject[] = []): OnnxObject => ({
  name: 'body',
  node: nodes,
  initializer,
  output: [tensorInfo('out', INT64, [2])],
});

describe('findExternalTensors', () => {
  it('finds nothing in a model whose tensors are all inline', () => {
    assert.deepEqual(findExternalTensors(reshapeModel()), []);
  });

  it('names an initializer stored as external data', () => {
    assert.deepEqual(findExternalTensors(reshapeModel({ initializer: [external('shape')] })), [{ name: 'shape', path: 'graph.initializer' }]);
  });

  it('counts external_data entries as external even without data_location', () => {
    const t = { ...external('shape') };
    delete t.data_location;
    assert.deepEqual(findExternalTensors(reshapeModel({ initializer: [t] })), [{ name: 'shape', path: 'graph.initializer' }]);
  });

  it('finds the values of a sparse initializer and a tensor in a Constant node attribute', () => {
    const sparse = { values: external('sv'), indices: inline('si'), dims: [4] };
    const constant = node('Constant', [], ['c'], [{ name: 'value', type: 'TENSOR', t: external('ct') }]);
    const found = findExternalTensors(reshapeModel({ sparse: [sparse], nodes: [constant] }));
    assert.deepEqual(found, [
      { name: 'ct', path: 'graph.node.attribute.t' },
      { name: 'sv', path: 'graph.sparse_initializer.values' },
    ]);
  });

  it('finds an external tensor in an If branch and in a Loop body nested inside it', () => {
    const loop = node('Loop', ['', ''], ['l'], [{ name: 'body', type: 'GRAPH', g: subgraph([external('deep')]) }]);
    const ifNode = node('If', ['cond'], ['o'], [
      { name: 'then_branch', type: 'GRAPH', g: subgraph([external('then')]) },
      { name: 'else_branch', type: 'GRAPH', g: subgraph([inline('else')], [loop]) },
    ]);
    assert.deepEqual(findExternalTensors(reshapeModel({ nodes: [ifNode] })), [
      { name: 'then', path: 'graph.node.attribute.g.initializer' },
      { name: 'deep', path: 'graph.node.attribute.g.node.attribute.g.initializer' },
    ]);
  });

  it('finds a tensor in the graphs list of an attribute', () => {
    const scan = node('Scan', ['x'], ['s'], [{ name: 'bodies', type: 'GRAPHS', graphs: [subgraph([]), subgraph([external('listed')])] }]);
    assert.deepEqual(findExternalTensors(reshapeModel({ nodes: [scan] })), [{ name: 'listed', path: 'graph.node.attribute.graphs.initializer' }]);
  });

  it('finds an external tensor in an earlier copy of the graph field, which protobuf merges into one graph', () => {
    // Two serialized ModelProtos concatenated parse as one whose repeated fields are joined: a
    // decoder that keeps only the last `graph` would miss the first one's initializer.
    const first = reshapeModel({ initializer: [external('hidden')] });
    const second = reshapeModel();
    const merged = new Uint8Array(first.length + second.length);
    merged.set(first, 0);
    merged.set(second, first.length);
    assert.deepEqual(findExternalTensors(merged), [{ name: 'hidden', path: 'graph.initializer' }]);
  });

  it('refuses bytes that are not a protobuf and messages nested past protobuf\'s own limit', () => {
    assert.throws(() => findExternalTensors(new TextEncoder().encode('this is not an onnx model at all')), OnnxWireError);
    // protobufjs refuses to encode this deep, so the nesting is written field by field:
    // GraphProto.node (1) → NodeProto.attribute (5) → AttributeProto.g (6) → GraphProto …
    const wrap = (field: number, inner: Uint8Array) => protobuf.Writer.create().uint32((field << 3) | 2).bytes(inner).finish();
    let graph: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 40; i++) graph = wrap(1, wrap(5, wrap(6, graph)));
    const deep = wrap(7, graph); // ModelProto.graph (7)
    assert.throws(() => findExternalTensors(deep), /nested more than 100 deep/);
  });
});
