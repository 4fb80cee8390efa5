import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FeatureEncoder, UnsupportedSignatureError, describeProblems, type InputTensorSpec } from './feature-encoder.js';

const matrix = (type = 'float32', width: number | string = ''): InputTensorSpec[] => [{ name: 'input', type, shape: ['', width] }];

describe('FeatureEncoder', () => {
  it('builds one [N, F] tensor in featureNames order, whatever the order of the request', () => {
    const enc = FeatureEncoder.forSignature(['a', 'b', 'c'], matrix('float32', 3));
    const r = enc.encode([
      { c: 3, a: 1, b: 2 },
      { b: 5, c: 6, a: 4, extra: 'ignored' },
    ]);
    assert.ok(r.ok);
    assert.deepEqual(r.inputs[0]!.dims, [2, 3]);
    assert.deepEqual(Array.from(r.inputs[0]!.data as Float32Array), [1, 2, 3, 4, 5, 6]);
  });

  it('turns null into NaN for float inputs', () => {
    const r = FeatureEncoder.forSignature(['a', 'b'], matrix('float64')).encode([{ a: null, b: 1.5 }]);
    assert.ok(r.ok);
    const data = r.inputs[0]!.data as Float64Array;
    assert.ok(Number.isNaN(data[0]));
    assert.equal(data[1], 1.5);
  });

  it('names every missing feature and every ill-typed one, per row', () => {
    const r = FeatureEncoder.forSignature(['a', 'b', 'c', 'd'], matrix()).encode([{ a: 1, b: 2, c: 3, d: 4 }, { b: 'x', d: 1 }]);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.problems, [{ row: 1, missing: ['a', 'c'], invalid: [{ feature: 'b', reason: 'expected a number for float32 input, got a string' }] }]);
    assert.equal(
      describeProblems(r.problems, true),
      'rows[1]: missing features: a, c; invalid features: b (expected a number for float32 input, got a string)',
    );
  });

  it('does not mistake inherited properties for features', () => {
    const r = FeatureEncoder.forSignature(['constructor', 'toString'], matrix()).encode([JSON.parse('{}') as Record<string, number>]);
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(r.problems[0]!.missing, ['constructor', 'toString']);
  });

  it('feeds models with one input per feature, numeric and string, as [N, 1] tensors', () => {
    const enc = FeatureEncoder.forSignature(
      ['age', 'city', 'visits'],
      [
        { name: 'age', type: 'float32', shape: ['', 1] },
        { name: 'city', type: 'string', shape: ['', 1] },
        { name: 'visits', type: 'int64', shape: ['', 1] },
      ],
    );
    assert.deepEqual(enc.required, ['age', 'city', 'visits']);
    const r = enc.encode([
      { age: 31, city: 'Taipei', visits: 4 },
      { age: null, city: '', visits: 0 },
    ]);
    assert.ok(r.ok);
    assert.deepEqual(r.inputs.map((i) => [i.name, i.type, i.dims]), [
      ['age', 'float32', [2, 1]],
      ['city', 'string', [2, 1]],
      ['visits', 'int64', [2, 1]],
    ]);
    assert.deepEqual(r.inputs[1]!.data, ['Taipei', '']);
    assert.deepEqual(Array.from(r.inputs[2]!.data as BigInt64Array), [4n, 0n]);
  });

  it('refuses values a typed input cannot take, saying why', () => {
    const enc = FeatureEncoder.forSignature(
      ['n', 's', 'i'],
      [
        { name: 'n', type: 'int32', shape: ['', 1] },
        { name: 's', type: 'string', shape: ['', 1] },
        { name: 'i', type: 'int64', shape: [''] },
      ],
    );
    const r = enc.encode([{ n: 1.5, s: 3, i: null }]);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.problems[0]!.invalid, [
      { feature: 'n', reason: 'expected an integer for int32 input, got 1.5' },
      { feature: 's', reason: 'expected a string for string input, got a number' },
      { feature: 'i', reason: 'null (missing) is not accepted by an int64 input' },
    ]);
  });

  it('refuses numbers outside the input type\'s range, naming the feature and the limit', () => {
    const reasons = (type: string, value: number) => {
      const r = FeatureEncoder.forSignature(['x'], matrix(type)).encode([{ x: value }]);
      return r.ok ? null : r.problems[0]!.invalid.map((i) => `${i.feature}: ${i.reason}`).join('; ');
    };
    // JSON.parse('1e400') is Infinity; 1e308 is a finite float64 but Infinity as a float32.
    assert.match(reasons('float32', JSON.parse('1e400') as number)!, /^x: not a finite number/);
    assert.match(reasons('float64', JSON.parse('-1e400') as number)!, /^x: not a finite number/);
    assert.match(reasons('float32', 1e308)!, /^x: 1e\+308 is out of range for float32 input \(at most ±3\.4028234663852886e\+38/);
    assert.match(reasons('float32', -3.5e38)!, /out of range for float32/);
    assert.equal(reasons('float32', 3.4028234663852886e38), null);
    assert.equal(reasons('float64', 1e308), null);
    assert.match(reasons('int32', 2147483648)!, /^x: 2147483648 is out of range for int32 input \(-2147483648 to 2147483647\)/);
    assert.match(reasons('int32', 1e20)!, /out of range for int32/);
    assert.equal(reasons('int32', -2147483648), null);
    // 9007199254740993 parses to 9007199254740992: refused rather than scored as another number.
    assert.match(reasons('int64', JSON.parse('9007199254740993') as number)!, /^x: 9007199254740992 is out of range for int64 input: integers beyond ±9007199254740991/);
    assert.equal(reasons('int64', Number.MAX_SAFE_INTEGER), null);
    assert.equal(reasons('int64', -Number.MAX_SAFE_INTEGER), null);
    assert.match(reasons('int64', JSON.parse('1e400') as number)!, /not a finite number/);
    assert.match(reasons('int64', 2.5)!, /expected an integer for int64 input, got 2.5/);
  });

  it('needs featureNames for a single-matrix model and refuses a width that does not match', () => {
    assert.throws(() => FeatureEncoder.forSignature([], matrix()), UnsupportedSignatureError);
    assert.throws(() => FeatureEncoder.forSignature(['a', 'b'], matrix('float32', 3)), /takes 3 features but the version lists 2/);
    assert.throws(() => FeatureEncoder.forSignature(['a'], [{ name: 'input', type: 'bool', shape: ['', 1] }]), /element type bool/);
    assert.throws(
      () =>
        FeatureEncoder.forSignature(['a'], [
          { name: 'a', type: 'float32', shape: ['', 1] },
          { name: 'b', type: 'float32', shape: ['', 1] },
        ]),
      /input "b" is not one of the version's featureNames/,
    );
  });

  it('builds a warm-up row of zeros and empty strings that encodes', () => {
    const enc = FeatureEncoder.forSignature(
      ['x', 'y'],
      [
        { name: 'x', type: 'float32', shape: ['', 1] },
        { name: 'y', type: 'string', shape: ['', 1] },
      ],
    );
    assert.deepEqual(enc.warmUpRow(), { x: 0, y: '' });
    assert.ok(enc.encode([enc.warmUpRow()]).ok);
  });
});
