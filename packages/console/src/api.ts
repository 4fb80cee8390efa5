import type { AuditEvent, IntrospectResponse, Model, ModelVersion, Role } from '@contender/contracts';
import type { DriftReport, EvaluationReport, Report, Run, RunSummary, DagInfo, Schedule } from './scheduler-types.js';

/**
 * The API key lives in sessionStorage only: it is sent in the Authorization header, never put in a
 * URL (nothing here builds a query string from it) and never logged. Closing the tab forgets it.
 */
const SESSION = 'contender.session';

export interface Session {
  key: string;
  name: string;
  role: Role;
}

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(SESSION);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}
export function saveSession(s: Session): void {
  sessionStorage.setItem(SESSION, JSON.stringify(s));
}
export function clearSession(): void {
  sessionStorage.removeItem(SESSION);
}

const WRITERS: readonly Role[] = ['data-scientist', 'admin'];
/** Whether the role may register, move aliases, set traffic, promote, roll back, trigger and cancel runs. */
export const canWrite = (role: Role): boolean => WRITERS.includes(role);

/** A refusal from a service, with its `{ error: { code, message, details, requestId } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

async function callApi<T>(key: string | null, method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network_error', 'the server did not answer', null);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; requestId?: string; details?: unknown } } | null)?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `${res.status} ${res.statusText}`, e?.requestId ?? res.headers.get('x-request-id'), e?.details ?? null);
  }
  return json as T;
}

const R = '/api/v1';
/** The scheduler, reached through the registry's same-origin pass-through (see the README). */
const S = '/console/scheduler/api/v1';
const seg = encodeURIComponent;

export async function introspect(key: string): Promise<IntrospectResponse> {
  return callApi<IntrospectResponse>(null, 'POST', `${R}/auth/introspect`, { key });
}

export function registry(key: string) {
  return {
    async models(): Promise<Model[]> {
      const out: Model[] = [];
      let after: string | null = null;
      for (;;) {
        const page: { items: Model[]; nextCursor: string | null } = await callApi(key, 'GET', `${R}/models?limit=200${after ? `&after=${seg(after)}` : ''}`);
        out.push(...page.items);
        if (!page.nextCursor || page.items.length === 0) return out;
        after = page.nextCursor;
      }
    },
    model: (name: string) => callApi<Model>(key, 'GET', `${R}/models/${seg(name)}`),
    async versions(name: string): Promise<ModelVersion[]> {
      const out: ModelVersion[] = [];
      let before: number | null = null;
      for (;;) {
        const page: { items: ModelVersion[]; nextCursor: number | null } = await callApi(key, 'GET', `${R}/models/${seg(name)}/versions?limit=200${before ? `&before=${before}` : ''}`);
        out.push(...page.items);
        if (page.nextCursor === null || page.items.length === 0) return out;
        before = page.nextCursor;
      }
    },
    async events(name: string): Promise<AuditEvent[]> {
      const out: AuditEvent[] = [];
      let after = 0;
      for (;;) {
        const page: { items: AuditEvent[]; nextCursor: number | null } = await callApi(key, 'GET', `${R}/models/${seg(name)}/events?limit=200&after=${after}`);
        out.push(...page.items);
        if (page.nextCursor === null || page.items.length === 0) return out;
        after = page.nextCursor;
      }
    },
    setAlias: (name: string, alias: string, version: number, reason: string) =>
      callApi<Model>(key, 'PUT', `${R}/models/${seg(name)}/aliases/${seg(alias)}`, { version, reason }),
    deleteAlias: (name: string, alias: string, reason: string) =>
      callApi<Model>(key, 'DELETE', `${R}/models/${seg(name)}/aliases/${seg(alias)}?reason=${seg(reason)}`),
    setTraffic: (name: string, challengerPercent: number, mode: 'split' | 'shadow', reason: string) =>
      callApi<Model>(key, 'PUT', `${R}/models/${seg(name)}/traffic`, { challengerPercent, mode, reason }),
    promote: (name: string, reason: string, force: boolean) => callApi<Model>(key, 'POST', `${R}/models/${seg(name)}/promote`, { reason, force }),
    rollback: (name: string, reason: string) => callApi<Model>(key, 'POST', `${R}/models/${seg(name)}/rollback`, { reason }),
  };
}
export type RegistryApi = ReturnType<typeof registry>;

export interface SchedulerStatus {
  reachable: boolean;
  url: string;
}
/** Asked before any scheduler call, so an absent scheduler is a state of the page, not a stream of failed requests. */
export const schedulerStatus = (key: string) => callApi<SchedulerStatus>(key, 'GET', '/console/scheduler-status');

/** A report endpoint answers one report, a list, or `{ items }`; each item may wrap the report. */
function reports<T>(raw: unknown): Report<T>[] {
  const list: unknown[] = Array.isArray(raw) ? raw : raw && typeof raw === 'object' && Array.isArray((raw as { items?: unknown }).items) ? (raw as { items: unknown[] }).items : raw ? [raw] : [];
  const out = list.map((item) => {
    const o = item as Record<string, unknown>;
    const report = (o.report && typeof o.report === 'object' ? o.report : o) as T;
    const window = (report as { window?: { to?: string } }).window;
    const at = (o.createdAt ?? o.at ?? o.computedAt ?? window?.to ?? null) as string | null;
    return { at, runId: (o.runId as string | undefined) ?? null, report };
  });
  // Oldest first, whatever order the scheduler answers in: charts read left to right, the last is the latest.
  return out.every((r) => r.at) ? out.sort((a, b) => Date.parse(a.at!) - Date.parse(b.at!)) : out;
}

/**
 * `onUnreachable` is told when the pass-through answers that the scheduler did not answer (502,
 * 504) so that the page shows the "not reachable" state instead of one error per panel.
 */
/** A 404 for a model's reports (not for a missing route) means no report has been made yet. */
async function noneYet(p: Promise<unknown>): Promise<unknown> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && err.code !== 'route_not_found') return null;
    throw err;
  }
}

export function scheduler(key: string, onUnreachable: () => void = () => {}) {
  const call = async <T>(k: string, method: string, url: string, body?: unknown): Promise<T> => {
    try {
      return await callApi<T>(k, method, url, body);
    } catch (err) {
      if (err instanceof ApiError && (err.code === 'scheduler_unreachable' || err.code === 'scheduler_timeout' || err.status === 0)) onUnreachable();
      throw err;
    }
  };
  return {
    runs: (q: { model?: string; dag?: string; status?: string; limit?: number }) => {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') qs.set(k, String(v));
      return call<{ items: RunSummary[]; nextCursor: string | null }>(key, 'GET', `${S}/runs?${qs.toString()}`);
    },
    run: (id: string) => call<Run>(key, 'GET', `${S}/runs/${seg(id)}`),
    cancel: (id: string) => call<unknown>(key, 'POST', `${S}/runs/${seg(id)}/cancel`, {}),
    trigger: (dag: string, model: string, params?: Record<string, unknown>) =>
      call<{ runId: string }>(key, 'POST', `${S}/dags/${seg(dag)}/runs`, params ? { model, params } : { model }),
    dags: () => call<{ items: DagInfo[] }>(key, 'GET', `${S}/dags`),
    schedules: (model: string) => call<{ items: Schedule[] }>(key, 'GET', `${S}/schedules?model=${seg(model)}`),
    evaluation: async (model: string, history: number) => reports<EvaluationReport>(await noneYet(call(key, 'GET', `${S}/models/${seg(model)}/evaluation?history=${history}`))),
    drift: async (model: string, history: number) => reports<DriftReport>(await noneYet(call(key, 'GET', `${S}/models/${seg(model)}/drift?history=${history}`))),
  };
}
export type SchedulerApi = ReturnType<typeof scheduler>;
