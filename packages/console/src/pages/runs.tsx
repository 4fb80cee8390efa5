import { useState } from 'react';
import { SchedulerGate, useApp } from '../app.js';
import { ConfirmDialog, type ConfirmRequest } from '../components/confirm.js';
import type { RunStatus, RunSummary } from '../scheduler-types.js';
import { Badge, Card, ErrorNote, fmtTime, Json, useAsync } from '../util.js';

const STATUSES: RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'];
const statusKind = (s: string) => (s === 'succeeded' ? 'good' : s === 'failed' ? 'bad' : s === 'running' || s === 'queued' ? 'info' : 'warn');
const active = (s: string) => s === 'queued' || s === 'running';

export function RunsPage() {
  const [model, setModel] = useState('');
  const [dag, setDag] = useState('');
  const [status, setStatus] = useState('');
  return (
    <Card title="Runs" testId="runs">
      <SchedulerGate>
        <div className="controls">
          <label>
            model <input value={model} onChange={(e) => setModel(e.target.value)} size={14} />
          </label>
          <label>
            DAG <input value={dag} onChange={(e) => setDag(e.target.value)} size={10} />
          </label>
          <label>
            status
            <select value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
        </div>
        <RunList query={{ model: model.trim() || undefined, dag: dag.trim() || undefined, status: status || undefined }} />
        <Trigger model={model.trim()} />
      </SchedulerGate>
    </Card>
  );
}

/** The runs of one model, and a trigger form for it (on the model page). */
export function ModelRuns({ model }: { model: string }) {
  return (
    <>
      <RunList query={{ model }} />
      <Trigger model={model} fixedModel />
    </>
  );
}

function RunList({ query }: { query: { model?: string; dag?: string; status?: string } }) {
  const { scheduler } = useApp();
  const runs = useAsync(() => scheduler.runs({ ...query, limit: 50 }), [scheduler, query.model, query.dag, query.status]);
  return (
    <>
      <ErrorNote error={runs.error} />
      {runs.data && runs.data.items.length === 0 ? <p className="muted">No runs.</p> : null}
      {runs.data && runs.data.items.length > 0 ? (
        <table className="grid">
          <thead>
            <tr>
              <th>run</th>
              <th>DAG</th>
              <th>model</th>
              <th>trigger</th>
              <th>status</th>
              <th>scheduled for</th>
              <th>finished</th>
              <th>progress / reason</th>
            </tr>
          </thead>
          <tbody>
            {runs.data.items.map((r) => (
              <RunRow key={r.id} r={r} />
            ))}
          </tbody>
        </table>
      ) : null}
      <button type="button" onClick={runs.reload}>
        Refresh
      </button>
    </>
  );
}

function RunRow({ r }: { r: RunSummary }) {
  return (
    <tr data-testid="run-row">
      <td>
        <a href={`#/runs/${encodeURIComponent(r.id)}`}>{r.id}</a>
      </td>
      <td>{r.dag}</td>
      <td>{r.model}</td>
      <td>
        {r.trigger}
        {r.cause ? <div className="muted">{r.cause}</div> : null}
      </td>
      <td>
        <Badge kind={statusKind(r.status)}>{r.status}</Badge>
      </td>
      <td>{fmtTime(r.scheduledFor)}</td>
      <td>{fmtTime(r.finishedAt)}</td>
      <td>{r.progress ? `${r.progress.done.toLocaleString('en')}${r.progress.total ? ` / ${r.progress.total.toLocaleString('en')}` : ''} ${r.progress.unit ?? ''}` : (r.reason ?? '')}</td>
    </tr>
  );
}

function Trigger({ model, fixedModel = false }: { model: string; fixedModel?: boolean }) {
  const { scheduler, writer } = useApp();
  const dags = useAsync(() => scheduler.dags(), [scheduler]);
  const [dag, setDag] = useState('');
  const [target, setTarget] = useState(model);
  const [params, setParams] = useState('');
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const [started, setStarted] = useState<string | null>(null);
  if (!writer) return null;
  const m = fixedModel ? model : target.trim();
  let parsed: Record<string, unknown> | undefined;
  let paramsError: string | null = null;
  if (params.trim()) {
    try {
      const v: unknown = JSON.parse(params);
      if (!v || typeof v !== 'object' || Array.isArray(v)) paramsError = 'params must be a JSON object';
      else parsed = v as Record<string, unknown>;
    } catch (err) {
      paramsError = `params: ${(err as Error).message}`;
    }
  }
  const chosen = dag || dags.data?.items[0]?.id || '';
  return (
    <fieldset className="trigger">
      <legend>Trigger a run</legend>
      <ErrorNote error={dags.error} />
      <select aria-label="DAG" value={chosen} onChange={(e) => setDag(e.target.value)}>
        {(dags.data?.items ?? []).map((d) => (
          <option key={d.id} value={d.id} title={d.description}>
            {d.id}
          </option>
        ))}
      </select>
      {fixedModel ? null : <input aria-label="model" placeholder="model" value={target} onChange={(e) => setTarget(e.target.value)} size={14} />}
      <input aria-label="params" placeholder='params (JSON), e.g. {"dataset":"credit"}' value={params} onChange={(e) => setParams(e.target.value)} size={40} />
      <button
        type="button"
        disabled={!chosen || !m || paramsError !== null}
        onClick={() =>
          setConfirm({
            title: `Run ${chosen} for ${m}?`,
            body: <p>{parsed ? <>With params <code>{JSON.stringify(parsed)}</code> (the schedule's and the DAG's defaults fill the rest).</> : "With the schedule's params, or the DAG's defaults."}</p>,
            reasonRequired: false,
            confirmLabel: 'Trigger',
            run: async () => setStarted((await scheduler.trigger(chosen, m, parsed)).runId),
          })
        }
      >
        Trigger…
      </button>
      {paramsError ? <span className="error">{paramsError}</span> : null}
      {started ? (
        <span>
          {' '}
          started run <a href={`#/runs/${encodeURIComponent(started)}`}>{started}</a>
        </span>
      ) : null}
      {confirm ? <ConfirmDialog req={confirm} onClose={() => setConfirm(null)} /> : null}
    </fieldset>
  );
}

export function RunPage({ id }: { id: string }) {
  return (
    <>
      <p>
        <a href="#/runs">← Runs</a>
      </p>
      <SchedulerGate>
        <RunDetail id={id} />
      </SchedulerGate>
    </>
  );
}

function RunDetail({ id }: { id: string }) {
  const { scheduler, writer } = useApp();
  const run = useAsync(() => scheduler.run(id), [scheduler, id]);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const r = run.data;
  return (
    <Card
      title={`Run ${id}`}
      testId="run"
      actions={
        <span>
          <button type="button" onClick={run.reload}>
            Refresh
          </button>
          {writer && r && active(r.status) ? (
            <button
              type="button"
              data-testid="cancel-run"
              onClick={() =>
                setConfirm({
                  title: `Cancel run ${id}?`,
                  body: <p>The running step is aborted through its signal; the run ends as cancelled.</p>,
                  reasonRequired: false,
                  confirmLabel: 'Cancel run',
                  run: () => scheduler.cancel(id),
                })
              }
            >
              Cancel run…
            </button>
          ) : null}
        </span>
      }
    >
      <ErrorNote error={run.error} />
      {r ? (
        <>
          <div className="facts">
            <div>
              <span className="label">DAG</span>
              <b>{r.dag}</b>
            </div>
            <div>
              <span className="label">model</span>
              <b>
                <a href={`#/models/${encodeURIComponent(r.model)}`}>{r.model}</a>
              </b>
            </div>
            <div>
              <span className="label">status</span>
              <Badge kind={statusKind(r.status)}>{r.status}</Badge>
            </div>
            <div>
              <span className="label">trigger</span>
              <b>{r.trigger}</b> {r.cause ? <span className="muted">{r.cause}</span> : null}
            </div>
            <div>
              <span className="label">scheduled for</span>
              <b>{fmtTime(r.scheduledFor)}</b>
            </div>
            <div>
              <span className="label">attempt</span>
              <b>{r.attempt}</b>
            </div>
          </div>
          {r.reason ? <p>Reason: {r.reason}</p> : null}
          {r.error ? (
            <div className="error">
              <b>Error</b> <Json value={r.error} />
            </div>
          ) : null}
          <h3>Steps</h3>
          <table className="grid">
            <thead>
              <tr>
                <th>step</th>
                <th>status</th>
                <th className="num">attempts</th>
                <th>started</th>
                <th>finished</th>
                <th>error</th>
              </tr>
            </thead>
            <tbody>
              {r.steps.map((s) => (
                <tr key={s.name} data-testid="step-row">
                  <td>{s.name}</td>
                  <td>
                    <Badge kind={statusKind(s.status)}>{s.status}</Badge>
                  </td>
                  <td className="num">{s.attempts}</td>
                  <td>{fmtTime(s.startedAt)}</td>
                  <td>{fmtTime(s.finishedAt)}</td>
                  <td>{s.error ? <Json value={s.error} /> : <span className="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Params</h3>
          <Json value={r.params} />
          {r.output !== undefined ? (
            <>
              <h3>Output</h3>
              <Json value={r.output} />
            </>
          ) : null}
        </>
      ) : null}
      {confirm ? (
        <ConfirmDialog
          req={confirm}
          onClose={(done) => {
            setConfirm(null);
            if (done) run.reload();
          }}
        />
      ) : null}
    </Card>
  );
}
