import http from 'node:http';

export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: http.IncomingHttpHeaders;
}

/** A keep-alive JSON client for load in tests (supertest opens a connection per request). */
export class JsonClient {
  readonly agent: http.Agent;
  private readonly url: URL;

  constructor(
    baseUrl: string,
    private readonly key: string,
    maxSockets = 64,
  ) {
    this.url = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  post<T = Record<string, unknown>>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse<T>> {
    return this.request('POST', path, body, headers);
  }

  get<T = Record<string, unknown>>(path: string): Promise<JsonResponse<T>> {
    return this.request('GET', path, undefined, {});
  }

  request<T>(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<JsonResponse<T>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          path,
          method,
          headers: {
            authorization: `Bearer ${this.key}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode!, body: parsed as T, headers: res.headers });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
