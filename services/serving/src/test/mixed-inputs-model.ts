import { encodeOnnxModel, type OnnxObject } from '@contender/ml';

const FLOAT = 1;
const INT64 = 7;
const STRING = 8;
const utf8 = new TextEncoder();

const info = (name: string, elemType: number, dims: Array<number | string>): OnnxObject => ({
  name,
  type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
});
const node = (op: string, inputs: string[], outputs: string[], attribute: OnnxObject[], domain = ''): OnnxObject => ({
  op_type: op,
  domain,
  name: `${op}_${outputs[0]}`,
  input: inputs,
  output: outputs,
  attribute,
});

/** The city codes and coefficients of `mixedInputsModel`, for computing its expected score. */
export const MIXED = {
  features: ['age', 'city', 'visits'],
  cities: { taipei: 1, tainan: 2 } as Record<string, number>,
  coefficients: [0.05, 0.5, -0.3],
  intercept: -1,
};

/**
 * A classifier with one input per feature, like an skl2onnx pipeline over a table with a string
 * column: `age` float [N, 1], `city` string [N, 1] (CategoryMapper → code, unknown → 0), `visits`
 * int64 [N, 1]; concatenated and fed to a logistic LinearClassifier (outputs `label`,
 * `probabilities` [N, 2]).
 */
export function mixedInputsModel(): Buffer {
  const nodes = [
    node('CategoryMapper', ['city'], ['city_code'], [
      { name: 'cats_strings', type: 'STRINGS', strings: Object.keys(MIXED.cities).map((s) => utf8.encode(s)) },
      { name: 'cats_int64s', type: 'INTS', ints: Object.values(MIXED.cities) },
      { name: 'default_int64', type: 'INT', i: 0 },
    ], 'ai.onnx.ml'),
    node('Cast', ['city_code'], ['city_f'], [{ name: 'to', type: 'INT', i: FLOAT }]),
    node('Cast', ['visits'], ['visits_f'], [{ name: 'to', type: 'INT', i: FLOAT }]),
    node('Concat', ['age', 'city_f', 'visits_f'], ['x'], [{ name: 'axis', type: 'INT', i: 1 }]),
    node('LinearClassifier', ['x'], ['label', 'probabilities'], [
      { name: 'coefficients', type: 'FLOATS', floats: MIXED.coefficients },
      { name: 'intercepts', type: 'FLOATS', floats: [MIXED.intercept] },
      { name: 'classlabels_ints', type: 'INTS', ints: [0, 1] },
      { name: 'post_transform', type: 'STRING', s: utf8.encode('LOGISTIC') },
    ], 'ai.onnx.ml'),
  ];
  return Buffer.from(
    encodeOnnxModel({
      ir_version: 8,
      producer_name: 'contender-serving-tests',
      opset_import: [
        { domain: '', version: 17 },
        { domain: 'ai.onnx.ml', version: 3 },
      ],
      graph: {
        name: 'mixed_inputs',
        node: nodes,
        input: [info('age', FLOAT, ['N', 1]), info('city', STRING, ['N', 1]), info('visits', INT64, ['N', 1])],
        output: [info('label', INT64, ['N']), info('probabilities', FLOAT, ['N', 2])],
      },
    }),
  );
}
