import {
  DagDetail,
  DagList,
  ListRunsQuery,
  ListSchedulesQuery,
  PutScheduleRequest,
  Report,
  ReportQuery,
  Run,
  RunList,
  Schedule,
  ScheduleList,
  TriggerRunRequest,
  TriggerRunResponse,
  buildOpenApi,
  type RouteSpec,
} from '@contender/contracts';

const P = '/api/v1';

export const schedulerRoutes: RouteSpec[] = [
  {
    method: 'get',
    path: `${P}/models/{model}/drift`,
    summary: "A model's latest drift report, or the latest N with ?history=N",
    description: 'The output of the latest succeeded `drift` run for the model: per-feature PSI, KS or Jensen–Shannon, the window, the reference version and the verdict. 404 `report_not_found` before the first one (with `history`: an empty list).',
    role: 'reader',
    query: ReportQuery,
    responses: { 200: { description: 'the report, or { items } with history', schema: Report }, 404: { description: 'report_not_found' } },
  },
  {
    method: 'get',
    path: `${P}/models/{model}/evaluation`,
    summary: "A model's latest champion–challenger evaluation, or the latest N with ?history=N",
    description: 'The output of the latest succeeded `evaluate` run for the model: per-arm metrics, the AUC difference with its always-valid (mSPRT) and fixed-horizon intervals, SRM, guardrails, the verdict and what was done. 404 `report_not_found` before the first one.',
    role: 'reader',
    query: ReportQuery,
    responses: { 200: { description: 'the report, or { items } with history', schema: Report }, 404: { description: 'report_not_found' } },
  },
  { method: 'get', path: `${P}/dags`, summary: 'The DAGs this scheduler runs, with their params as JSON Schema', role: 'reader', responses: { 200: { description: 'the DAGs', schema: DagList } } },
  { method: 'get', path: `${P}/dags/{dag}`, summary: 'A DAG with its schedules, next and last run', role: 'reader', responses: { 200: { description: 'the DAG', schema: DagDetail }, 404: { description: 'dag_not_found' } } },
  {
    method: 'post',
    path: `${P}/dags/{dag}/runs`,
    summary: 'Trigger a run for a model',
    description: 'Params are validated against the DAG\'s schema (400 naming the field). When maxActiveRuns runs of the DAG are active for the model, the run is recorded as `skipped` with the reason (status in the answer).',
    role: 'data-scientist',
    body: TriggerRunRequest,
    responses: { 202: { description: 'queued (or skipped)', schema: TriggerRunResponse }, 404: { description: 'dag_not_found' } },
  },
  { method: 'get', path: `${P}/runs`, summary: 'Runs, newest first, filtered and paginated', role: 'reader', query: ListRunsQuery, responses: { 200: { description: 'a page', schema: RunList } } },
  { method: 'get', path: `${P}/runs/{id}`, summary: 'A run with its steps, attempts, progress and output', role: 'reader', responses: { 200: { description: 'the run', schema: Run }, 404: { description: 'run_not_found' } } },
  {
    method: 'post',
    path: `${P}/runs/{id}/cancel`,
    summary: 'Cancel a run',
    description: 'A run no replica is executing ends as `cancelled` at once; a running step is aborted through its AbortSignal by the replica running it (within RUN_HEARTBEAT_MS), then the run ends as `cancelled`.',
    role: 'data-scientist',
    responses: { 202: { description: 'cancelled or cancelling', schema: Run }, 404: { description: 'run_not_found' }, 409: { description: 'run_finished' } },
  },
  {
    method: 'put',
    path: `${P}/schedules/{dag}/{model}`,
    summary: 'Create or change the schedule of a DAG for a model',
    description: 'cron: node-cron syntax with its optional seconds field, UTC (400 naming `cron`). params: validated against the DAG\'s schema (400 naming `params.<field>`). Omitted fields keep their value.',
    role: 'data-scientist',
    body: PutScheduleRequest,
    responses: { 200: { description: 'changed', schema: Schedule }, 201: { description: 'created', schema: Schedule }, 404: { description: 'dag_not_found' } },
  },
  { method: 'get', path: `${P}/schedules`, summary: 'Schedules, filtered by DAG and model', role: 'reader', query: ListSchedulesQuery, responses: { 200: { description: 'the schedules', schema: ScheduleList } } },
  { method: 'delete', path: `${P}/schedules/{dag}/{model}`, summary: 'Remove a schedule', role: 'data-scientist', responses: { 204: { description: 'removed' }, 404: { description: 'schedule_not_found or dag_not_found' } } },
];

let cached: object | undefined;
export function schedulerOpenApi(): object {
  cached ??= buildOpenApi(
    {
      title: 'Contender scheduler',
      version: '1',
      description:
        'Per-model schedules of the DAGs in dags/, manual triggers, run history with steps and attempts. Auth: Authorization: Bearer <registry API key> (reader for GETs, data-scientist for the rest). Errors: { error: { code, message, details, requestId } }.',
    },
    schedulerRoutes,
  );
  return cached;
}
