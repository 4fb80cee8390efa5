import type { DagDetail, DagInfo, PutScheduleRequest, Report, Run, RunStatus, RunSummary, Schedule } from '@contender/contracts';
import type { z } from 'zod';
import { HttpClient, type ClientOptions } from './http-client.js';
import type { CallOptions } from './registry-client.js';

const enc = encodeURIComponent;

export type DagInfoBody = z.infer<typeof DagInfo>;
export type DagDetailBody = z.infer<typeof DagDetail>;

/** The scheduler's API (/api/v1: DAGs, schedules, runs, drift and evaluation reports), typed; errors as ContenderApiError. */
export class SchedulerClient {
  readonly http: HttpClient;
  constructor(opts: ClientOptions) {
    this.http = new HttpClient(opts);
  }

  // ---- DAGs ---------------------------------------------------------------------------------

  listDags(o: CallOptions = {}): Promise<{ items: DagInfoBody[] }> {
    return this.http.request('GET', '/api/v1/dags', { signal: o.signal });
  }

  getDag(dag: string, o: CallOptions = {}): Promise<DagDetailBody> {
    return this.http.request('GET', `/api/v1/dags/${enc(dag)}`, { signal: o.signal });
  }

  // ---- runs ---------------------------------------------------------------------------------

  /** 202 `{runId, status}`: `queued`, or `skipped` when the DAG's maxActiveRuns runs are active. */
  triggerRun(dag: string, req: { model: string; params?: Record<string, unknown> }, o: CallOptions = {}): Promise<{ runId: string; status: RunStatus }> {
    return this.http.request('POST', `/api/v1/dags/${enc(dag)}/runs`, { json: req, signal: o.signal });
  }

  listRuns(q: { dag?: string; model?: string; status?: RunStatus; limit?: number; cursor?: string } = {}, o: CallOptions = {}): Promise<{ items: RunSummary[]; nextCursor: string | null }> {
    return this.http.request('GET', '/api/v1/runs', { query: q, signal: o.signal });
  }

  getRun(id: string, o: CallOptions = {}): Promise<Run> {
    return this.http.request('GET', `/api/v1/runs/${enc(id)}`, { signal: o.signal });
  }

  /** 202 with the run: `cancelled` at once, or `cancelRequested` while a replica stops its step; 409 `run_finished`. */
  cancelRun(id: string, o: CallOptions = {}): Promise<Run> {
    return this.http.request('POST', `/api/v1/runs/${enc(id)}/cancel`, { signal: o.signal });
  }

  // ---- schedules ----------------------------------------------------------------------------

  /** Creates or changes the DAG's schedule for a model; omitted fields keep their value. */
  setSchedule(dag: string, model: string, req: PutScheduleRequest, o: CallOptions = {}): Promise<Schedule> {
    return this.http.request('PUT', `/api/v1/schedules/${enc(dag)}/${enc(model)}`, { json: req, signal: o.signal });
  }

  listSchedules(q: { dag?: string; model?: string } = {}, o: CallOptions = {}): Promise<{ items: Schedule[] }> {
    return this.http.request('GET', '/api/v1/schedules', { query: q, signal: o.signal });
  }

  deleteSchedule(dag: string, model: string, o: CallOptions = {}): Promise<void> {
    return this.http.request('DELETE', `/api/v1/schedules/${enc(dag)}/${enc(model)}`, { signal: o.signal });
  }

  // ---- reports ------------------------------------------------------------------------------

  /** The latest drift report (404 `report_not_found` before the first drift run succeeded). */
  driftReport(model: string, o: CallOptions = {}): Promise<Report> {
    return this.http.request('GET', `/api/v1/models/${enc(model)}/drift`, { signal: o.signal });
  }

  driftHistory(model: string, history: number, o: CallOptions = {}): Promise<{ model: string; dag: 'drift'; items: Report[] }> {
    return this.http.request('GET', `/api/v1/models/${enc(model)}/drift`, { query: { history }, signal: o.signal });
  }

  /** The latest evaluation (champion–challenger experiment) report. */
  evaluationReport(model: string, o: CallOptions = {}): Promise<Report> {
    return this.http.request('GET', `/api/v1/models/${enc(model)}/evaluation`, { signal: o.signal });
  }

  evaluationHistory(model: string, history: number, o: CallOptions = {}): Promise<{ model: string; dag: 'evaluate'; items: Report[] }> {
    return this.http.request('GET', `/api/v1/models/${enc(model)}/evaluation`, { query: { history }, signal: o.signal });
  }
}
