/**
 * The serving benchmark's load generator: keep-alive HTTP/1.1 over plain `net` sockets, in a
 * process of its own so it does not share the server's event loop. Each request's bytes are made
 * once, before the run, and a response is read only as far as its status line and Content-Length:
 * the generator shares the machine's two cores with the server it measures, and every microsecond
 * it spends per request is taken from that server (node:http's client cost about three times as
 * much per request as this does). Two modes:
 * - closed loop (`rate` unset): `connections` clients, each sends its next request as soon as
 *   the previous answer arrived — the maximum throughput;
 * - open loop (`rate` set): requests are started on a fixed schedule (checked every millisecond),
 *   whatever the server does, so a stall is not hidden by the generator waiting for it; a request
 *   that finds every connection busy waits for one, and its latency counts that wait.
 *
 * Responses must carry Content-Length or be chunked (node:http and express always do one of the
 * two). `Connection: close` in a response closes that connection and opens a new one.
 *
 *   node load-generator.js <spec.json>   → prints a JSON LoadResult on stdout
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { pathToFileURL } from 'node:url';

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

/** The bytes of one request: request line, headers and body. */
export function requestBytes(url: URL, method: string, headers: Record<string, string>, body: Buffer): Buffer {
  let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'content-length' && name.toLowerCase() !== 'host') head += `${name}: ${value}\r\n`;
  }
  head += `Content-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

const HEAD_END = Buffer.from('\r\n\r\n');
const LAST_CHUNK = Buffer.from('\r\n0\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CHUNKED = /\r\ntransfer-encoding:[ \t]*chunked/i;
const CLOSE = /\r\nconnection:[ \t]*close/i;

/** How far a response in `data` goes: its end, status and whether the server closes; null = incomplete. */
export function parseResponse(data: Buffer): { end: number; status: number; close: boolean } | null {
  const headEnd = data.indexOf(HEAD_END);
  if (headEnd < 0) return null;
  const head = data.toString('latin1', 0, headEnd);
  if (!head.startsWith('HTTP/1.')) throw new Error(`not an HTTP/1 response: ${JSON.stringify(head.slice(0, 40))}`);
  const status = Number(head.slice(9, 12));
  const close = CLOSE.test(head);
  const length = CONTENT_LENGTH.exec(head);
  if (length) {
    const end = headEnd + 4 + Number(length[1]);
    return data.length >= end ? { end, status, close } : null;
  }
  if (CHUNKED.test(head)) {
    // The body's own bytes could contain this sequence only inside a chunk; the benchmark's JSON
    // answers never do.
    const last = data.indexOf(LAST_CHUNK, headEnd + 2);
    return last < 0 ? null : { end: last + LAST_CHUNK.length, status, close };
  }
  if (status === 204 || status === 304) return { end: headEnd + 4, status, close };
  throw new Error(`response without Content-Length and not chunked: ${JSON.stringify(head.slice(0, 80))}`);
}

/** One keep-alive connection with at most one request in flight. */
class Connection {
  private socket: net.Socket | null = null;
  private pending: Buffer | null = null;
  private done: ((status: number | null) => void) | null = null;

  constructor(
    private readonly port: number,
    private readonly host: string,
  ) {}

  /** Sends the request; `onDone` gets the status, or null if the connection failed. */
  send(bytes: Buffer, onDone: (status: number | null) => void): void {
    this.done = onDone;
    const socket = this.socket ?? this.open();
    socket.write(bytes);
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private open(): net.Socket {
    const socket = net.connect({ port: this.port, host: this.host, noDelay: true });
    this.socket = socket;
    this.pending = null;
    // Events of a socket this connection has already let go of (closed after `Connection:
    // close`, say) must not touch the request on its successor.
    socket.on('data', (chunk: Buffer) => {
      if (this.socket === socket) this.read(chunk);
    });
    const fail = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      socket.destroy();
      this.finish(null);
    };
    socket.on('error', fail);
    socket.on('close', fail);
    return socket;
  }

  private read(chunk: Buffer): void {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let res: ReturnType<typeof parseResponse>;
    try {
      res = parseResponse(data);
    } catch {
      this.close();
      this.finish(null);
      return;
    }
    if (!res) {
      this.pending = data;
      return;
    }
    this.pending = null;
    if (res.close) this.close();
    this.finish(res.status);
  }

  private finish(status: number | null): void {
    const done = this.done;
    this.done = null;
    done?.(status);
  }
}

/** Runs the load the spec describes and measures it. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const port = Number(url.port || 80);
  const requests = spec.bodies.map((b) => requestBytes(url, spec.method, spec.headers, Buffer.from(b)));
  const connections = Array.from({ length: spec.connections }, () => new Connection(port, url.hostname));
  let next = 0;
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const perSecond: number[][] = [];
  let errors = 0;
  let non2xx = 0;

  const cpuAtStart = process.cpuUsage();
  const start = performance.now();
  const measureFrom = start + spec.warmupMs;
  const end = measureFrom + spec.durationMs;

  const record = (ms: number, status: number | null) => {
    if (status === null) {
      errors++;
      return;
    }
    if (status < 200 || status >= 300) non2xx++;
    const second = Math.floor((performance.now() - measureFrom) / 1000);
    (perSecond[second] ??= []).push(ms);
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = ms;
  };
  const nextRequest = () => requests[next++ % requests.length]!;

  if (spec.rate === undefined) {
    // Closed loop: a connection that failed waits a little before its next request, so a server
    // that refuses connections is not hammered by a busy loop.
    await Promise.all(
      connections.map(
        (c) =>
          new Promise<void>((resolve) => {
            const go = () => {
              if (performance.now() >= end) {
                resolve();
                return;
              }
              const sentAt = performance.now();
              c.send(nextRequest(), (status) => {
                const now = performance.now();
                if (now >= measureFrom) record(now - sentAt, status);
                if (status === null) setTimeout(go, 10);
                else go();
              });
            };
            go();
          }),
      ),
    );
  } else {
    const rate = spec.rate;
    const idle: Connection[] = [...connections];
    // Requests that found no idle connection: when they were due, and whether they count.
    const backlog: Array<{ at: number; measured: boolean }> = [];
    let backlogHead = 0;
    let sent = 0;
    let inflight = 0;
    let drained: (() => void) | null = null;
    const dispatch = (c: Connection, at: number, measured: boolean) => {
      inflight++;
      c.send(nextRequest(), (status) => {
        inflight--;
        if (measured) record(performance.now() - at, status);
        if (backlogHead < backlog.length) {
          const b = backlog[backlogHead++]!;
          if (backlogHead > 1024 && backlogHead * 2 > backlog.length) {
            backlog.splice(0, backlogHead);
            backlogHead = 0;
          }
          dispatch(c, b.at, b.measured);
        } else {
          idle.push(c);
          if (inflight === 0 && drained) drained();
        }
      });
    };
    await new Promise<void>((resolve) => {
      // A timer per millisecond, not a busy loop: the generator must leave the CPU to the server.
      const tick = () => {
        const now = performance.now();
        if (now >= end) {
          resolve();
          return;
        }
        const due = Math.floor(((now - start) / 1000) * rate);
        const measured = now >= measureFrom;
        // Timed from the moment it is handed over: a request that has to wait for a free
        // connection (the server is behind) counts that wait.
        for (; sent < due; sent++) {
          const c = idle.pop();
          if (c) dispatch(c, now, measured);
          else backlog.push({ at: now, measured });
        }
        setTimeout(tick, 1);
      };
      tick();
    });
    if (inflight > 0) await new Promise<void>((resolve) => (drained = resolve));
  }
  for (const c of connections) c.close();
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

// Run as a program (not when a test imports it).
const specFile = process.argv[2];
if (specFile && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runLoad(JSON.parse(readFileSync(specFile, 'utf8')) as LoadSpec).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
