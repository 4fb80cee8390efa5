import type {
  BatchPredictRequest,
  BatchPredictResponse,
  EntityFeatures,
  Feedback,
  FeedbackRequest,
  Features,
  PredictionList,
  PredictRequest,
  PredictResponse,
} from '@contender/contracts';
import { HttpClient, type ClientOptions } from './http-client.js';
import type { CallOptions } from './registry-client.js';

const enc = encodeURIComponent;

/** Serving's API (/predict, /feedback, /features, /predictions), typed; errors as ContenderApiError. */
export class ServingClient {
  readonly http: HttpClient;
  constructor(opts: ClientOptions) {
    this.http = new HttpClient(opts);
  }

  predict(req: PredictRequest, o: CallOptions = {}): Promise<PredictResponse> {
    return this.http.request('POST', '/predict', { json: req, signal: o.signal });
  }

  predictBatch(req: BatchPredictRequest, o: CallOptions = {}): Promise<BatchPredictResponse> {
    return this.http.request('POST', '/predict/batch', { json: req, signal: o.signal });
  }

  /** Records the observed outcome of a logged prediction (202). */
  feedback(req: FeedbackRequest, o: CallOptions = {}): Promise<Feedback> {
    return this.http.request('POST', '/feedback', { json: req, signal: o.signal });
  }

  putFeatures(entityId: string, features: Features, o: CallOptions = {}): Promise<EntityFeatures> {
    return this.http.request('PUT', `/features/${enc(entityId)}`, { json: { features }, signal: o.signal });
  }

  getFeatures(entityId: string, o: CallOptions = {}): Promise<EntityFeatures> {
    return this.http.request('GET', `/features/${enc(entityId)}`, { signal: o.signal });
  }

  /** An entity's logged predictions, newest first, with their outcomes. */
  predictions(q: { entityId: string; model?: string; limit?: number }, o: CallOptions = {}): Promise<PredictionList> {
    return this.http.request('GET', '/predictions', { query: { entityId: q.entityId, model: q.model, limit: q.limit }, signal: o.signal });
  }
}
