import { DeploymentList, IntrospectResponse } from '@contender/contracts';

/** What serving needs from the registry: the deployment state, artifact bytes, key checks. */
export interface RegistryClient {
  listDeployments(models?: readonly string[] | null): Promise<DeploymentList>;
  downloadArtifact(artifactPath: string): Promise<Buffer>;
  introspect(key: string): Promise<IntrospectResponse>;
}

/** The registry could not be reached or answered with an unexpected status. */
export class RegistryUnavailableError extends Error {
  override name = 'RegistryUnavailableError';
}

export class HttpRegistryClient implements RegistryClient {
  private readonly base: string;

  constructor(private readonly deps: { url: string; apiKey: string; timeoutMs: number }) {
    this.base = deps.url.replace(/\/+$/, '');
  }

  async listDeployments(models?: readonly string[] | null): Promise<DeploymentList> {
    const query = models?.length ? `?models=${encodeURIComponent(models.join(','))}` : '';
    const res = await this.request(`/api/v1/deployments${query}`, { headers: this.authHeaders() });
    return DeploymentList.parse(await res.json());
  }

  async downloadArtifact(artifactPath: string): Promise<Buffer> {
    // Artifacts can be large: allow several times the usual timeout.
    const res = await this.request(artifactPath, { headers: this.authHeaders() }, this.deps.timeoutMs * 6);
    return Buffer.from(await res.arrayBuffer());
  }

  async introspect(key: string): Promise<IntrospectResponse> {
    const res = await this.request('/api/v1/auth/introspect', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    return IntrospectResponse.parse(await res.json());
  }

  private authHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.deps.apiKey}` };
  }

  private async request(pathOrUrl: string, init: RequestInit, timeoutMs = this.deps.timeoutMs): Promise<Response> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.base}${pathOrUrl.startsWith('/') ? '' : '/'}${pathOrUrl}`;
    let res: Response;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new RegistryUnavailableError(`registry unreachable at ${url}: ${(err as Error).message}`, { cause: err });
    }
    if (!res.ok) {
      const body = await res.text().catch(() => '');
      throw new RegistryUnavailableError(`registry answered ${res.status} for ${init.method ?? 'GET'} ${url}: ${body.slice(0, 300)}`);
    }
    return res;
  }
}
