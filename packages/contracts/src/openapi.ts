import { z } from 'zod';
import { ErrorResponse, type Role } from './common.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete';

export interface RouteSpec {
  method: HttpMethod;
  /** OpenAPI path template, e.g. `/api/v1/models/{name}`. */
  path: string;
  summary: string;
  description?: string;
  /** Weakest role allowed; omitted = no key needed. */
  role?: Role;
  body?: z.ZodType;
  /** Schemas of path parameters (by name); a parameter not listed is documented as a plain string. */
  params?: Record<string, z.ZodType>;
  /** For bodies that are not JSON (multipart uploads): a ready OpenAPI requestBody. */
  rawBody?: object;
  query?: z.ZodObject;
  /** Takes an `Idempotency-Key` header (creating POSTs). */
  idempotent?: boolean;
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  /** Stable name for client generators; derived from the method and path when omitted. */
  operationId?: string;
}

/** `get /api/v1/models/{name}/versions` → `getModelsByNameVersions`: unique per method and path. */
export function deriveOperationId(method: HttpMethod, path: string): string {
  const words = path
    .replace(/^\/api\/v\d+/, '')
    .split('/')
    .filter(Boolean)
    .map((seg) => {
      const param = /^\{(\w+)\}$/.exec(seg)?.[1];
      const word = (param ? `by-${param}` : seg).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''));
      return word.charAt(0).toUpperCase() + word.slice(1);
    });
  return method + words.join('');
}

/**
 * zod writes `z.unknown().nullable()` as `{ nullable: true }` with no type, which OpenAPI 3.0 does
 * not allow (`nullable` needs a sibling `type`); a schema without a type already admits null.
 */
function normalise(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalise);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = normalise(v);
  if (out.nullable === true && !('type' in out)) delete out.nullable;
  return out;
}

const toSchema = (s: z.ZodType, io: 'input' | 'output') =>
  normalise(z.toJSONSchema(s, { target: 'openapi-3.0', io, unrepresentable: 'any' })) as Record<string, unknown>;

/** An OpenAPI 3.0 document built from the same zod schemas the services validate with. */
export function buildOpenApi(
  info: { title: string; version: string; description: string },
  routes: RouteSpec[],
  opts: { servers?: Array<{ url: string; description: string }> } = {},
): object {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorSchema = toSchema(ErrorResponse, 'output');
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => {
      const schema = r.params?.[m[1]!];
      return { name: m[1], in: 'path', required: true, schema: schema ? toSchema(schema, 'input') : { type: 'string' } };
    });
    if (r.query) {
      const q = toSchema(r.query, 'input') as { properties?: Record<string, object>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        params.push({ name, in: 'query', required: (q.required ?? []).includes(name), schema } as never);
      }
    }
    if (r.idempotent) {
      params.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description:
          'Optional, 1–255 visible ASCII characters. A repeat with the same key and the same request returns the first answer (same status and body, header Idempotent-Replayed: true); the same key with another request → 409 idempotency_key_reused. A concurrent repeat waits for the first and returns its answer. Kept at least 24 h, per API key; failures are not kept.',
        schema: { type: 'string', minLength: 1, maxLength: 255 },
      } as never);
    }
    const responses: Record<string, unknown> = {};
    for (const [status, resp] of Object.entries(r.responses)) {
      responses[status] = {
        description: resp.description,
        ...(resp.schema ? { content: { [resp.contentType ?? 'application/json']: { schema: toSchema(resp.schema, 'output') } } } : {}),
        ...(resp.contentType && !resp.schema ? { content: { [resp.contentType]: {} } } : {}),
      };
    }
    responses['4XX'] ??= { description: 'the request was refused (the code and message say why)', content: { 'application/json': { schema: errorSchema } } };
    responses.default = { description: 'error', content: { 'application/json': { schema: errorSchema } } };
    (paths[r.path] ??= {})[r.method] = {
      operationId: r.operationId ?? deriveOperationId(r.method, r.path),
      summary: r.summary,
      ...(r.description || r.role ? { description: [r.description, r.role ? `Requires role \`${r.role}\` or above.` : ''].filter(Boolean).join(' ') } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(r.body, 'input') } } } } : {}),
      ...(r.rawBody ? { requestBody: r.rawBody } : {}),
      security: r.role ? [{ bearer: [] }] : [],
      responses,
    };
  }
  return {
    openapi: '3.0.3',
    info,
    // The document is served by the service it describes, so its own origin is the server.
    servers: opts.servers ?? [{ url: '/', description: 'the service that serves this document' }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key' } } },
    paths,
  };
}
