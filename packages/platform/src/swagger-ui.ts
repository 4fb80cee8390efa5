import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import express, { type RequestHandler, type Router } from 'express';
import helmet from 'helmet';

/**
 * /docs: Swagger UI (the `swagger-ui-dist` package, served from node_modules: no CDN, works
 * offline) rendering the service's /openapi.json. No inline script or style: the page loads the
 * bundle, the stylesheet and a small initializer file from /docs/assets, so the policy allows
 * scripts and styles from the service itself only.
 */
const require = createRequire(import.meta.url);
const DIST = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/** The files the page loads; nothing else of the package is served. */
const ASSETS: Record<string, string> = {
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/** The initializer, a file of its own (the policy allows no inline script). */
const INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
});
`;

export function swaggerUiPage(title: string): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)} — API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"><link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head><body><noscript><p>This reference needs JavaScript; <a href="/docs/static">/docs/static</a> is the same without it, and
<a href="/openapi.json">/openapi.json</a> the document itself.</p></noscript>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script><script src="/docs/assets/init.js"></script>
</body></html>`;
}

/** helmet's headers for the Swagger UI page: scripts, styles and fetches from the service itself only. */
export function swaggerUiHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        // Swagger UI's React components set style attributes (highlighting, collapsing).
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    strictTransportSecurity: false,
  });
}

/** GET /docs/assets/<file>: the few files of swagger-ui-dist the page loads, and the initializer. */
export function swaggerUiAssets(): Router {
  const r = express.Router();
  const cache = new Map<string, Buffer>();
  r.get('/docs/assets/init.js', (_req, res) => {
    res.type('application/javascript; charset=utf-8').set('Cache-Control', 'no-cache').send(INIT);
  });
  r.get('/docs/assets/:file', (req, res, next) => {
    const type = ASSETS[req.params.file!];
    if (!type) return next();
    let body = cache.get(req.params.file!);
    if (!body) {
      body = readFileSync(path.join(DIST, req.params.file!));
      cache.set(req.params.file!, body);
    }
    res.set('Content-Type', type).set('Cache-Control', 'public, max-age=3600').send(body);
  });
  return r;
}
