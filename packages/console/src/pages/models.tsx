import type { Model } from '@contender/contracts';
import { SchedulerGate, useApp } from '../app.js';
import type { DriftReport, EvaluationReport, Report } from '../scheduler-types.js';
import { Badge, Card, ErrorNote, useAsync } from '../util.js';

export function ModelsPage() {
  const { registry } = useApp();
  const models = useAsync(() => registry.models(), [registry]);
  return (
    <Card title="Models" testId="models" actions={<button type="button" onClick={models.reload}>Refresh</button>}>
      <ErrorNote error={models.error} />
      {models.data && models.data.length === 0 ? <p className="muted">No models yet. Create one with the API or the CLI.</p> : null}
      {models.data && models.data.length > 0 ? (
        <table className="grid">
          <thead>
            <tr>
              <th>model</th>
              <th>task</th>
              <th>champion</th>
              <th>challenger</th>
              <th>share · mode</th>
              <th>latest verdict</th>
              <th>drift</th>
              <th>versions</th>
            </tr>
          </thead>
          <tbody>
            {models.data.map((m) => (
              <ModelRow key={m.name} m={m} />
            ))}
          </tbody>
        </table>
      ) : null}
    </Card>
  );
}

function ModelRow({ m }: { m: Model }) {
  return (
    <tr data-testid={`model-row-${m.name}`}>
      <td>
        <a href={`#/models/${encodeURIComponent(m.name)}`}>{m.name}</a>
      </td>
      <td>{m.task}</td>
      <td>{m.aliases.champion !== undefined ? `v${m.aliases.champion}` : <span className="muted">none</span>}</td>
      <td>{m.aliases.challenger !== undefined ? `v${m.aliases.challenger}` : <span className="muted">none</span>}</td>
      <td>
        {m.traffic.challengerPercent} % · {m.traffic.mode}
      </td>
      <td>
        <SchedulerGate>
          <LatestVerdict model={m.name} />
        </SchedulerGate>
      </td>
      <td>
        <SchedulerGate>
          <DriftState model={m.name} />
        </SchedulerGate>
      </td>
      <td>{m.latestVersion ?? 0}</td>
    </tr>
  );
}

export function verdictKind(v: string | undefined): string {
  return v === 'promote' ? 'good' : v === 'rollback' ? 'bad' : v === 'continue' ? 'info' : 'warn';
}

function LatestVerdict({ model }: { model: string }) {
  const { scheduler } = useApp();
  const r = useAsync<Report<EvaluationReport>[]>(() => scheduler.evaluation(model, 1), [scheduler, model]);
  if (r.error) return <span className="muted">no report</span>;
  const last = r.data?.at(-1)?.report;
  if (!last) return <span className="muted">{r.loading ? '…' : 'no report'}</span>;
  return <Badge kind={verdictKind(last.verdict)}>{last.verdict}</Badge>;
}

function DriftState({ model }: { model: string }) {
  const { scheduler } = useApp();
  const r = useAsync<Report<DriftReport>[]>(() => scheduler.drift(model, 1), [scheduler, model]);
  if (r.error) return <span className="muted">no report</span>;
  const last = r.data?.at(-1)?.report;
  if (!last) return <span className="muted">{r.loading ? '…' : 'no report'}</span>;
  return last.drifted ? <Badge kind="bad">drifted ({(last.driftedFeatures ?? []).length})</Badge> : <Badge kind="good">stable</Badge>;
}
