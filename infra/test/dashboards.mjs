// The Grafana dashboards as data: their panels, the PromQL of every target with the template
// variables expanded as "All" would, for the structure test and the Prometheus scenario test.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './fresh-clone.mjs';

export const DASHBOARD_DIR = path.join(repoRoot, 'grafana/dashboards');
export const PROVISIONED_DATASOURCE_UID = 'prometheus';

export function loadDashboards() {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(path.join(DASHBOARD_DIR, file), 'utf8')) }));
}

/** Every panel, rows' nested panels included. */
export function panelsOf(dashboard) {
  const out = [];
  const walk = (ps) => {
    for (const p of ps ?? []) {
      out.push(p);
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** Grafana's built-in variables, as a dashboard at a 1 h range with a 15 s scrape would set them. */
const BUILTIN = { __rate_interval: '1m', __interval: '15s', __range: '1h', __range_s: '3600', __interval_ms: '15000' };

/** `$model`, `${model}` and `[[model]]` replaced: custom/query variables match everything, like "All". */
export function expand(expr, dashboard) {
  const vars = Object.fromEntries((dashboard.templating?.list ?? []).map((v) => [v.name, v.type === 'datasource' ? PROVISIONED_DATASOURCE_UID : (v.allValue ?? '.*')]));
  const value = (name) => BUILTIN[name] ?? vars[name];
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (m, a, b, c) => value(a ?? b ?? c) ?? m);
}

/** Names of the variables a string refers to ($x, ${x}, [[x]]), built-ins left out. */
export function variablesIn(text) {
  const names = new Set();
  for (const m of String(text).matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g)) {
    const n = m[1] ?? m[2] ?? m[3];
    if (!n.startsWith('__')) names.add(n);
  }
  return names;
}

/** [{ dashboard, panelId, title, refId, expr, expanded }] for every Prometheus target with an expr. */
export function panelExpressions() {
  const out = [];
  for (const { file, json } of loadDashboards()) {
    for (const p of panelsOf(json)) {
      for (const t of p.targets ?? []) {
        if (!t.expr) continue;
        out.push({ dashboard: file, panelId: p.id, title: p.title, refId: t.refId, expr: t.expr, expanded: expand(t.expr, json) });
      }
    }
  }
  return out;
}
