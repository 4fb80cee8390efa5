import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DatasetRefString, DatasetVersionSelector, formatDatasetRef, parseDatasetRef } from './datasets.js';

describe('dataset references', () => {
  it('reads a bare name and name@latest as the latest version', () => {
    assert.deepEqual(parseDatasetRef('taiwan'), { name: 'taiwan', version: 'latest' });
    assert.deepEqual(parseDatasetRef('taiwan@latest'), { name: 'taiwan', version: 'latest' });
  });

  it('reads name@version as that version', () => {
    assert.deepEqual(parseDatasetRef('credit.v2_x-y@12'), { name: 'credit.v2_x-y', version: 12 });
  });

  it('refuses names outside the model-name rule, bad versions and a second @', () => {
    for (const bad of ['', '@3', 'Taiwan', 'taiwan@', 'taiwan@0', 'taiwan@01', 'taiwan@-1', 'taiwan@1.5', 'taiwan@x', 'a@1@2', 'taiwan@99999999999']) {
      assert.throws(() => parseDatasetRef(bad), Error, bad);
      assert.equal(DatasetRefString.safeParse(bad).success, false, bad);
    }
  });

  it('formats a reference back to the string it was read from', () => {
    assert.equal(formatDatasetRef(parseDatasetRef('taiwan@3')), 'taiwan@3');
    assert.equal(formatDatasetRef(parseDatasetRef('taiwan@latest')), 'taiwan');
  });

  it('reads a path version as a number or latest', () => {
    assert.equal(DatasetVersionSelector.parse('7'), 7);
    assert.equal(DatasetVersionSelector.parse('latest'), 'latest');
    assert.equal(DatasetVersionSelector.safeParse('0').success, false);
    assert.equal(DatasetVersionSelector.safeParse('newest').success, false);
  });
});
