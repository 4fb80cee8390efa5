import net from 'node:net';

export type OutageMode =
  /** Open connections are reset and new ones refused at once: Postgres (or Redis) is down. */
  | 'reset'
  /** Connections stay open but nothing gets through either way: a network partition, where
   *  only the client's own timeouts end a request. */
  | 'blackhole';

export interface TcpProxy {
  readonly port: number;
  /** `url` with its host and port replaced by this proxy's (postgres://…, redis://…). */
  rewrite(url: string): string;
  /** Starts an outage; lasts until restore(). */
  cut(mode?: OutageMode): void;
  /** Ends the outage: new connections get through again (blackholed ones are closed). */
  restore(): void;
  /** Connections currently forwarded or held. */
  connections(): number;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket | null;
}

/**
 * A TCP proxy on 127.0.0.1 in front of a shared server, for tests that need an outage of that
 * server without touching it: point the client under test at the proxy, then cut() and restore().
 */
export async function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy> {
  const host = target.host ?? '127.0.0.1';
  let mode: OutageMode | 'open' = 'open';
  const pairs = new Set<Pair>();

  const drop = (pair: Pair) => {
    pairs.delete(pair);
    pair.upstream?.destroy();
    pair.client.destroy();
  };

  const blackhole = (pair: Pair) => {
    pair.client.unpipe();
    pair.upstream?.unpipe();
    pair.upstream?.destroy();
    pair.upstream = null;
    // Keep reading so the client's writes succeed and it waits for an answer that never comes.
    pair.client.on('data', () => {});
    pair.client.resume();
  };

  const server = net.createServer((client) => {
    const pair: Pair = { client, upstream: null };
    client.on('error', () => drop(pair));
    client.on('close', () => drop(pair));
    if (mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    pairs.add(pair);
    if (mode === 'blackhole') {
      blackhole(pair);
      return;
    }
    const upstream = net.connect({ host, port: target.port });
    pair.upstream = upstream;
    upstream.on('error', () => drop(pair));
    upstream.on('close', () => {
      if (pair.upstream === upstream) drop(pair);
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    rewrite(url: string): string {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    cut(next: OutageMode = 'reset'): void {
      mode = next;
      for (const pair of [...pairs]) {
        if (next === 'reset') {
          pairs.delete(pair);
          pair.upstream?.destroy();
          pair.client.resetAndDestroy();
        } else {
          blackhole(pair);
        }
      }
    },
    restore(): void {
      if (mode === 'blackhole') for (const pair of [...pairs]) drop(pair);
      mode = 'open';
    },
    connections: () => pairs.size,
    close(): Promise<void> {
      for (const pair of [...pairs]) drop(pair);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
