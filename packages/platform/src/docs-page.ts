import { createHash } from 'node:crypto';

/** The page's one inline stylesheet; its hash is what the Content-Security-Policy allows. */
const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
section{border-top:1px solid #ddd;padding:.4em 0}h3{margin:.4em 0;font-size:1.05em}
.m{display:inline-block;min-width:4.5em;font-family:monospace}.get{color:#0a6}.post{color:#06c}.put{color:#a60}.delete{color:#c22}
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:13px}`;

/** `'sha256-…'` of the inline stylesheet, for the page's `style-src`. */
export const DOCS_PAGE_STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'`;

/**
 * A self-contained, human-readable page for an OpenAPI document: no script, no stylesheet from
 * elsewhere, so it works on a machine without internet access, and under a policy that allows
 * nothing but its own inline style (see DOCS_PAGE_STYLE_HASH).
 */
export function renderDocsPage(doc: object): string {
  const d = doc as {
    info?: { title?: string; version?: string; description?: string };
    paths?: Record<string, Record<string, { summary?: string; description?: string; requestBody?: unknown; responses?: unknown; security?: unknown }>>;
  };
  const esc = (s: unknown) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const ops: string[] = [];
  for (const [p, methods] of Object.entries(d.paths ?? {})) {
    for (const [method, op] of Object.entries(methods)) {
      const body = op.requestBody ? `<details><summary>request body</summary><pre>${esc(JSON.stringify(op.requestBody, null, 2))}</pre></details>` : '';
      const resp = op.responses ? `<details><summary>responses</summary><pre>${esc(JSON.stringify(op.responses, null, 2))}</pre></details>` : '';
      ops.push(
        `<section><h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(p)}</code></h3>` +
          `<p>${esc(op.summary ?? '')}</p>${op.description ? `<p>${esc(op.description)}</p>` : ''}${body}${resp}</section>`,
      );
    }
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(d.info?.title ?? 'API')}</title>
<style>${STYLE}</style></head>
<body><h1>${esc(d.info?.title ?? 'API')} <small>${esc(d.info?.version ?? '')}</small></h1>
<p>${esc(d.info?.description ?? '')}</p><p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p>
${ops.join('\n')}</body></html>`;
}
