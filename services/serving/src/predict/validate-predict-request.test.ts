import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PredictRequest } from '@contender/contracts';
import { UnprocessableError, ValidationError } from '@contender/platform';
import { isPredictRequest, validatePredictRequest } from './validate-predict-request.js';

/** Small random JSON values around the shape of a predict request, for comparing with the schema. */
function randomBody(random: () => number): unknown {
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
  // Mostly valid parts, so that both answers occur often.
  const value = (): unknown => (random() < 0.85 ? pick([1, -2.5, 0, '', 'a', null]) : pick(['x'.repeat(4097), true, [], {}]));
  const body: Record<string, unknown> = {};
  if (random() < 0.95) body.model = random() < 0.85 ? 'credit' : pick(['', 'm'.repeat(64), 7, null]);
  if (random() < 0.5) body.entityId = random() < 0.85 ? 'c-1' : pick(['', 'e'.repeat(257), 3, null, 'a\u0000b', 'tab\t', 'del\u007f', '\u0080ok']);
  if (random() < 0.7) {
    const features: Record<string, unknown> = {};
    const n = Math.floor(random() * 4);
    for (let i = 0; i < n; i++) features[random() < 0.9 ? pick(['a', 'b', 'c']) : pick(['', 'k'.repeat(257)])] = value();
    body.features = random() < 0.9 ? features : pick([[], 'f', null]);
  }
  if (random() < 0.3) body.variant = pick(['champion', 'challenger', 'champion', 'shadow', 1]);
  if (random() < 0.05) body.extra = 1;
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return random() < 0.05 ? pick([null, [], 'text', 5]) : body;
}

describe('validatePredictRequest', () => {
  it('accepts exactly what the PredictRequest schema accepts', () => {
    let seed = 42;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const body = JSON.parse(JSON.stringify(randomBody(random)) ?? 'null') as unknown;
      const schema = PredictRequest.safeParse(body).success;
      assert.equal(isPredictRequest(body), schema, `disagrees on ${JSON.stringify(body)}`);
      if (schema) accepted++;
    }
    assert.ok(accepted > 5_000 && accepted < 15_000, `only ${accepted} valid bodies generated`);
  });

  it('returns a valid body as it is', () => {
    const body = { model: 'credit', entityId: 'c-1', features: { a: 1, b: 'x', c: null }, variant: 'challenger' };
    assert.equal(validatePredictRequest(body), body);
  });

  it('throws a validation error that names each bad field', () => {
    assert.throws(
      () => validatePredictRequest({ model: '', features: { a: [1] }, colour: 'red' }),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.match(err.message, /model:/);
        assert.match(err.message, /features\.a:/);
        assert.match(err.message, /colour/);
        return true;
      },
    );
    assert.throws(() => validatePredictRequest({ model: 'credit' }), /features: features are required when there is no entityId/);
    assert.throws(() => validatePredictRequest(undefined), /\(body\)/);
  });

  it('answers 422 invalid_features naming each feature JSON.parse made infinite, and 400 when the body has other problems too', () => {
    const body = JSON.parse('{"model":"credit","features":{"a":1e400,"b":-1e400,"c":1}}') as unknown;
    assert.equal(isPredictRequest(body), false);
    assert.throws(
      () => validatePredictRequest(body),
      (err: unknown) => {
        assert.ok(err instanceof UnprocessableError);
        assert.equal(err.code, 'invalid_features');
        assert.match(err.message, /invalid features: a \(not a finite number.*\), b \(not a finite number/);
        assert.deepEqual((err.details as { invalid: Array<{ feature: string }> }).invalid.map((i) => i.feature), ['a', 'b']);
        return true;
      },
    );
    const mixed = JSON.parse('{"model":"","features":{"a":1e400}}') as unknown;
    assert.throws(() => validatePredictRequest(mixed), (err: unknown) => err instanceof ValidationError && /model:/.test(err.message) && /features\.a:/.test(err.message));
  });

  it('refuses an entityId with a control character, naming the field', () => {
    assert.throws(() => validatePredictRequest({ model: 'credit', entityId: 'a\u0000b', features: {} }), /entityId: must not contain control characters/);
  });
});
