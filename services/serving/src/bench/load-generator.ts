/**
 * A small keep-alive HTTP load generator for the serving benchmark (autocannon is not a
 * dependency). Runs as its own process so it does not share the server's event loop. Two modes:
 * - closed loop (`rate` unset): `connections` clients, each sends its next request as soon as
 *   the previous answer arrived — the maximum throughput;
 * - open loop (`rate` set): requests are started on a fixed schedule (checked every millisecond),
 *   whatever the server does, so a stall is not hidden by the generator waiting for it; latency
 *   includes any wait for a free connection.
 *
 *   node load-generator.js <spec.json>   → prints a JSON LoadResult on stdout
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  /** Request bodies, used in turn. */
  bodies: string[];
  connections: number;
  durationMs: number;
  /** Ignored for the first `warmupMs` of the run. */
  warmupMs: number;
  /** Requests per second (open loop); unset = as fast as possible (closed loop). */
  rate?: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  non2xx: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU the generator itself used, as a share of one core: near 1 means it, not the server, was the limit. */
  generatorCpu: number;
  /** Per second of the measured window: requests, p99 and max latency (ms), to see when a tail happened. */
  seconds: Array<{ requests: number; p99Ms: number; maxMs: number }>;
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections, maxFreeSockets: spec.connections });
  const bodies = spec.bodies.map((b) => Buffer.from(b));
  let measureFrom = Infinity;
  let next = 0;
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const perSecond: number[][] = [];
  let errors = 0;
  let non2xx = 0;
  const record = (ms: number) => {
    const second = Math.floor((performance.now() - measureFrom) / 1000);
    (perSecond[second] ??= []).push(ms);
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = ms;
  };

  const send = (scheduledAt: number, measuring: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const body = bodies[next++ % bodies.length]!;
      const req = http.request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: spec.method,
          headers: { ...spec.headers, 'content-length': body.length },
        },
        (res) => {
          res.on('data', () => {});
          res.on('end', () => {
            if (measuring()) {
              if (res.statusCode! < 200 || res.statusCode! >= 300) non2xx++;
              record(performance.now() - scheduledAt);
            }
            resolve();
          });
        },
      );
      req.on('error', () => {
        if (measuring()) errors++;
        resolve();
      });
      req.end(body);
    });

  const cpuAtStart = process.cpuUsage();
  const start = performance.now();
  measureFrom = start + spec.warmupMs;
  const end = measureFrom + spec.durationMs;
  const measuring = () => performance.now() >= measureFrom;

  if (spec.rate === undefined) {
    await Promise.all(
      Array.from({ length: spec.connections }, async () => {
        while (performance.now() < end) await send(performance.now(), measuring);
      }),
    );
  } else {
    const rate = spec.rate;
    const inflight = new Set<Promise<void>>();
    let sent = 0;
    await new Promise<void>((resolve) => {
      // A timer per millisecond, not a busy loop: the generator must leave the CPU to the server.
      const tick = () => {
        const now = performance.now();
        if (now >= end) {
          resolve();
          return;
        }
        const due = Math.floor(((now - start) / 1000) * rate);
        while (sent < due) {
          const inWindow = now >= measureFrom;
          // Timed from the moment it is handed to the agent: a request that has to wait for a
          // free connection (the server is behind) counts that wait.
          const p = send(now, () => inWindow);
          inflight.add(p);
          void p.then(() => inflight.delete(p));
          sent++;
        }
        setTimeout(tick, 1);
      };
      tick();
    });
    await Promise.all(inflight);
  }
  agent.destroy();
  const cpu = process.cpuUsage(cpuAtStart);
  const wallMs = performance.now() - start;

  const sorted = latencies.subarray(0, count).sort();
  const q = (p: number) => (count ? sorted[Math.min(count - 1, Math.floor(p * count))]! : NaN);
  return {
    requests: count,
    errors,
    non2xx,
    rps: count / (spec.durationMs / 1000),
    p50Ms: q(0.5),
    p90Ms: q(0.9),
    p99Ms: q(0.99),
    maxMs: count ? sorted[count - 1]! : NaN,
    generatorCpu: (cpu.user + cpu.system) / 1000 / wallMs,
    seconds: Array.from(perSecond, (xs = []) => {
      xs.sort((a, b) => a - b);
      return { requests: xs.length, p99Ms: xs[Math.floor(xs.length * 0.99)] ?? NaN, maxMs: xs[xs.length - 1] ?? NaN };
    }),
  };
}

const specFile = process.argv[2];
if (specFile) {
  run(JSON.parse(readFileSync(specFile, 'utf8')) as LoadSpec).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
