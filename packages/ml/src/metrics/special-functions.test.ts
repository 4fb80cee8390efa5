import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chiSquareSurvival,
  kolmogorovSurvival,
  lnGamma,
  normalCdf,
  normalQuantile,
  regularizedGammaP,
  regularizedGammaQ,
} from './special-functions.js';

const relativelyClose = (actual: number, expected: number, tolerance: number): void => {
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.abs(expected), `expected ${expected}, got ${actual}`);
};

describe('special functions', () => {
  it('lnGamma matches factorials and Γ(½) = √π', () => {
    relativelyClose(lnGamma(10), Math.log(362880), 1e-14);
    relativelyClose(lnGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-14);
    relativelyClose(lnGamma(1e-3), Math.log(999.4237724845955), 1e-12);
  });

  it('normalCdf matches tabulated values in the centre and far in the tails', () => {
    relativelyClose(normalCdf(-1.96), 0.024997895148220435, 1e-13);
    relativelyClose(normalCdf(-1), 0.15865525393145707, 1e-13);
    relativelyClose(normalCdf(2), 0.9772498680518208, 1e-15);
    relativelyClose(normalCdf(-10), 7.619853024160527e-24, 1e-10);
    assert.equal(normalCdf(0), 0.5);
  });

  it('normalQuantile inverts normalCdf to full precision', () => {
    relativelyClose(normalQuantile(0.975), 1.959963984540054, 1e-14);
    relativelyClose(normalQuantile(1e-10), -6.361340902404056, 1e-12);
    for (const p of [0.001, 0.02, 0.3, 0.5001, 0.9, 0.99999]) relativelyClose(normalCdf(normalQuantile(p)), p, 1e-13);
  });

  it('regularised gamma functions are complementary and match the exponential case P(1, x) = 1 − e^(−x)', () => {
    relativelyClose(regularizedGammaP(1, 2), 1 - Math.exp(-2), 1e-14);
    relativelyClose(regularizedGammaQ(1, 30), Math.exp(-30), 1e-12);
    for (const [a, x] of [[0.5, 0.3], [3, 1], [3, 10], [20, 25]] as const) {
      relativelyClose(regularizedGammaP(a, x) + regularizedGammaQ(a, x), 1, 1e-14);
    }
  });

  it('chiSquareSurvival matches the closed forms for even degrees of freedom', () => {
    // dof 2: e^(−x/2); dof 4: e^(−x/2)(1 + x/2)
    relativelyClose(chiSquareSurvival(7.3, 2), Math.exp(-3.65), 1e-13);
    relativelyClose(chiSquareSurvival(10, 4), Math.exp(-5) * 6, 1e-13);
    relativelyClose(chiSquareSurvival(3.841458820694124, 1), 0.05, 1e-12);
  });

  it('kolmogorovSurvival matches the classic critical values and is continuous where the series switch', () => {
    relativelyClose(kolmogorovSurvival(1.3581), 0.05, 1e-4);
    relativelyClose(kolmogorovSurvival(1.6276), 0.01, 1e-3);
    // Below λ = 1 the implementation uses the theta-function series; check it against the alternating one.
    const alternating = (l: number): number => 2 * Array.from({ length: 100 }, (_, k) => (k % 2 === 0 ? 1 : -1) * Math.exp(-2 * (k + 1) ** 2 * l * l)).reduce((a, b) => a + b, 0);
    relativelyClose(kolmogorovSurvival(0.5), alternating(0.5), 1e-12);
    relativelyClose(kolmogorovSurvival(0.8), alternating(0.8), 1e-12);
    relativelyClose(kolmogorovSurvival(1 - 1e-9), kolmogorovSurvival(1 + 1e-9), 1e-7);
    assert.equal(kolmogorovSurvival(0), 1);
  });
});
