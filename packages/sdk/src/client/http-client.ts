import { ContenderApiError } from './errors.js';

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8081 (no /api/v1) */
  baseUrl: string;
  apiKey?: string;
  /** per request, unless the call passes its own signal (default 30 s) */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  /** a raw body (multipart, a stream) with its own content-type in headers */
  body?: RequestInit['body'];
  headers?: Record<string, string>;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** The shared transport of the SDK's clients: auth header, JSON in and out, errors as ContenderApiError. */
export class HttpClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = opts.fetch ?? fetch;
  }

  url(path: string, query?: RequestOptions['query']): string {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** The raw response for a 2xx (streams, downloads); throws ContenderApiError otherwise. */
  async raw(method: string, path: string, o: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...o.headers };
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    if (o.idempotencyKey) headers['idempotency-key'] = o.idempotencyKey;
    let body = o.body;
    if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    }
    const signal = o.signal ?? AbortSignal.timeout(this.opts.timeoutMs ?? 30_000);
    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path, o.query), { method, headers, body: body ?? null, signal, duplex: 'half' } as RequestInit);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new ContenderApiError(0, 'unreachable', `${method} ${this.baseUrl}${path}: ${(err as Error).message}`, null, null);
    }
    if (!res.ok) throw await toApiError(res);
    return res;
  }

  /** JSON in, JSON out (204 → undefined). */
  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, o);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

async function toApiError(res: Response): Promise<ContenderApiError> {
  const text = await res.text().catch(() => '');
  try {
    const e = (JSON.parse(text) as { error?: { code?: string; message?: string; details?: unknown; requestId?: string } }).error;
    if (e?.code) return new ContenderApiError(res.status, e.code, e.message ?? e.code, e.details ?? null, e.requestId ?? res.headers.get('x-request-id'));
  } catch {
    /* not JSON */
  }
  return new ContenderApiError(res.status, `http_${res.status}`, text.slice(0, 300) || res.statusText, null, res.headers.get('x-request-id'));
}
