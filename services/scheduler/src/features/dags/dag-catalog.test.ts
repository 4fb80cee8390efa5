import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineDag } from '@contender/pipeline';
import { ValidationError } from '@contender/platform';
import { DagCatalog } from './dag-catalog.js';

const dag = defineDag({
  id: 'train',
  description: 'd',
  cron: '0 3 * * *',
  params: z.object({ dataset: z.string(), trees: z.number().int().min(1).default(200) }),
  steps: [{ name: 'fit', run: async () => null }],
});

describe('DagCatalog', () => {
  it('applies the defaults of the params schema', () => {
    assert.deepEqual(new DagCatalog([dag]).parseParams(dag, { dataset: 'd@1' }), { dataset: 'd@1', trees: 200 });
  });

  it('names every bad field as params.<field>', () => {
    assert.throws(
      () => new DagCatalog([dag]).parseParams(dag, { trees: 0 }),
      (err: ValidationError) => {
        const paths = (err.details as Array<{ path: string }>).map((d) => d.path).sort();
        assert.deepEqual(paths, ['params.dataset', 'params.trees']);
        return true;
      },
    );
  });

  it('refuses two DAGs with one id and answers 404 for an unknown one', () => {
    assert.throws(() => new DagCatalog([dag, dag]), /two DAGs have the id "train"/);
    assert.throws(() => new DagCatalog([dag]).get('nope'), (err: { status: number; code: string }) => err.status === 404 && err.code === 'dag_not_found');
  });

  it('serves the params as JSON Schema with their defaults', () => {
    const schema = new DagCatalog([dag]).paramsJsonSchema(dag) as { properties: Record<string, { default?: unknown }>; required: string[] };
    assert.equal(schema.properties.trees!.default, 200);
    assert.deepEqual(schema.required, ['dataset']);
  });
});
