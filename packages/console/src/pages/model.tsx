import type { AuditEvent, DeploymentState, Model, ModelVersion } from '@contender/contracts';
import { useMemo, useState } from 'react';
import { SchedulerGate, useApp } from '../app.js';
import { ConfirmDialog, type ConfirmRequest } from '../components/confirm.js';
import { BarChart, TimeChart } from '../components/chart.js';
import type { DriftReport, EvaluationReport, Report } from '../scheduler-types.js';
import { Badge, Card, ErrorNote, fmt, fmtInterval, fmtP, fmtPct, fmtTime, useAsync } from '../util.js';
import { verdictKind } from './models.js';
import { ModelRuns } from './runs.js';

export function ModelPage({ name }: { name: string }) {
  const { registry } = useApp();
  const model = useAsync(() => registry.model(name), [registry, name]);
  const versions = useAsync(() => registry.versions(name), [registry, name]);
  const events = useAsync(() => registry.events(name), [registry, name]);
  const reloadAll = () => {
    model.reload();
    versions.reload();
    events.reload();
  };
  return (
    <>
      <p>
        <a href="#/">← Models</a>
      </p>
      <h1 data-testid="model-name">{name}</h1>
      <ErrorNote error={model.error} />
      {model.data ? <Deployment model={model.data} versions={versions.data ?? []} onChanged={reloadAll} /> : null}
      <Card title="Versions" testId="versions">
        <ErrorNote error={versions.error} />
        {versions.data && model.data ? <VersionsTable model={model.data} versions={versions.data} /> : null}
      </Card>
      <ExperimentPanel model={name} />
      <DriftPanel model={name} />
      <Card title="Runs" testId="model-runs">
        <SchedulerGate>
          <ModelRuns model={name} />
        </SchedulerGate>
      </Card>
      <Card title="Audit timeline" testId="audit">
        <ErrorNote error={events.error} />
        {events.data ? <Timeline events={events.data} /> : null}
      </Card>
    </>
  );
}

function Deployment({ model, versions, onChanged }: { model: Model; versions: ModelVersion[]; onChanged: () => void }) {
  const { registry, writer } = useApp();
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const [share, setShare] = useState(String(model.traffic.challengerPercent));
  const [mode, setMode] = useState(model.traffic.mode);
  const [alias, setAlias] = useState('challenger');
  const [aliasVersion, setAliasVersion] = useState(String(model.latestVersion ?? ''));
  const [force, setForce] = useState(false);
  const champion = model.aliases.champion;
  const challenger = model.aliases.challenger;
  const shareNum = Number(share);
  const shareValid = share.trim() !== '' && Number.isFinite(shareNum) && shareNum >= 0 && shareNum <= 100 && Math.abs(shareNum * 100 - Math.round(shareNum * 100)) < 1e-9;
  const v = (n: number | undefined) => (n === undefined ? 'none' : `v${n}`);
  return (
    <Card title="Deployment" testId="deployment">
      <div className="facts">
        <div>
          <span className="label">champion</span>
          <b data-testid="champion">{v(champion)}</b>
        </div>
        <div>
          <span className="label">challenger</span>
          <b data-testid="challenger">{v(challenger)}</b>
        </div>
        <div>
          <span className="label">challenger share</span>
          <b data-testid="traffic">
            {model.traffic.challengerPercent} % · {model.traffic.mode}
          </b>
        </div>
        <div>
          <span className="label">primary metric</span>
          <b>
            {model.primaryMetric} ({model.metricGoal})
          </b>
        </div>
        {Object.entries(model.aliases)
          .filter(([a]) => a !== 'champion' && a !== 'challenger')
          .map(([a, n]) => (
            <div key={a}>
              <span className="label">{a}</span>
              <b>v{n}</b>
            </div>
          ))}
      </div>
      {model.description ? <p className="muted">{model.description}</p> : null}
      {writer ? (
        <div className="controls" data-testid="write-controls">
          <fieldset>
            <legend>Alias</legend>
            <input aria-label="alias" value={alias} onChange={(e) => setAlias(e.target.value)} size={12} />
            <select aria-label="alias version" value={aliasVersion} onChange={(e) => setAliasVersion(e.target.value)}>
              {versions.map((x) => (
                <option key={x.version} value={x.version}>
                  v{x.version}
                </option>
              ))}
            </select>
            <button
              type="button"
              data-testid="set-alias"
              disabled={!aliasVersion || !alias}
              onClick={() =>
                setConfirm({
                  title: `Point "${alias}" at v${aliasVersion}?`,
                  body: <p>{model.aliases[alias] !== undefined ? `It points at v${model.aliases[alias]} now.` : 'The alias is new.'} Serving follows champion and challenger at once.</p>,
                  reasonRequired: true,
                  confirmLabel: 'Set alias',
                  run: (reason) => registry.setAlias(model.name, alias, Number(aliasVersion), reason),
                })
              }
            >
              Set alias…
            </button>
            {model.aliases[alias] !== undefined ? (
              <button
                type="button"
                data-testid="delete-alias"
                onClick={() =>
                  setConfirm({
                    title: `Remove "${alias}" (v${model.aliases[alias]})?`,
                    body: alias === 'challenger' ? <p>Removing the challenger also sets its traffic share to 0.</p> : <p>The version stays; only the alias goes.</p>,
                    reasonRequired: true,
                    confirmLabel: 'Remove alias',
                    run: (reason) => registry.deleteAlias(model.name, alias, reason),
                  })
                }
              >
                Remove…
              </button>
            ) : null}
          </fieldset>
          <fieldset>
            <legend>Traffic</legend>
            <label>
              challenger %
              <input aria-label="challenger percent" data-testid="share-input" type="number" min={0} max={100} step={0.01} value={share} onChange={(e) => setShare(e.target.value)} />
            </label>
            <select aria-label="mode" value={mode} onChange={(e) => setMode(e.target.value as 'split' | 'shadow')}>
              <option value="split">split</option>
              <option value="shadow">shadow</option>
            </select>
            <button
              type="button"
              data-testid="set-traffic"
              disabled={!shareValid}
              onClick={() =>
                setConfirm({
                  title: `Give the challenger ${shareNum} % (${mode})?`,
                  body: (
                    <p>
                      Now {model.traffic.challengerPercent} % ({model.traffic.mode}). {challenger === undefined && shareNum > 0 ? 'There is no challenger: the registry will refuse a share above 0.' : `Challenger: ${v(challenger)}.`}
                    </p>
                  ),
                  reasonRequired: true,
                  confirmLabel: 'Set traffic',
                  run: (reason) => registry.setTraffic(model.name, shareNum, mode, reason),
                })
              }
            >
              Set traffic…
            </button>
          </fieldset>
          <fieldset>
            <legend>Promotion</legend>
            <label className="inline">
              <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> force (skip the metric gate)
            </label>
            <button
              type="button"
              className="primary"
              data-testid="promote"
              disabled={challenger === undefined}
              onClick={() =>
                setConfirm({
                  title: `Promote ${v(challenger)} to champion?`,
                  body: (
                    <p>
                      {v(challenger)} becomes the champion in place of {v(champion)}; the challenger alias is removed and its share set to 0.
                      {force ? ' Forced: the primary-metric gate is not applied.' : ` The registry checks ${model.primaryMetric} first.`}
                    </p>
                  ),
                  reasonRequired: true,
                  confirmLabel: 'Promote',
                  run: (reason) => registry.promote(model.name, reason, force),
                })
              }
            >
              Promote…
            </button>
            <button
              type="button"
              data-testid="rollback"
              disabled={champion === undefined}
              onClick={() =>
                setConfirm({
                  title: 'Roll back the champion?',
                  body: <p>The version that held champion before its last change takes it back.</p>,
                  reasonRequired: true,
                  confirmLabel: 'Roll back',
                  run: (reason) => registry.rollback(model.name, reason),
                })
              }
            >
              Roll back…
            </button>
          </fieldset>
        </div>
      ) : (
        <p className="muted" data-testid="read-only">
          Read-only: your role cannot change aliases, traffic or promotion.
        </p>
      )}
      {confirm ? (
        <ConfirmDialog
          req={confirm}
          onClose={(done) => {
            setConfirm(null);
            if (done) onChanged();
          }}
        />
      ) : null}
    </Card>
  );
}

function VersionsTable({ model, versions }: { model: Model; versions: ModelVersion[] }) {
  const metricNames = useMemo(() => {
    const names = new Set<string>();
    for (const x of versions) for (const k of Object.keys(x.metrics)) names.add(k);
    const list = [...names].sort();
    return list.includes(model.primaryMetric) ? [model.primaryMetric, ...list.filter((n) => n !== model.primaryMetric)] : list;
  }, [versions, model.primaryMetric]);
  const best = (metric: string): number | undefined => {
    const vals = versions.map((x) => x.metrics[metric]).filter((n): n is number => n !== undefined);
    if (vals.length < 2) return undefined;
    const minimize = metric === model.primaryMetric ? model.metricGoal === 'minimize' : /loss|brier|error|rmse|mae/i.test(metric);
    return minimize ? Math.min(...vals) : Math.max(...vals);
  };
  const bests = Object.fromEntries(metricNames.map((m) => [m, best(m)]));
  if (versions.length === 0) return <p className="muted">No versions yet.</p>;
  return (
    <div className="scroll">
      <table className="grid">
        <thead>
          <tr>
            <th>version</th>
            <th>aliases</th>
            {metricNames.map((m) => (
              <th key={m} className="num">
                {m}
              </th>
            ))}
            <th>lineage</th>
            <th>registered</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((x) => (
            <tr key={x.version} data-testid={`version-${x.version}`}>
              <td>v{x.version}</td>
              <td>
                {x.aliases.map((a) => (
                  <Badge key={a} kind={a === 'champion' ? 'good' : a === 'challenger' ? 'info' : 'plain'}>
                    {a}
                  </Badge>
                ))}
              </td>
              {metricNames.map((m) => (
                <td key={m} className={`num${bests[m] !== undefined && x.metrics[m] === bests[m] ? ' best' : ''}`}>
                  {fmt(x.metrics[m], 4)}
                </td>
              ))}
              <td>
                <Lineage source={x.source} />
              </td>
              <td>
                {fmtTime(x.createdAt)}
                <div className="muted">{x.createdBy}</div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Lineage({ source }: { source: Record<string, unknown> | null }) {
  if (!source || Object.keys(source).length === 0) return <span className="muted">—</span>;
  const dataset = source.dataset as { uri?: string; sha256?: string; rows?: number } | undefined;
  const rest = Object.entries(source).filter(([k]) => k !== 'dataset' && k !== 'runId' && k !== 'gitCommit');
  return (
    <div className="lineage">
      {typeof source.runId === 'string' ? (
        <div>
          run <code>{source.runId}</code>
        </div>
      ) : null}
      {typeof source.gitCommit === 'string' ? (
        <div>
          commit <code>{source.gitCommit.slice(0, 12)}</code>
        </div>
      ) : null}
      {dataset ? (
        <div>
          data <code>{dataset.uri}</code>
          {dataset.rows !== undefined ? ` · ${dataset.rows.toLocaleString('en')} rows` : ''}
          {dataset.sha256 ? <span className="muted"> · sha256 {dataset.sha256.slice(0, 10)}…</span> : null}
        </div>
      ) : null}
      {rest.map(([k, val]) => (
        <div key={k}>
          {k} <code>{typeof val === 'string' || typeof val === 'number' ? String(val) : JSON.stringify(val)}</code>
        </div>
      ))}
    </div>
  );
}

const isState = (v: unknown): v is DeploymentState => !!v && typeof v === 'object' && typeof (v as DeploymentState).aliases === 'object' && typeof (v as DeploymentState).traffic === 'object';

/** The deployment state at `when`: the `after` of the last event at or before it that carries one. */
export function stateAt(events: AuditEvent[], when: number): { state: DeploymentState; event: AuditEvent } | null {
  let found: { state: DeploymentState; event: AuditEvent } | null = null;
  for (const e of events) {
    if (Date.parse(e.at) > when) break;
    if (isState(e.after)) found = { state: e.after, event: e };
  }
  return found;
}

function describe(e: AuditEvent): string {
  const after = e.after as Record<string, unknown> | null;
  const before = e.before as Record<string, unknown> | null;
  switch (e.action) {
    case 'version.registered':
      return `registered v${String(after?.version ?? '?')}`;
    case 'alias.set': {
      const a = isState(after) && isState(before) ? Object.keys(after.aliases).find((k) => after.aliases[k] !== before.aliases[k]) : undefined;
      return a && isState(after) ? `${a} → v${after.aliases[a]}` : 'alias set';
    }
    case 'alias.deleted':
      return `removed ${String(after?.alias ?? 'an alias')}${after?.version !== undefined ? ` (v${String(after.version)})` : ''}`;
    case 'traffic.set':
      return isState(after) ? `challenger ${after.traffic.challengerPercent} % · ${after.traffic.mode}` : 'traffic set';
    case 'model.promoted':
      return isState(after) ? `promoted: champion → v${after.aliases.champion}` : 'promoted';
    case 'model.rolled_back':
      return isState(after) ? `rolled back: champion → v${after.aliases.champion ?? 'none'}` : 'rolled back';
    case 'model.created':
      return 'created';
    default:
      return e.action;
  }
}

function Timeline({ events }: { events: AuditEvent[] }) {
  const [when, setWhen] = useState('');
  const at = when ? Date.parse(`${when}Z`) : NaN;
  const replay = Number.isFinite(at) ? stateAt(events, at) : null;
  return (
    <>
      <div className="replay">
        <label>
          Who was champion on (UTC)
          <input type="datetime-local" step={1} data-testid="replay-date" value={when} onChange={(e) => setWhen(e.target.value)} />
        </label>
        {when && Number.isFinite(at) ? (
          <span data-testid="replay-answer">
            {replay ? (
              <>
                champion <b>{replay.state.aliases.champion !== undefined ? `v${replay.state.aliases.champion}` : 'none'}</b>, challenger{' '}
                <b>{replay.state.aliases.challenger !== undefined ? `v${replay.state.aliases.challenger}` : 'none'}</b> at {replay.state.traffic.challengerPercent} % ·{' '}
                {replay.state.traffic.mode} <span className="muted">(since event #{replay.event.id}, {fmtTime(replay.event.at)}, by {replay.event.actor})</span>
              </>
            ) : (
              'the model did not exist yet'
            )}
          </span>
        ) : null}
      </div>
      <table className="grid">
        <thead>
          <tr>
            <th>#</th>
            <th>time (UTC)</th>
            <th>actor</th>
            <th>action</th>
            <th>what</th>
            <th>reason</th>
          </tr>
        </thead>
        <tbody>
          {[...events].reverse().map((e) => (
            <tr key={e.id} data-testid="audit-row" data-action={e.action} className={replay?.event.id === e.id ? 'hit' : ''}>
              <td>{e.id}</td>
              <td>{fmtTime(e.at)}</td>
              <td>{e.actor}</td>
              <td>
                <code>{e.action}</code>
              </td>
              <td>{describe(e)}</td>
              <td className="reason">{e.reason ?? <span className="muted">—</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

const HISTORY = 50;
const seconds = (r: Report<unknown>, i: number) => (r.at ? Date.parse(r.at) / 1000 : i);

function ExperimentPanel({ model }: { model: string }) {
  return (
    <Card title="Experiment" testId="experiment">
      <SchedulerGate>
        <Experiment model={model} />
      </SchedulerGate>
    </Card>
  );
}

function Experiment({ model }: { model: string }) {
  const { scheduler } = useApp();
  const r = useAsync(() => scheduler.evaluation(model, HISTORY), [scheduler, model]);
  const chart = useMemo(() => {
    const list = r.data ?? [];
    return {
      x: list.map(seconds),
      series: [
        { label: 'champion AUC', values: list.map((x) => x.report.arms?.champion?.auc ?? null) },
        { label: 'challenger AUC', values: list.map((x) => x.report.arms?.challenger?.auc ?? null) },
        { label: 'Δ AUC', values: list.map((x) => x.report.comparison?.difference ?? null), right: 'Δ AUC' },
        { label: 'Δ always-valid lower', values: list.map((x) => x.report.comparison?.alwaysValid.interval[0] ?? null), dash: true, right: 'Δ AUC' },
        { label: 'Δ always-valid upper', values: list.map((x) => x.report.comparison?.alwaysValid.interval[1] ?? null), dash: true, right: 'Δ AUC' },
      ],
    };
  }, [r.data]);
  if (r.error) return <ErrorNote error={r.error} />;
  if (!r.data) return <p className="muted">Loading…</p>;
  const last = r.data.at(-1)?.report;
  if (!last) return <p className="muted">No evaluation report yet: turn on the evaluate schedule for this model.</p>;
  const arms = [
    ['champion', last.arms.champion],
    ['challenger', last.arms.challenger],
  ] as const;
  const c = last.comparison;
  return (
    <>
      <p>
        Latest verdict <Badge kind={verdictKind(last.verdict)}>{last.verdict}</Badge>
        {last.experiment ? (
          <span className="muted">
            {' '}
            · v{last.experiment.challenger} vs v{last.experiment.champion} at {last.experiment.challengerPercent} % since {fmtTime(last.experiment.startedAt)}
          </span>
        ) : null}
      </p>
      {last.reasons?.length ? (
        <ul className="reasons">
          {last.reasons.map((x, i) => (
            <li key={i}>{x}</li>
          ))}
        </ul>
      ) : null}
      <table className="grid">
        <thead>
          <tr>
            <th>arm</th>
            <th>version</th>
            <th className="num">predictions</th>
            <th className="num">labelled</th>
            <th className="num">positive rate</th>
            <th className="num">AUC</th>
            <th>95 % interval</th>
            <th className="num">log loss</th>
            <th className="num">fallback rate</th>
            <th className="num">p99 ms</th>
          </tr>
        </thead>
        <tbody>
          {arms.map(([n, a]) => (
            <tr key={n} data-testid={`arm-${n}`}>
              <td>{n}</td>
              <td>v{a.version}</td>
              <td className="num">{a.predictions.toLocaleString('en')}</td>
              <td className="num">{a.labelled.toLocaleString('en')}</td>
              <td className="num">{fmtPct(a.positiveRate)}</td>
              <td className="num">{fmt(a.auc)}</td>
              <td>{fmtInterval(a.aucInterval)}</td>
              <td className="num">{fmt(a.logLoss)}</td>
              <td className="num">{fmtPct(a.fallbackRate)}</td>
              <td className="num">{fmt(a.p99LatencyMs, 1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="facts">
        <div>
          <span className="label">Δ AUC</span>
          <b>{c ? fmt(c.difference) : '—'}</b>
        </div>
        <div>
          <span className="label">always-valid interval ({c?.alwaysValid.method ?? 'mSPRT'})</span>
          <b>{fmtInterval(c?.alwaysValid.interval)}</b>
        </div>
        <div>
          <span className="label">fixed-horizon (DeLong)</span>
          <b>{fmtInterval(c?.fixedHorizon.interval)}</b>
        </div>
        <div>
          <span className="label">SRM p</span>
          <b>{last.srm ? fmtP(last.srm.pValue) : '—'}</b> {last.srm?.flagged ? <Badge kind="bad">SRM</Badge> : null}
        </div>
        {Object.entries(last.guardrails ?? {}).map(([g, x]) => (
          <div key={g}>
            <span className="label">guardrail {g}</span>
            <b>
              {fmt(x.challenger, 4)} vs {fmt(x.champion, 4)}
            </b>{' '}
            <Badge kind={x.ok ? 'good' : 'bad'}>{x.ok ? 'holds' : 'broken'}</Badge>
          </div>
        ))}
      </div>
      <h3>AUC over time, and the difference with its always-valid interval</h3>
      <TimeChart x={chart.x} series={chart.series} yLabel="AUC" testId="experiment-chart" />
      <h3>Verdict history</h3>
      <table className="grid">
        <thead>
          <tr>
            <th>time (UTC)</th>
            <th>verdict</th>
            <th className="num">labelled (ch / cl)</th>
            <th className="num">Δ AUC</th>
            <th>run</th>
          </tr>
        </thead>
        <tbody>
          {[...r.data].reverse().map((x, i) => (
            <tr key={i} data-testid="verdict-row">
              <td>{fmtTime(x.at)}</td>
              <td>
                <Badge kind={verdictKind(x.report.verdict)}>{x.report.verdict}</Badge>
              </td>
              <td className="num">
                {x.report.arms?.champion?.labelled ?? '—'} / {x.report.arms?.challenger?.labelled ?? '—'}
              </td>
              <td className="num">{fmt(x.report.comparison?.difference)}</td>
              <td>{x.runId ? <a href={`#/runs/${encodeURIComponent(x.runId)}`}>{x.runId}</a> : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function DriftPanel({ model }: { model: string }) {
  return (
    <Card title="Drift" testId="drift">
      <SchedulerGate>
        <Drift model={model} />
      </SchedulerGate>
    </Card>
  );
}

const PSI_THRESHOLDS = [
  { value: 0.1, label: 'warn 0.1' },
  { value: 0.2, label: 'drift 0.2' },
];

function Drift({ model }: { model: string }) {
  const { scheduler } = useApp();
  const r = useAsync(() => scheduler.drift(model, HISTORY), [scheduler, model]);
  const latest = r.data?.at(-1)?.report;
  const bars = useMemo(() => {
    const f = [...(latest?.features ?? [])].sort((a, b) => b.psi - a.psi);
    return { labels: f.map((x) => x.name), values: f.map((x) => x.psi) };
  }, [latest]);
  const history = useMemo(() => {
    const list = r.data ?? [];
    // The features that drifted most at any point: at most 8 lines stay readable.
    const peak = new Map<string, number>();
    for (const x of list) for (const f of x.report.features ?? []) peak.set(f.name, Math.max(peak.get(f.name) ?? 0, f.psi));
    const top = [...peak.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n]) => n);
    return {
      x: list.map(seconds),
      series: top.map((n) => ({ label: n, values: list.map((x) => x.report.features?.find((f) => f.name === n)?.psi ?? null) })),
    };
  }, [r.data]);
  if (r.error) return <ErrorNote error={r.error} />;
  if (!r.data) return <p className="muted">Loading…</p>;
  if (!latest) return <p className="muted">No drift report yet: turn on the drift schedule for this model.</p>;
  return (
    <>
      <p>
        {latest.drifted ? <Badge kind="bad">drifted</Badge> : <Badge kind="good">stable</Badge>}{' '}
        <span className="muted">
          {fmtPct(latest.driftedShare ?? null)} of features drifted{latest.window ? ` · window ${fmtTime(latest.window.from)} – ${fmtTime(latest.window.to)}` : ''}
          {latest.rows !== undefined ? ` · ${latest.rows.toLocaleString('en')} rows` : ''}
          {latest.referenceVersion !== undefined ? ` · reference v${latest.referenceVersion}` : ''}
        </span>
      </p>
      <h3>PSI per feature (latest)</h3>
      <BarChart labels={bars.labels} values={bars.values} thresholds={PSI_THRESHOLDS} testId="drift-chart" />
      <h3>PSI over time</h3>
      <TimeChart x={history.x} series={history.series} yLabel="PSI" testId="drift-history" />
      <details>
        <summary>Every feature</summary>
        <table className="grid">
          <thead>
            <tr>
              <th>feature</th>
              <th>kind</th>
              <th className="num">PSI</th>
              <th className="num">distance</th>
              <th>status</th>
            </tr>
          </thead>
          <tbody>
            {latest.features.map((f) => (
              <tr key={f.name}>
                <td>{f.name}</td>
                <td>{f.kind ?? '—'}</td>
                <td className="num">{fmt(f.psi, 4)}</td>
                <td className="num">{fmt(f.statistic, 4)}</td>
                <td>
                  <Badge kind={f.status === 'drift' || f.status === 'drifted' ? 'bad' : f.status === 'warn' ? 'warn' : 'good'}>{f.status ?? 'stable'}</Badge>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  );
}
