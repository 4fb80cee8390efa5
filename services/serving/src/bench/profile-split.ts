/**
 * Splits a V8 CPU profile (`node --cpu-prof`) of serving into parts and prints how long each kept
 * the thread busy, optionally next to a second profile and per request:
 *
 *   BENCH_RATE=7100 BENCH_SERVING_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof/a --cpu-prof-interval=200" npm run bench:serving
 *   node services/serving/dist/bench/profile-split.js /tmp/prof/a/*.cpuprofile [/tmp/prof/b/*.cpuprofile] [--requests 85000]
 *   node services/serving/dist/bench/profile-split.js /tmp/prof/a/*.cpuprofile --functions serving/prediction-log
 *
 * Parts under 1 % of the busy time are summed into one line. `--functions PART` lists instead,
 * for the first profile, the functions whose frames the part's samples were attributed to (the
 * innermost frame of the part's code in each stack).
 *
 * A sample belongs to the innermost frame of its stack that is code of a package: a dependency
 * under node_modules (`ioredis`, `pg`, …; node-postgres' own packages count as `pg`, onnxruntime's
 * as `onnxruntime`), or a folder of a workspace (`serving/prediction-log`, `platform`, …). So
 * `Buffer.from` called by the prediction log counts as the log's, and ioredis called by the
 * feature cache as ioredis'. Samples with no such frame are node's own work (`node`: the HTTP
 * parser, socket writes of responses, timers), the GC, V8 outside JavaScript (`(program)`) or idle.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber?: number }; children?: number[] }>;
  samples: number[];
  /** µs before each sample; timeDeltas[i + 1] is how long sample i lasted. */
  timeDeltas: number[];
}

export interface ProfileSplit {
  /** µs of samples that were not idle. */
  busyUs: number;
  idleUs: number;
  /** Busy µs by part, largest first. */
  parts: Array<{ part: string; us: number }>;
  /** Busy µs by part and function (`name file:line` of the frame that decided the part). */
  functions: Map<string, Map<string, number>>;
}

const GROUPS: Array<[RegExp, string]> = [
  [/^(pg|pg-.*)$/, 'pg'],
  [/^onnxruntime-/, 'onnxruntime'],
  [/^(ioredis|redis-parser|redis-errors|standard-as-callback|cluster-key-slot|denque)$/, 'ioredis'],
];

/** The part a frame's script belongs to, or null for node's own scripts and V8's pseudo-frames. */
export function partOf(url: string): string | null {
  if (!url || url.startsWith('node:')) return null;
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (dep) {
    const name = dep[1]!;
    for (const [re, group] of GROUPS) if (re.test(name)) return group;
    return name;
  }
  const own = /\/(services|packages)\/([^/]+)\/(?:dist|src)\/(?:([^/]+)\/)?[^/]+$/.exec(path);
  if (own) return own[1] === 'services' && own[3] ? `${own[2]}/${own[3]}` : own[2]!;
  return 'other scripts';
}

export function splitProfile(profile: CpuProfile): ProfileSplit {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);

  const partById = new Map<number, [part: string, fn: string]>();
  const partOfNode = (id: number): [string, string] => {
    const known = partById.get(id);
    if (known !== undefined) return known;
    const frame = byId.get(id)!.callFrame;
    let found: [string, string];
    if (frame.functionName === '(garbage collector)') found = ['GC', ''];
    else if (frame.functionName === '(idle)') found = ['idle', ''];
    else if (frame.functionName === '(program)') found = ['(program)', ''];
    else {
      found = ['node', describe(frame)];
      for (let cur: number | undefined = id; cur !== undefined; cur = parentOf.get(cur)) {
        const f = byId.get(cur)!.callFrame;
        const p = partOf(f.url);
        if (p !== null) {
          found = [p, describe(f)];
          break;
        }
      }
    }
    partById.set(id, found);
    return found;
  };

  const totals = new Map<string, number>();
  const functions = new Map<string, Map<string, number>>();
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const [part, fn] = partOfNode(profile.samples[i]!);
    totals.set(part, (totals.get(part) ?? 0) + us);
    let byFn = functions.get(part);
    if (!byFn) functions.set(part, (byFn = new Map()));
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
  }
  const idleUs = totals.get('idle') ?? 0;
  totals.delete('idle');
  let busyUs = 0;
  for (const us of totals.values()) busyUs += us;
  const parts = [...totals].map(([part, us]) => ({ part, us })).sort((a, b) => b.us - a.us);
  return { busyUs, idleUs, parts, functions };
}

function describe(f: { functionName: string; url: string; lineNumber?: number }): string {
  const file = f.url.split('/').pop() ?? '';
  return `${f.functionName || '(anonymous)'} ${file}${f.lineNumber !== undefined ? `:${f.lineNumber + 1}` : ''}`;
}

/** The table the command prints: ms per part (and µs per request), a second profile beside the first. */
export function formatSplit(a: ProfileSplit, b?: ProfileSplit, requests?: number): string {
  const fmt = (us: number) => (requests ? `${(us / 1000).toFixed(0)} ms (${(us / requests).toFixed(1)} µs/req)` : `${(us / 1000).toFixed(0)} ms`);
  const us = (s: ProfileSplit, part: string) => s.parts.find((p) => p.part === part)?.us ?? 0;
  const big = (s: ProfileSplit, part: string) => us(s, part) >= s.busyUs / 100;
  const all = [...new Set([...a.parts.map((p) => p.part), ...(b?.parts.map((p) => p.part) ?? [])])];
  const shown = all.filter((n) => big(a, n) || (b && big(b, n)));
  const rest = all.filter((n) => !shown.includes(n));
  const sum = (s: ProfileSplit, names: string[]) => names.reduce((t, n) => t + us(s, n), 0);
  const row = (label: string, names: string[]) => [
    label,
    fmt(sum(a, names)),
    ...(b ? [fmt(sum(b, names)), fmt(sum(a, names) - sum(b, names))] : []),
  ];
  const rows = shown.map((n) => row(n, [n]));
  if (rest.length) rows.push(row(`the rest (${rest.length} parts)`, rest));
  rows.unshift(['busy', fmt(a.busyUs), ...(b ? [fmt(b.busyUs), fmt(a.busyUs - b.busyUs)] : [])]);
  const header = ['part', 'first', ...(b ? ['second', 'first − second'] : [])];
  return [header, ...rows].map((r) => r.join(' | ')).join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const option = (name: string): string | undefined => {
    const at = args.indexOf(name);
    return at >= 0 ? (args.splice(at, 2)[1] ?? '') : undefined;
  };
  const requestsArg = option('--requests');
  const requests = requestsArg === undefined ? undefined : Number(requestsArg);
  const part = option('--functions');
  if (args.length < 1 || args.length > 2 || (requests !== undefined && !(requests > 0)) || part === '') {
    console.error('usage: profile-split.js <a.cpuprofile> [<b.cpuprofile>] [--requests N] [--functions PART]');
    process.exit(2);
  }
  const [a, b] = args.map((f) => splitProfile(JSON.parse(readFileSync(f, 'utf8')) as CpuProfile));
  if (part !== undefined) {
    const byFn = [...(a!.functions.get(part) ?? new Map<string, number>())].sort((x, y) => y[1] - x[1]);
    for (const [fn, us] of byFn.slice(0, 30)) {
      console.log(`${(us / 1000).toFixed(0).padStart(6)} ms${requests ? ` (${(us / requests).toFixed(2)} µs/req)` : ''}  ${fn}`);
    }
  } else {
    console.log(formatSplit(a!, b, requests));
  }
}
