import { Readable } from 'node:stream';
import type {
  AuditEvent,
  CreateModelRequest,
  DeploymentList,
  Model,
  ModelVersion,
  TrafficMode,
  VersionMetadata,
} from '@contender/contracts';
import { HttpClient, type ClientOptions } from './http-client.js';
import { fileSource, multipartBody, type FileSource, type MultipartPart } from './multipart.js';

/** Options every call takes. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Options of the calls that create something: a repeat with the same key returns the first answer. */
export interface CreateOptions extends CallOptions {
  idempotencyKey?: string;
}

export interface Page<T, C> {
  items: T[];
  nextCursor: C | null;
}

export interface UploadVersionInput {
  /** the ONNX model: a path (streamed from disk), a buffer, or an async iterable of chunks */
  artifact: FileSource;
  metadata?: VersionMetadata;
}

export interface CreateDatasetRequest {
  name: string;
  description?: string;
  tags?: Record<string, string>;
}

export interface Dataset {
  name: string;
  description: string | null;
  tags: Record<string, string>;
  latestVersion?: number | null;
  createdAt: string;
  createdBy: string;
  [key: string]: unknown;
}

export interface DatasetVersion {
  dataset: string;
  version: number;
  sha256: string;
  sizeBytes: number;
  rows: number;
  columns: string[];
  uri: string;
  createdAt: string;
  createdBy: string;
  [key: string]: unknown;
}

/** The `metadata` part of a dataset version upload. */
export interface DatasetVersionMetadata {
  description?: string;
  tags?: Record<string, string>;
  /** lineage: where these rows came from (e.g. the input dataset version and the model version that scored it) */
  source?: Record<string, unknown>;
}

export interface UploadDatasetVersionInput {
  /** the CSV: a path (streamed from disk), a buffer, or an async iterable of chunks (streamed) */
  file: FileSource;
  metadata?: DatasetVersionMetadata;
}

/** `name` (the latest version) or `name@version`. */
export interface DatasetRef {
  name: string;
  version: number | null;
}

/** Parses `name` or `name@version`; throws a RangeError naming what is wrong. */
export function parseDatasetRef(ref: string): DatasetRef {
  const at = ref.lastIndexOf('@');
  if (at < 0) {
    if (!ref) throw new RangeError('a dataset reference is `name` or `name@version`; it is empty');
    return { name: ref, version: null };
  }
  const name = ref.slice(0, at);
  const v = ref.slice(at + 1);
  if (!name || !/^[1-9]\d{0,9}$/.test(v)) throw new RangeError(`"${ref}" is not \`name\` or \`name@version\` (version a positive integer)`);
  return { name, version: Number(v) };
}

const enc = encodeURIComponent;

/**
 * The registry's API (/api/v1), typed. Calls not wrapped in a method go through `http.request`.
 * Every method throws ContenderApiError for a non-2xx answer.
 */
export class RegistryClient {
  readonly http: HttpClient;
  constructor(opts: ClientOptions) {
    this.http = new HttpClient(opts);
  }

  // ---- models -------------------------------------------------------------------------------

  createModel(req: CreateModelRequest, o: CallOptions = {}): Promise<Model> {
    return this.http.request('POST', '/api/v1/models', { json: req, signal: o.signal });
  }

  getModel(name: string, o: CallOptions = {}): Promise<Model> {
    return this.http.request('GET', `/api/v1/models/${enc(name)}`, { signal: o.signal });
  }

  /** The model, or null when there is none of that name. */
  async findModel(name: string, o: CallOptions = {}): Promise<Model | null> {
    return this.getModel(name, o).catch(notFoundAsNull);
  }

  listModels(q: { limit?: number; after?: string } = {}, o: CallOptions = {}): Promise<Page<Model, string>> {
    return this.http.request('GET', '/api/v1/models', { query: q, signal: o.signal });
  }

  // ---- versions -----------------------------------------------------------------------------

  /** Registers a version: the ONNX file streamed as multipart part `artifact`, with its metadata JSON. */
  uploadVersion(model: string, input: UploadVersionInput, o: CreateOptions = {}): Promise<ModelVersion> {
    const { body: artifact, filename } = fileSource(input.artifact, 'model.onnx');
    const parts: MultipartPart[] = [];
    if (input.metadata !== undefined) parts.push({ name: 'metadata', contentType: 'application/json', body: JSON.stringify(input.metadata) });
    parts.push({ name: 'artifact', filename, contentType: 'application/octet-stream', body: artifact });
    return this.multipart(`/api/v1/models/${enc(model)}/versions`, parts, o);
  }

  getVersion(model: string, version: number, o: CallOptions = {}): Promise<ModelVersion> {
    return this.http.request('GET', `/api/v1/models/${enc(model)}/versions/${version}`, { signal: o.signal });
  }

  listVersions(model: string, q: { limit?: number; before?: number } = {}, o: CallOptions = {}): Promise<Page<ModelVersion, number>> {
    return this.http.request('GET', `/api/v1/models/${enc(model)}/versions`, { query: q, signal: o.signal });
  }

  /** The version's ONNX bytes (a model is at most MAX_ARTIFACT_BYTES, so it is held whole). */
  async downloadArtifact(model: string, version: number, o: CallOptions = {}): Promise<Uint8Array> {
    const res = await this.http.raw('GET', `/api/v1/models/${enc(model)}/versions/${version}/artifact`, { signal: o.signal });
    return new Uint8Array(await res.arrayBuffer());
  }

  getReferenceProfile(model: string, version: number, o: CallOptions = {}): Promise<unknown> {
    return this.http.request('GET', `/api/v1/models/${enc(model)}/versions/${version}/reference-profile`, { signal: o.signal });
  }

  // ---- aliases, traffic, promotion ------------------------------------------------------------

  setAlias(model: string, alias: string, version: number, o: CallOptions & { reason?: string } = {}): Promise<Model> {
    return this.http.request('PUT', `/api/v1/models/${enc(model)}/aliases/${enc(alias)}`, { json: { version, reason: o.reason }, signal: o.signal });
  }

  deleteAlias(model: string, alias: string, o: CallOptions & { reason?: string } = {}): Promise<Model> {
    return this.http.request('DELETE', `/api/v1/models/${enc(model)}/aliases/${enc(alias)}`, { query: { reason: o.reason }, signal: o.signal });
  }

  setTraffic(model: string, policy: { challengerPercent: number; mode: TrafficMode; reason?: string }, o: CallOptions = {}): Promise<Model> {
    return this.http.request('PUT', `/api/v1/models/${enc(model)}/traffic`, { json: policy, signal: o.signal });
  }

  /** Moves `champion` to the challenger's version. */
  promote(model: string, req: { reason?: string; force?: boolean } = {}, o: CreateOptions = {}): Promise<Model> {
    return this.http.request('POST', `/api/v1/models/${enc(model)}/promote`, { json: req, signal: o.signal, idempotencyKey: o.idempotencyKey });
  }

  /** Restores the previous champion. */
  rollback(model: string, req: { reason?: string } = {}, o: CreateOptions = {}): Promise<Model> {
    return this.http.request('POST', `/api/v1/models/${enc(model)}/rollback`, { json: req, signal: o.signal, idempotencyKey: o.idempotencyKey });
  }

  /** Audit events of a model, oldest first. */
  events(model: string, q: { limit?: number; after?: number } = {}, o: CallOptions = {}): Promise<Page<AuditEvent, number>> {
    return this.http.request('GET', `/api/v1/models/${enc(model)}/events`, { query: q, signal: o.signal });
  }

  deployments(q: { models?: readonly string[] } = {}, o: CallOptions = {}): Promise<DeploymentList> {
    return this.http.request('GET', '/api/v1/deployments', { query: { models: q.models?.join(',') }, signal: o.signal });
  }

  // ---- datasets -----------------------------------------------------------------------------

  createDataset(req: CreateDatasetRequest, o: CallOptions = {}): Promise<Dataset> {
    return this.http.request('POST', '/api/v1/datasets', { json: req, signal: o.signal });
  }

  getDataset(name: string, o: CallOptions = {}): Promise<Dataset> {
    return this.http.request('GET', `/api/v1/datasets/${enc(name)}`, { signal: o.signal });
  }

  /** The dataset, or null when there is none of that name. */
  async findDataset(name: string, o: CallOptions = {}): Promise<Dataset | null> {
    return this.getDataset(name, o).catch(notFoundAsNull);
  }

  listDatasets(q: { limit?: number; after?: string } = {}, o: CallOptions = {}): Promise<Page<Dataset, string>> {
    return this.http.request('GET', '/api/v1/datasets', { query: q, signal: o.signal });
  }

  listDatasetVersions(name: string, q: { limit?: number; before?: number } = {}, o: CallOptions = {}): Promise<Page<DatasetVersion, number>> {
    return this.http.request('GET', `/api/v1/datasets/${enc(name)}/versions`, { query: q, signal: o.signal });
  }

  /** Adds a version: the CSV streamed as multipart part `file` (never held whole), with optional metadata JSON. */
  uploadDatasetVersion(name: string, input: UploadDatasetVersionInput, o: CreateOptions = {}): Promise<DatasetVersion> {
    const { body, filename } = fileSource(input.file, `${name}.csv`);
    const parts: MultipartPart[] = [];
    if (input.metadata !== undefined) parts.push({ name: 'metadata', contentType: 'application/json', body: JSON.stringify(input.metadata) });
    parts.push({ name: 'file', filename, contentType: 'text/csv', body });
    return this.multipart(`/api/v1/datasets/${enc(name)}/versions`, parts, o);
  }

  /** One version, by `name`/`name@version` (a string) or by name and number. */
  async getDatasetVersion(ref: string | DatasetRef, o: CallOptions = {}): Promise<DatasetVersion> {
    const r = typeof ref === 'string' ? parseDatasetRef(ref) : ref;
    return this.http.request('GET', `/api/v1/datasets/${enc(r.name)}/versions/${r.version ?? 'latest'}`, { signal: o.signal });
  }

  /** A version's bytes as a web ReadableStream (give a signal: the default request timeout covers the whole body). */
  async datasetContent(ref: string | DatasetRef, o: CallOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const r = typeof ref === 'string' ? parseDatasetRef(ref) : ref;
    const res = await this.http.raw('GET', `/api/v1/datasets/${enc(r.name)}/versions/${r.version ?? 'latest'}/content`, { signal: o.signal });
    if (!res.body) throw new Error('the registry sent no body for the dataset content');
    return res.body as ReadableStream<Uint8Array>;
  }

  /** As `datasetContent`, as a Node Readable. */
  async datasetContentReadable(ref: string | DatasetRef, o: CallOptions = {}): Promise<Readable> {
    const body = await this.datasetContent(ref, o);
    return Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
  }

  private multipart<T>(path: string, parts: MultipartPart[], o: CreateOptions): Promise<T> {
    const { body, contentType } = multipartBody(parts);
    return this.http.request('POST', path, { body, headers: { 'content-type': contentType }, idempotencyKey: o.idempotencyKey, signal: o.signal });
  }
}

function notFoundAsNull(err: unknown): null {
  if (err && typeof err === 'object' && (err as { status?: number }).status === 404) return null;
  throw err;
}
