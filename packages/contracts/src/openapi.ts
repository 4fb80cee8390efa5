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
  /** For bodies that are not JSON (multipart uploads): a ready OpenAPI requestBody. */
  rawBody?: object;
  query?: z.ZodObject;
  /** Takes an `Idempotency-Key` header (creating POSTs). */
  idempotent?: boolean;
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
}

const toSchema = (s: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(s, { target: 'openapi-3.0', io, unrepresentable: 'any' }) as Record<string, unknown>;

/** An OpenAPI 3.0 document built from the same zod schemas the services validate with. */
export function buildOpenApi(info: { title: string; version: string; description: string }, routes: RouteSpec[]): object {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorSchema = toSchema(ErrorResponse, 'output');
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
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
    responses.default = { description: 'error', content: { 'application/json': { schema: errorSchema } } };
    (paths[r.path] ??= {})[r.method] = {
      summary: r.summary,
      ...(r.description || r.role ? { description: [r.description, r.role ? `Requires role \`${r.role}\` or above.` : ''].filter(Boolean).join(' ') } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(r.body, 'input') } } } } : {}),
      ...(r.rawBody ? { requestBody: r.rawBody } : {}),
      ...(r.role ? { security: [{ bearer: [] }] } : {}),
      responses,
    };
  }
  return {
    openapi: '3.0.3',
    info,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key' } } },
    paths,
  };
}
