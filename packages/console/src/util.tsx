import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError } from './api.js';

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `fn` when `deps` change (and on reload); a late answer for old deps is dropped. */
export function useAsync<T>(fn: () => Promise<T>, deps: readonly unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => n === seq.current && setState({ data, loading: false }),
      (error: unknown) => n === seq.current && setState({ error, loading: false }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  if (error instanceof ApiError) {
    return (
      <p className="error" role="alert">
        <b>{error.code}</b>: {error.message}
        {error.requestId ? <span className="muted"> (request {error.requestId})</span> : null}
      </p>
    );
  }
  return <p className="error" role="alert">{String(error)}</p>;
}

export const fmt = (v: number | null | undefined, digits = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));
export const fmtP = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v < 1e-4 ? v.toExponential(1) : v.toPrecision(2));
export const fmtPct = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(2)} %`);
export const fmtTime = (iso: string | null | undefined): string => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) + 'Z' : '—');
export const fmtInterval = (i: [number, number] | null | undefined, digits = 3): string => (i ? `${i[0].toFixed(digits)} … ${i[1].toFixed(digits)}` : '—');

export function Card({ title, children, actions, testId }: { title: string; children: ReactNode; actions?: ReactNode; testId?: string }) {
  return (
    <section className="card" data-testid={testId}>
      <header>
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function Badge({ kind, children }: { kind: string; children: ReactNode }) {
  return <span className={`badge ${kind}`}>{children}</span>;
}

/** Renders an unknown JSON value (a step's error or output) readably. */
export function Json({ value }: { value: unknown }) {
  if (value === undefined || value === null) return <span className="muted">—</span>;
  if (typeof value === 'string') return <span>{value}</span>;
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}
