import { HttpClient, type ClientOptions } from './http-client.js';

/**
 * The registry's API (/api/v1). Calls not yet wrapped in a method go through `http.request`.
 */
export class RegistryClient {
  readonly http: HttpClient;
  constructor(opts: ClientOptions) {
    this.http = new HttpClient(opts);
  }
}
