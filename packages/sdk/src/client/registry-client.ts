import { Readable } from 'node:stream';
import {
  parseDatasetRef,
  type AuditEvent,
  type CreateDatasetRequest,
  type CreateModelRequest,
  type Dataset,
  type DatasetVersion,
  type DatasetVersionMetadata,
  type ParsedDatasetRef,
  type ApiKeyInfo,
  type DeploymentList,
  type IntrospectResponse,
  type Role,
  type Model,
  type ModelVersion,
  type TrafficMode,
  type VersionMetadata,
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

export interface UploadDatasetVersionInput {
  /** the CSV: a path (streamed from disk), a buffer, or an async iterable of chunks (streamed) */
  file: FileSource;
  metadata?: DatasetVersionMetadata;
}

/** `name`, `name@latest` or `name@<version>` as a string, or already parsed. */
export type DatasetRefInput = string | ParsedDatasetRef | { name: string; version: number };

function datasetPath(ref: DatasetRefInput): string {
  const r = typeof ref === 'string' ? parseDatasetRef(ref) : ref;
  return `/api/v1/datasets/${enc(r.name)}/versions/${r.version}`;
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
  getDatasetVersion(ref: DatasetRefInput, o: CallOptions = {}): Promise<DatasetVersion> {
    return this.http.request('GET', datasetPath(ref), { signal: o.signal });
  }

  /** A version's bytes as a web ReadableStream (give a signal: the default request timeout covers the whole body). */
  async datasetContent(ref: DatasetRefInput, o: CallOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const res = await this.http.raw('GET', `${datasetPath(ref)}/content`, { signal: o.signal });
    if (!res.body) throw new Error('the registry sent no body for the dataset content');
    return res.body as ReadableStream<Uint8Array>;
  }

  /** As `datasetContent`, as a Node Readable. */
  async datasetContentReadable(ref: DatasetRefInput, o: CallOptions = {}): Promise<Readable> {
    const body = await this.datasetContent(ref, o);
    return Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
  }

  /** Audit events of a dataset, oldest first. */
  datasetEvents(name: string, q: { limit?: number; after?: number } = {}, o: CallOptions = {}): Promise<Page<AuditEvent, number>> {
    return this.http.request('GET', `/api/v1/datasets/${enc(name)}/events`, { query: q, signal: o.signal });
  }

  // ---- API keys (admin) ------------------------------------------------------------------------

  /** A new key; `key` is shown in this answer only. */
  createApiKey(req: { name: string; role: Role }, o: CallOptions = {}): Promise<ApiKeyInfo & { key: string }> {
    return this.http.request('POST', '/api/v1/api-keys', { json: req, signal: o.signal });
  }

  listApiKeys(o: CallOptions = {}): Promise<{ items: ApiKeyInfo[] }> {
    return this.http.request('GET', '/api/v1/api-keys', { signal: o.signal });
  }

  revokeApiKey(id: number, o: CallOptions = {}): Promise<ApiKeyInfo> {
    return this.http.request('DELETE', `/api/v1/api-keys/${id}`, { signal: o.signal });
  }

  /** What a key is (`active`, name, role); needs no key of its own. */
  introspect(key: string, o: CallOptions = {}): Promise<IntrospectResponse> {
    return this.http.request('POST', '/api/v1/auth/introspect', { json: { key }, signal: o.signal });
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
