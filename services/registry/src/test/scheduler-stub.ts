import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the stub received, as the registry's pass-through sent it. */
export interface StubCall {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

/**
 * Answers the scheduler's contract (runs, DAGs, drift and evaluation reports) with fixed payloads,
 * so the console's scheduler pages can be driven in a browser test without pipelines running. It
 * stands in for the scheduler only; the registry and the console under test are the real ones.
 */
export async function startSchedulerStub(model: string): Promise<{ url: string; calls: StubCall[]; close(): Promise<void> }> {
  const calls: StubCall[] = [];
  const t0 = Date.parse('2026-11-01T00:00:00Z');
  const at = (h: number) => new Date(t0 + h * 3_600_000).toISOString();
  const arm = (version: number, labelled: number, auc: number) => ({
    version, predictions: labelled * 3, entities: labelled * 2, labelled, positiveRate: 0.22, auc, aucInterval: [auc - 0.03, auc + 0.03],
    logLoss: 0.45, brier: 0.14, fallbackRate: 0.001, p99LatencyMs: 4.2,
  });
  const evaluation = [0, 1, 2].map((i) => ({
    runId: String(40 + i),
    createdAt: at(i),
    report: {
      model, mode: 'split',
      experiment: { champion: 1, challenger: 2, challengerPercent: 20, startedAt: at(-1), ageDays: (i + 1) / 24 },
      arms: { champion: arm(1, 300 + 200 * i, 0.7 + 0.002 * i), challenger: arm(2, 80 + 60 * i, 0.72 + 0.003 * i) },
      comparison: {
        metric: 'auc', method: 'delong-independent', rows: 380 + 260 * i, difference: 0.02 + 0.001 * i,
        fixedHorizon: { interval: [-0.01, 0.05], pValue: 0.2, confidenceLevel: 0.95 },
        alwaysValid: { method: 'msprt-normal-mixture', interval: [-0.04 + 0.01 * i, 0.08], pValue: 0.5, alpha: 0.05, mixtureSd: 0.05 },
      },
      srm: { entities: [600, 150], expectedShare: 0.2, statistic: 0.1, pValue: 0.74, flagged: false },
      guardrails: {
        fallbackRate: { challenger: 0.001, champion: 0.001, margin: 0.01, ok: true },
        p99LatencyMs: { challenger: 4.2, champion: 4.1, margin: 25, ok: true },
      },
      verdict: 'continue',
      reasons: [`too few labels: ${80 + 60 * i} vs ${300 + 200 * i} labelled (minLabelledPerArm 300)`],
    },
  }));
  const features = ['LIMIT_BAL', 'AGE', 'PAY_0', 'BILL_AMT1', 'PAY_AMT1'];
  const drift = [0, 1, 2].map((i) => ({
    runId: String(30 + i),
    createdAt: at(i),
    report: {
      model, version: 1, referenceVersion: 1, window: { from: at(i - 24), to: at(i), hours: 24 }, rows: 5000,
      features: features.map((name, j) => ({ name, kind: 'numeric', psi: j === 0 ? 0.05 + 0.1 * i : 0.01 * (j + 1), statistic: 0.02, status: j === 0 && i === 2 ? 'drift' : 'stable' })),
      driftedFeatures: i === 2 ? ['LIMIT_BAL'] : [], warnedFeatures: [], driftedShare: i === 2 ? 0.2 : 0, drifted: i === 2,
    },
  }));
  const run = {
    id: '7', dag: 'retrain', model, trigger: 'drift', cause: 'drift report 32', scheduledFor: at(2), status: 'running', attempt: 1,
    params: { dataset: 'credit' }, createdAt: at(2), startedAt: at(2), finishedAt: null, cancelRequested: false,
    steps: [
      { name: 'load', status: 'succeeded', attempts: 1, startedAt: at(2), finishedAt: at(2), history: [] },
      { name: 'train', status: 'retrying', attempts: 2, startedAt: at(2), finishedAt: null, error: 'worker exited with code 137', history: [] },
      { name: 'evaluate', status: 'pending', attempts: 0, startedAt: null, finishedAt: null, history: [] },
    ],
  };
  const { steps: _steps, ...summary } = run;
  const body = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? JSON.parse(text) : null;
  };
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    const p = url.pathname;
    const send = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    };
    if (p === '/healthz') return send(200, { status: 'ok', service: 'scheduler' });
    calls.push({ method: req.method ?? '', path: `${p}${url.search}`, authorization: req.headers.authorization, body: await body(req) });
    if (!req.headers.authorization) return send(401, { error: { code: 'unauthorized', message: 'no key', details: null, requestId: 'stub' } });
    if (req.method === 'GET' && p === `/api/v1/models/${model}/evaluation`) return send(200, { items: evaluation.slice(-Number(url.searchParams.get('history') ?? 1)) });
    if (req.method === 'GET' && p === `/api/v1/models/${model}/drift`) return send(200, { items: drift.slice(-Number(url.searchParams.get('history') ?? 1)) });
    if (req.method === 'GET' && p === '/api/v1/runs') return send(200, { items: [summary], nextCursor: null });
    if (req.method === 'GET' && p === '/api/v1/runs/7') return send(200, run);
    if (req.method === 'POST' && p === '/api/v1/runs/7/cancel') return send(200, { ...summary, cancelRequested: true });
    if (req.method === 'GET' && p === '/api/v1/dags') return send(200, { items: [{ id: 'retrain', description: 'retrain a model', cron: '0 3 * * *', maxActiveRuns: 1, missedRuns: 'skip', steps: [], params: {} }] });
    if (req.method === 'POST' && p === '/api/v1/dags/retrain/runs') return send(202, { runId: '8' });
    return send(404, { error: { code: 'route_not_found', message: `no route for ${req.method} ${p}`, details: null, requestId: 'stub' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
