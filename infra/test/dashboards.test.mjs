// The dashboards' structure: what Grafana needs to draw them from the provisioned Prometheus.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PROVISIONED_DATASOURCE_UID, loadDashboards, panelsOf, variablesIn } from './dashboards.mjs';
import { repoRoot } from './fresh-clone.mjs';

const provisioned = readFileSync(path.join(repoRoot, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8');

describe('Grafana dashboards', () => {
  it('the provisioned datasource has the uid the dashboards select', () => {
    assert.match(provisioned, new RegExp(`uid: ${PROVISIONED_DATASOURCE_UID}\\b`));
  });

  for (const { file, json } of loadDashboards()) {
    describe(file, () => {
      const panels = panelsOf(json);
      const vars = json.templating?.list ?? [];

      it('has a uid, a title and unique panel ids', () => {
        assert.ok(json.uid && json.title);
        const ids = panels.map((p) => p.id);
        assert.ok(ids.every((id) => Number.isInteger(id)), 'every panel has a numeric id');
        assert.equal(new Set(ids).size, ids.length, `duplicate panel ids: ${ids.filter((id, i) => ids.indexOf(id) !== i)}`);
      });

      it('selects the provisioned Prometheus everywhere, directly or through its datasource variable', () => {
        const dsVar = vars.find((v) => v.type === 'datasource');
        if (dsVar) assert.equal(dsVar.query, 'prometheus', 'the datasource variable lists Prometheus datasources');
        const refs = [
          ...panels.flatMap((p) => [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)]),
          ...vars.filter((v) => v.type === 'query').map((v) => v.datasource),
        ].filter(Boolean);
        for (const ref of refs) {
          const uid = typeof ref === 'string' ? ref : ref.uid;
          const ok = uid === PROVISIONED_DATASOURCE_UID || (dsVar && (uid === `\${${dsVar.name}}` || uid === `$${dsVar.name}`));
          assert.ok(ok, `datasource ${JSON.stringify(ref)} is neither the provisioned uid nor the datasource variable`);
        }
      });

      it('defines every variable it uses and uses every variable it defines', () => {
        const defined = new Set(vars.map((v) => v.name));
        const texts = [
          ...panels.flatMap((p) => [p.title, JSON.stringify(p.datasource ?? ''), ...(p.targets ?? []).flatMap((t) => [t.expr ?? '', t.legendFormat ?? '', JSON.stringify(t.datasource ?? '')])]),
          ...vars.flatMap((v) => [v.query?.query ?? v.query ?? '', v.definition ?? '', JSON.stringify(v.datasource ?? '')]),
        ];
        const used = new Set(texts.flatMap((t) => [...variablesIn(t)]));
        assert.deepEqual([...used].filter((n) => !defined.has(n)), [], 'used but not defined');
        assert.deepEqual([...defined].filter((n) => !used.has(n)), [], 'defined but never used');
      });

      it('gives every graph panel at least one target with an expression', () => {
        for (const p of panels.filter((x) => x.type !== 'row' && x.type !== 'text')) {
          assert.ok((p.targets ?? []).some((t) => t.expr), `panel ${p.id} "${p.title}" has no expression`);
        }
      });
    });
  }
});
