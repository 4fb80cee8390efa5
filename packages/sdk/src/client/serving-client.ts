import { HttpClient, type ClientOptions } from './http-client.js';

/** Serving's API (/predict, /feedback, /features, /predictions). */
export class ServingClient {
  readonly http: HttpClient;
  constructor(opts: ClientOptions) {
    this.http = new HttpClient(opts);
  }
}
