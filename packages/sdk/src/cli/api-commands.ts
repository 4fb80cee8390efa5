import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ROLES, TrafficMode, VersionMetadata, type ModelVersion, type Role, type Run, type RunStatus } from '@contender/contracts';
import { readCsvRecords } from '@contender/ml';
import { ContenderApiError } from '../client/errors.js';
import { choiceOption, HELP_OPTION, numberOption, usageErrors, UsageError } from './args.js';
import type { CliIo, Command } from './command.js';
import { clients, writeProfile, loadSettings, type Clients } from './config.js';
import { bytes } from './format.js';
import { createProgress } from './progress.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What a subcommand's `run` gets: its positionals, its option values, the clients and the output. */
export interface SubContext {
  args: string[];
  values: Values;
  io: CliIo;
  api: () => Promise<Clients>;
  /** `--json`: the value as JSON on stdout; otherwise `human()`'s lines. */
  print(value: unknown, human: () => string | string[]): void;
}

interface Sub {
  name: string;
  /** e.g. "<model> <file.onnx> [--report report.json | --metadata meta.json]" */
  usage: string;
  summary: string;
  /** the names of the positionals; a trailing "?" makes one optional */
  positionals: string[];
  options?: Options;
  run(ctx: SubContext): Promise<number | void>;
}

const JSON_OPTION = { json: { type: 'boolean' } } as const;

function str(v: Values, key: string): string | undefined {
  const x = v[key];
  return typeof x === 'string' ? x : undefined;
}

function list(v: Values, key: string): string[] {
  const x = v[key];
  return Array.isArray(x) ? (x.filter((s) => typeof s === 'string') as string[]) : typeof x === 'string' ? [x] : [];
}

/** `--param k=v` (repeatable): values parse as JSON when they can (numbers, booleans, objects), else stay strings. */
export function parseParams(pairs: readonly string[], flag = '--param'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new UsageError(`${flag} must be key=value, got ${JSON.stringify(p)}`);
    const raw = p.slice(i + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      /* a plain string */
    }
    out[p.slice(0, i)] = value;
  }
  return out;
}

function positiveInt(value: string | undefined, name: string): number {
  const n = numberOption(value, name, { integer: true, min: 1 });
  if (n === undefined) throw new UsageError(`${name} is required`);
  return n;
}

/** Fixed-width columns for people. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string[] {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  if (cells.length === 0) return [line(headers), '(none)'];
  return [line(headers), ...cells.map(line)];
}

function keyValues(entries: [string, unknown][]): string[] {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${k.padEnd(width)}  ${v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
}

function metricsText(m: Record<string, number>, keys = ['auc', 'logLoss', 'ks']): string {
  return keys
    .filter((k) => m[k] !== undefined)
    .map((k) => `${k} ${m[k]!.toFixed(4)}`)
    .join(' ');
}

function aliasText(aliases: Record<string, number>): string {
  const e = Object.entries(aliases);
  return e.length ? e.map(([a, v]) => `${a}=v${v}`).join(' ') : '-';
}

function group(name: string, summary: string, subs: Sub[]): Command {
  const help = [
    `Usage: contender ${name} <${subs.map((s) => s.name).join('|')}> … [--json]`,
    '',
    summary,
    '',
    ...subs.map((s) => `  contender ${name} ${s.name} ${s.usage}\n      ${s.summary}`),
    '',
    'Every subcommand takes --json (the server\'s answer as JSON on stdout) and -h/--help.',
    EXIT_TEXT,
  ].join('\n');
  return {
    name,
    summary,
    help,
    async run(argv, io) {
      const [subName, ...rest] = argv;
      if (subName === undefined || subName === '--help' || subName === '-h') {
        (subName === undefined ? io.stderr : io.stdout).write(`${help}\n`);
        return subName === undefined ? 2 : 0;
      }
      const sub = subs.find((s) => s.name === subName);
      if (!sub) throw new UsageError(`unknown subcommand "${subName}" (${subs.map((s) => s.name).join(', ')})`);
      return runSub(`${name} ${sub.name}`, sub, rest, io);
    },
  };
}

/** A command with no subcommands (`promote <model>`), same conventions. */
function single(sub: Sub): Command {
  const help = [`Usage: contender ${sub.name} ${sub.usage}`, '', sub.summary, '', '--json prints the server\'s answer as JSON.', EXIT_TEXT].join('\n');
  return {
    name: sub.name,
    summary: sub.summary,
    help,
    run: (argv, io) => runSub(sub.name, sub, argv, io),
  };
}

const EXIT_TEXT = 'Exit codes: 0 done, 1 the server or the data said no (code, message and request id on stderr), 2 bad usage.';

async function runSub(label: string, sub: Sub, argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = usageErrors(() =>
    parseArgs({ args: [...argv], options: { ...HELP_OPTION, ...JSON_OPTION, ...sub.options }, strict: true, allowPositionals: true }),
  );
  if (values.help) {
    io.stdout.write(`Usage: contender ${label} ${sub.usage}\n\n${sub.summary}\n`);
    return 0;
  }
  const required = sub.positionals.filter((p) => !p.endsWith('?')).length;
  if (positionals.length < required) {
    throw new UsageError(`missing ${sub.positionals.slice(positionals.length, required).map((p) => `<${p}>`).join(' ')} (usage: contender ${label} ${sub.usage})`);
  }
  if (positionals.length > sub.positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[sub.positionals.length])}`);
  let cached: Promise<Clients> | undefined;
  const ctx: SubContext = {
    args: positionals,
    values: values as Values,
    io,
    api: () => (cached ??= clients()),
    print(value, human) {
      if (values.json) io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      else {
        const text = human();
        io.stdout.write(`${Array.isArray(text) ? text.join('\n') : text}\n`);
      }
    },
  };
  try {
    return (await sub.run(ctx)) ?? 0;
  } catch (err) {
    if (!(err instanceof ContenderApiError)) throw err;
    if (process.env.CONTENDER_DEBUG) io.stderr.write(`${err.stack}\n`);
    io.stderr.write(`${apiErrorLine(`contender ${label}`, err)}\n`);
    return 1;
  }
}

// ---- models ---------------------------------------------------------------------------------

const modelsCommand = group('models', 'create, list and show models', [
  {
    name: 'create',
    usage: '<name> [--task binary_classification|regression] [--description …] [--primary-metric auc] [--metric-goal maximize|minimize]',
    summary: 'registers a new model name',
    positionals: ['name'],
    options: { task: { type: 'string' }, description: { type: 'string' }, 'primary-metric': { type: 'string' }, 'metric-goal': { type: 'string' } },
    async run({ args, values, api, print }) {
      const task = choiceOption(str(values, 'task'), '--task', ['binary_classification', 'regression'] as const, 'binary_classification');
      const metricGoal = choiceOption(str(values, 'metric-goal'), '--metric-goal', ['maximize', 'minimize'] as const, 'maximize');
      const m = await (await api()).registry.createModel({ name: args[0]!, task, description: str(values, 'description'), primaryMetric: str(values, 'primary-metric'), metricGoal });
      print(m, () => `Created model ${m.name} (${m.task}, primary metric ${m.primaryMetric})`);
    },
  },
  {
    name: 'list',
    usage: '[--limit n]',
    summary: 'every model with its aliases and traffic',
    positionals: [],
    options: { limit: { type: 'string' } },
    async run({ values, api, print }) {
      const { registry } = await api();
      const limit = numberOption(str(values, 'limit'), '--limit', { integer: true, min: 1, max: 1000 });
      const page = await registry.listModels({ limit });
      print(page, () => table(['NAME', 'TASK', 'LATEST', 'ALIASES', 'TRAFFIC'], page.items.map((m) => [m.name, m.task, m.latestVersion, aliasText(m.aliases), `${m.traffic.challengerPercent}% ${m.traffic.mode}`])));
    },
  },
  {
    name: 'show',
    usage: '<name>',
    summary: 'one model: task, aliases, traffic, latest version',
    positionals: ['name'],
    async run({ args, api, print }) {
      const m = await (await api()).registry.getModel(args[0]!);
      print(m, () =>
        keyValues([
          ['name', m.name],
          ['task', m.task],
          ['description', m.description],
          ['primary metric', `${m.primaryMetric} (${m.metricGoal})`],
          ['aliases', aliasText(m.aliases)],
          ['traffic', `${m.traffic.challengerPercent}% to the challenger, ${m.traffic.mode}`],
          ['latest version', m.latestVersion],
          ['created', `${m.createdAt} by ${m.createdBy}`],
        ]),
      );
    },
  },
]);

// ---- versions -------------------------------------------------------------------------------

/** The registry's version metadata out of `contender train`'s report (its other fields are left behind). */
export function metadataFromReport(report: Record<string, unknown>): VersionMetadata {
  const keys = ['metrics', 'params', 'featureNames', 'description', 'tags', 'source', 'referenceProfile', 'scoreOutput', 'threshold'] as const;
  const picked = Object.fromEntries(keys.filter((k) => report[k] !== undefined).map((k) => [k, report[k]]));
  const parsed = VersionMetadata.safeParse(picked);
  if (!parsed.success) throw new UsageError(`the report is not a contender train report: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return picked as VersionMetadata;
}

async function readJsonFile(path: string, flag: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, 'utf8');
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`${flag} ${path}: ${(err as Error).message}`);
  }
}

/** Streams a file with a progress bar on stderr, hashing it on the way. */
async function* streamWithProgress(path: string, io: CliIo, hash: ReturnType<typeof createHash>, label: string): AsyncGenerator<Uint8Array> {
  const size = (await stat(path)).size;
  const progress = createProgress(io.stderr as never, Math.max(1, size), label);
  let sent = 0;
  for await (const chunk of createReadStream(path)) {
    const b = chunk as Buffer;
    hash.update(b);
    sent += b.length;
    progress.update(sent, bytes(sent));
    yield b;
  }
  progress.finish(`${bytes(sent)} sent`);
}

/** Uploads an ONNX file as a new version of `model` (created first when missing and `create` is set). */
export async function uploadVersion(api: Clients, model: string, file: string, metadata: VersionMetadata | undefined, io: CliIo, idempotencyKey?: string): Promise<ModelVersion & { localSha256: string }> {
  const hash = createHash('sha256');
  const v = await api.registry.uploadVersion(model, { artifact: streamWithProgress(file, io, hash, 'upload'), metadata }, { idempotencyKey });
  const localSha256 = hash.digest('hex');
  if (localSha256 !== v.sha256) throw new Error(`the registry stored sha256 ${v.sha256}, the file has ${localSha256}`);
  return { ...v, localSha256 };
}

function versionLines(v: ModelVersion): string[] {
  return keyValues([
    ['version', `${v.model} v${v.version}`],
    ['aliases', v.aliases.join(' ') || '-'],
    ['sha256', v.sha256],
    ['size', bytes(v.sizeBytes)],
    ['features', v.featureNames.length],
    ['metrics', metricsText(v.metrics, Object.keys(v.metrics))],
    ['params', v.params],
    ['source', v.source],
    ['threshold', v.threshold],
    ['reference profile', v.hasReferenceProfile ? 'yes' : 'no'],
    ['created', `${(v as { createdAt?: string }).createdAt ?? '-'} by ${(v as { createdBy?: string }).createdBy ?? '-'}`],
  ]);
}

const versionsCommand = group('versions', 'upload, list, show and download model versions', [
  {
    name: 'upload',
    usage: '<model> <file.onnx> [--report report.json | --metadata meta.json] [--description …]',
    summary: 'registers an ONNX file as the next version (progress on stderr, then the version and its sha256); --report takes contender train\'s report',
    positionals: ['model', 'file.onnx'],
    options: { report: { type: 'string' }, metadata: { type: 'string' }, description: { type: 'string' }, 'idempotency-key': { type: 'string' } },
    async run({ args, values, api, io, print }) {
      const report = str(values, 'report');
      const meta = str(values, 'metadata');
      if (report && meta) throw new UsageError('--report and --metadata exclude each other');
      let metadata: VersionMetadata | undefined;
      if (report) metadata = metadataFromReport(await readJsonFile(report, '--report'));
      else if (meta) metadata = (await readJsonFile(meta, '--metadata')) as VersionMetadata;
      const description = str(values, 'description');
      if (description) metadata = { ...(metadata ?? {}), description };
      const v = await uploadVersion(await api(), args[0]!, args[1]!, metadata, io, str(values, 'idempotency-key'));
      print(v, () => [`Registered ${v.model} v${v.version}`, `  sha256 ${v.sha256} (matches the file)`, `  ${bytes(v.sizeBytes)}, ${v.featureNames.length} features, ${metricsText(v.metrics) || 'no metrics'}`]);
    },
  },
  {
    name: 'list',
    usage: '<model> [--limit n]',
    summary: 'the versions of a model, newest first, with their metrics',
    positionals: ['model'],
    options: { limit: { type: 'string' } },
    async run({ args, values, api, print }) {
      const limit = numberOption(str(values, 'limit'), '--limit', { integer: true, min: 1, max: 1000 });
      const page = await (await api()).registry.listVersions(args[0]!, { limit });
      print(page, () =>
        table(
          ['VERSION', 'ALIASES', 'AUC', 'SHA256', 'CREATED'],
          page.items.map((v) => [v.version, v.aliases.join(' ') || '-', v.metrics.auc?.toFixed(4), v.sha256.slice(0, 12), (v as { createdAt?: string }).createdAt]),
        ),
      );
    },
  },
  {
    name: 'show',
    usage: '<model> <version>',
    summary: 'one version: sha256, signature, metrics, params, lineage',
    positionals: ['model', 'version'],
    async run({ args, api, print }) {
      const v = await (await api()).registry.getVersion(args[0]!, positiveInt(args[1], '<version>'));
      print(v, () => versionLines(v));
    },
  },
  {
    name: 'download',
    usage: '<model> <version> [--out file.onnx]',
    summary: 'writes the version\'s ONNX file (default <model>-v<version>.onnx) and checks its sha256',
    positionals: ['model', 'version'],
    options: { out: { type: 'string' } },
    async run({ args, values, api, print }) {
      const { registry } = await api();
      const version = positiveInt(args[1], '<version>');
      const info = await registry.getVersion(args[0]!, version);
      const body = await registry.downloadArtifact(args[0]!, version);
      const sha256 = createHash('sha256').update(body).digest('hex');
      if (sha256 !== info.sha256) throw new Error(`downloaded bytes have sha256 ${sha256}, the registry records ${info.sha256}`);
      const out = str(values, 'out') ?? `${args[0]}-v${version}.onnx`;
      await writeFile(out, body);
      print({ model: info.model, version, path: out, sha256, sizeBytes: body.length }, () => `Wrote ${out}: ${bytes(body.length)}, sha256 ${sha256}`);
    },
  },
]);

// ---- datasets -------------------------------------------------------------------------------

const datasetsCommand = group('datasets', 'create, upload, list and show datasets (CSV, versioned)', [
  {
    name: 'create',
    usage: '<name> [--description …]',
    summary: 'registers a new dataset name',
    positionals: ['name'],
    options: { description: { type: 'string' } },
    async run({ args, values, api, print }) {
      const d = await (await api()).registry.createDataset({ name: args[0]!, description: str(values, 'description') });
      print(d, () => `Created dataset ${d.name}`);
    },
  },
  {
    name: 'upload',
    usage: '<name> <file.csv> [--metadata meta.json] [--create]',
    summary: 'adds the CSV as the next version (streamed, progress on stderr); --create makes the dataset first when missing',
    positionals: ['name', 'file.csv'],
    options: { metadata: { type: 'string' }, create: { type: 'boolean' }, 'idempotency-key': { type: 'string' } },
    async run({ args, values, api, io, print }) {
      const { registry } = await api();
      const name = args[0]!;
      if (values.create && !(await registry.findDataset(name))) await registry.createDataset({ name });
      const meta = str(values, 'metadata');
      const metadata = meta ? await readJsonFile(meta, '--metadata') : undefined;
      const hash = createHash('sha256');
      const v = await registry.uploadDatasetVersion(name, { file: streamWithProgress(args[1]!, io, hash, 'upload'), metadata }, { idempotencyKey: str(values, 'idempotency-key') });
      const local = hash.digest('hex');
      if (local !== v.sha256) throw new Error(`the registry stored sha256 ${v.sha256}, the file has ${local}`);
      print(v, () => [`Uploaded ${v.dataset}@${v.version}: ${v.rows} rows, ${v.columns.length} columns, ${bytes(v.sizeBytes)}`, `  sha256 ${v.sha256} (matches the file)`]);
    },
  },
  {
    name: 'list',
    usage: '[--limit n]',
    summary: 'every dataset with its latest version',
    positionals: [],
    options: { limit: { type: 'string' } },
    async run({ values, api, print }) {
      const limit = numberOption(str(values, 'limit'), '--limit', { integer: true, min: 1, max: 1000 });
      const page = await (await api()).registry.listDatasets({ limit });
      print(page, () => table(['NAME', 'LATEST', 'ROWS', 'SIZE'], page.items.map((d) => [d.name, d.latestVersion, d.latest?.rows, d.latest ? bytes(d.latest.sizeBytes) : null])));
    },
  },
  {
    name: 'show',
    usage: '<name> [<version>]',
    summary: 'a dataset and its versions, or one version (rows, columns, sha256, lineage)',
    positionals: ['name', 'version?'],
    async run({ args, api, print }) {
      const { registry } = await api();
      if (args[1] !== undefined) {
        const v = await registry.getDatasetVersion({ name: args[0]!, version: positiveInt(args[1], '<version>') });
        print(v, () => keyValues([['version', `${v.dataset}@${v.version}`], ['rows', v.rows], ['columns', v.columns.join(', ')], ['sha256', v.sha256], ['size', bytes(v.sizeBytes)], ['source', v.source], ['created', `${v.createdAt} by ${v.createdBy}`]]));
        return;
      }
      const d = await registry.getDataset(args[0]!);
      const versions = await registry.listDatasetVersions(args[0]!);
      print({ ...d, versions: versions.items }, () => [
        `${d.name}${d.description ? ` — ${d.description}` : ''}`,
        ...table(['VERSION', 'ROWS', 'COLUMNS', 'SIZE', 'SHA256', 'CREATED'], versions.items.map((v) => [v.version, v.rows, v.columns.length, bytes(v.sizeBytes), v.sha256.slice(0, 12), v.createdAt])),
      ]);
    },
  },
]);

// ---- aliases, traffic, promotion ------------------------------------------------------------

const aliasesCommand = group('aliases', 'point an alias (champion, challenger, …) at a version, or remove it', [
  {
    name: 'set',
    usage: '<model> <alias> <version> [--reason …]',
    summary: 'moves the alias to the version (recorded in the audit trail with the reason)',
    positionals: ['model', 'alias', 'version'],
    options: { reason: { type: 'string' } },
    async run({ args, values, api, print }) {
      const m = await (await api()).registry.setAlias(args[0]!, args[1]!, positiveInt(args[2], '<version>'), { reason: str(values, 'reason') });
      print(m, () => `${m.name}: ${aliasText(m.aliases)}`);
    },
  },
  {
    name: 'delete',
    usage: '<model> <alias> [--reason …]',
    summary: 'removes the alias',
    positionals: ['model', 'alias'],
    options: { reason: { type: 'string' } },
    async run({ args, values, api, print }) {
      const m = await (await api()).registry.deleteAlias(args[0]!, args[1]!, { reason: str(values, 'reason') });
      print(m, () => `${m.name}: ${aliasText(m.aliases)}`);
    },
  },
]);

const trafficCommand = group('traffic', "the challenger's share of traffic", [
  {
    name: 'set',
    usage: '<model> <percent> [--mode split|shadow] [--reason …]',
    summary: 'split: that share of requests is answered by the challenger; shadow: the challenger scores them too, the champion answers',
    positionals: ['model', 'percent'],
    options: { mode: { type: 'string' }, reason: { type: 'string' } },
    async run({ args, values, api, print }) {
      const challengerPercent = numberOption(args[1], '<percent>', { min: 0, max: 100 })!;
      const mode = choiceOption(str(values, 'mode'), '--mode', TrafficMode.options, 'split');
      const m = await (await api()).registry.setTraffic(args[0]!, { challengerPercent, mode, reason: str(values, 'reason') });
      print(m, () => `${m.name}: ${m.traffic.challengerPercent}% to the challenger (${m.traffic.mode})`);
    },
  },
]);

const promoteCommand = single({
  name: 'promote',
  usage: '<model> [--reason …] [--force]',
  summary: "moves champion to the challenger's version",
  positionals: ['model'],
  options: { reason: { type: 'string' }, force: { type: 'boolean' } },
  async run({ args, values, api, print }) {
    const m = await (await api()).registry.promote(args[0]!, { reason: str(values, 'reason'), force: values.force === true ? true : undefined });
    print(m, () => `${m.name}: champion is now v${m.aliases.champion} (${aliasText(m.aliases)})`);
  },
});

const rollbackCommand = single({
  name: 'rollback',
  usage: '<model> [--reason …]',
  summary: 'restores the previous champion',
  positionals: ['model'],
  options: { reason: { type: 'string' } },
  async run({ args, values, api, print }) {
    const m = await (await api()).registry.rollback(args[0]!, { reason: str(values, 'reason') });
    print(m, () => `${m.name}: champion is back at v${m.aliases.champion} (${aliasText(m.aliases)})`);
  },
});

const eventsCommand = single({
  name: 'events',
  usage: '<model> [--limit n] [--after id]',
  summary: "the model's audit trail: who moved which alias or traffic, when and why",
  positionals: ['model'],
  options: { limit: { type: 'string' }, after: { type: 'string' } },
  async run({ args, values, api, print }) {
    const limit = numberOption(str(values, 'limit'), '--limit', { integer: true, min: 1, max: 1000 });
    const after = numberOption(str(values, 'after'), '--after', { integer: true, min: 0 });
    const page = await (await api()).registry.events(args[0]!, { limit, after });
    const short = (x: unknown): string => (x === null || x === undefined ? '-' : JSON.stringify(x).slice(0, 60));
    print(page, () => table(['ID', 'AT', 'ACTOR', 'ACTION', 'AFTER', 'REASON'], page.items.map((e) => [e.id, e.at, e.actor, e.action, short(e.after), e.reason])));
  },
});

// ---- predict --------------------------------------------------------------------------------

/** A CSV's rows as feature maps: numbers where a cell is one, null for empty cells, strings otherwise. */
export async function csvRows(path: string, idColumn?: string): Promise<{ entityId?: string; features: Record<string, number | string | null> }[]> {
  const rows: { entityId?: string; features: Record<string, number | string | null> }[] = [];
  let header: string[] | undefined;
  for await (const rec of readCsvRecords(createReadStream(path))) {
    if (!header) {
      header = rec.fields;
      if (idColumn && !header.includes(idColumn)) throw new UsageError(`--id-column ${idColumn} is not a column of ${path}`);
      continue;
    }
    const features: Record<string, number | string | null> = {};
    let entityId: string | undefined;
    header.forEach((col, i) => {
      const cell = rec.fields[i] ?? '';
      if (col === idColumn) entityId = cell;
      else features[col] = cell === '' ? null : Number.isFinite(Number(cell)) ? Number(cell) : cell;
    });
    rows.push(entityId !== undefined ? { entityId, features } : { features });
  }
  return rows;
}

const predictCommand = single({
  name: 'predict',
  usage: "<model> ('{\"feature\": 1.5, …}' | --csv rows.csv [--id-column ID]) [--entity id] [--variant champion|challenger]",
  summary: 'scores one JSON row, or the rows of a CSV as one batch, through serving',
  positionals: ['model', 'row?'],
  options: { csv: { type: 'string' }, 'id-column': { type: 'string' }, entity: { type: 'string' }, variant: { type: 'string' } },
  async run({ args, values, api, print }) {
    const { serving } = await api();
    const model = args[0]!;
    const variant = str(values, 'variant') ? choiceOption(str(values, 'variant'), '--variant', ['champion', 'challenger'] as const, 'champion') : undefined;
    const csv = str(values, 'csv');
    if (csv && args[1]) throw new UsageError('give a JSON row or --csv, not both');
    if (csv) {
      const rows = await csvRows(csv, str(values, 'id-column'));
      if (rows.length === 0) throw new UsageError(`--csv ${csv} has no data rows`);
      const res = await serving.predictBatch({ model, rows, variant });
      print(res, () => table(['ROW', 'ENTITY', 'VERSION', 'VARIANT', 'SCORE', 'LABEL', 'PREDICTION ID'], res.predictions.map((p, i) => [i + 1, p.entityId, p.version, p.variant, p.score.toFixed(4), p.label, p.predictionId])));
      return;
    }
    const entityId = str(values, 'entity');
    let features: Record<string, unknown> | undefined;
    if (args[1] !== undefined) {
      try {
        features = JSON.parse(args[1]) as Record<string, unknown>;
      } catch (err) {
        throw new UsageError(`the row must be a JSON object of features: ${(err as Error).message}`);
      }
      if (!features || typeof features !== 'object' || Array.isArray(features)) throw new UsageError('the row must be a JSON object of features');
    }
    if (!features && !entityId) throw new UsageError('give a JSON row, --csv or --entity');
    const res = await serving.predict({ model, entityId, features: features as never, variant });
    print(res, () => `${res.model} v${res.version} (${res.variant}${res.fallback ? ', fallback' : ''}): score ${res.score.toFixed(4)}${res.label !== undefined ? `, label ${res.label}` : ''}  prediction ${res.predictionId}`);
  },
});

const feedbackCommand = single({
  name: 'feedback',
  usage: '<prediction-id> <label> [--at ISO-time]',
  summary: 'records the observed outcome (label) of a logged prediction',
  positionals: ['prediction-id', 'label'],
  options: { at: { type: 'string' } },
  async run({ args, values, api, print }) {
    const label = numberOption(args[1], '<label>')!;
    const f = await (await api()).serving.feedback({ predictionId: args[0]!, label, at: str(values, 'at') });
    print(f, () => `Recorded outcome ${f.label} for ${f.predictionId}`);
  },
});

// ---- runs, schedules, DAGs ------------------------------------------------------------------

const TERMINAL: readonly RunStatus[] = ['succeeded', 'failed', 'skipped', 'cancelled'];

function runLines(r: Run): string[] {
  const progress = r.progress ? `  progress ${r.progress.step ? `${r.progress.step}: ` : ''}${r.progress.done}${r.progress.total ? `/${r.progress.total}` : ''}${r.progress.unit ? ` ${r.progress.unit}` : ''}` : '';
  return [
    `run ${r.id}: ${r.dag} for ${r.model}, ${r.status}${r.reason ? ` (${r.reason})` : ''}${r.cancelRequested && !TERMINAL.includes(r.status) ? ', cancel requested' : ''}`,
    `  trigger ${r.trigger}${r.cause ? ` (${r.cause})` : ''}, created ${r.createdAt}${r.finishedAt ? `, finished ${r.finishedAt}` : ''}`,
    ...(progress ? [progress] : []),
    ...table(['STEP', 'STATUS', 'ATTEMPTS', 'STARTED', 'FINISHED', 'ERROR'], r.steps.map((s) => [s.name, s.status, s.attempts, s.startedAt, s.finishedAt, s.error ? String(typeof s.error === 'string' ? s.error : JSON.stringify(s.error)).slice(0, 80) : null])).map((l) => `  ${l}`),
    ...(r.error ? [`  error: ${typeof r.error === 'object' && r.error && 'message' in r.error ? (r.error as { message: string }).message : JSON.stringify(r.error)}`] : []),
  ];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const runsCommand = group('runs', 'trigger, list, show, cancel and watch pipeline runs (the scheduler)', [
  {
    name: 'trigger',
    usage: '<dag> <model> [--param key=value …] [--watch]',
    summary: 'starts a run now; values parse as JSON when they can (--param challengerPercent=20)',
    positionals: ['dag', 'model'],
    options: { param: { type: 'string', multiple: true }, watch: { type: 'boolean' }, interval: { type: 'string' } },
    async run(ctx) {
      const { args, values, api, print } = ctx;
      const params = parseParams(list(values, 'param'));
      const res = await (await api()).scheduler.triggerRun(args[0]!, { model: args[1]!, params: Object.keys(params).length ? params : undefined });
      if (values.watch) return watchRun(ctx, res.runId);
      print(res, () => `run ${res.runId}: ${res.status} (contender runs watch ${res.runId})`);
    },
  },
  {
    name: 'list',
    usage: '[--dag d] [--model m] [--status s] [--limit n]',
    summary: 'runs, newest first',
    positionals: [],
    options: { dag: { type: 'string' }, model: { type: 'string' }, status: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
    async run({ values, api, print }) {
      const limit = numberOption(str(values, 'limit'), '--limit', { integer: true, min: 1, max: 1000 });
      const page = await (await api()).scheduler.listRuns({ dag: str(values, 'dag'), model: str(values, 'model'), status: str(values, 'status') as RunStatus | undefined, limit, cursor: str(values, 'cursor') });
      print(page, () => table(['ID', 'DAG', 'MODEL', 'STATUS', 'TRIGGER', 'CREATED', 'FINISHED'], page.items.map((r) => [r.id, r.dag, r.model, r.status + (r.reason ? ` (${r.reason.slice(0, 50)})` : ''), r.trigger, r.createdAt, r.finishedAt])));
    },
  },
  {
    name: 'show',
    usage: '<run-id>',
    summary: 'one run: status, progress, steps with attempts and errors, output',
    positionals: ['run-id'],
    async run({ args, api, print }) {
      const r = await (await api()).scheduler.getRun(args[0]!);
      print(r, () => runLines(r));
    },
  },
  {
    name: 'cancel',
    usage: '<run-id>',
    summary: 'cancels a queued or running run',
    positionals: ['run-id'],
    async run({ args, api, print }) {
      const r = await (await api()).scheduler.cancelRun(args[0]!);
      print(r, () => runLines(r));
    },
  },
  {
    name: 'watch',
    usage: '<run-id> [--interval ms]',
    summary: 'polls the run and shows its progress and steps until it ends; exit 1 when it did not succeed',
    positionals: ['run-id'],
    options: { interval: { type: 'string' } },
    run: (ctx) => watchRun(ctx, ctx.args[0]!),
  },
]);

async function watchRun({ values, api, io, print }: SubContext, runId: string): Promise<number> {
  const interval = numberOption(str(values, 'interval'), '--interval', { integer: true, min: 50 }) ?? 1000;
  const { scheduler } = await api();
  let lastText = '';
  for (;;) {
    const r = await scheduler.getRun(runId);
    if (!values.json) {
      const text = runLines(r).join('\n');
      if (text !== lastText) io.stderr.write(`${text}\n`);
      lastText = text;
    }
    if (TERMINAL.includes(r.status)) {
      print(r, () => `run ${r.id} ${r.status}`);
      return r.status === 'succeeded' ? 0 : 1;
    }
    await sleep(interval);
  }
}

const schedulesCommand = group('schedules', "a DAG's schedule per model (cron, params, on/off)", [
  {
    name: 'set',
    usage: '<dag> <model> [--cron "0 3 * * *"] [--param key=value …] [--enable | --disable]',
    summary: "creates or changes the schedule (cron in UTC, node-cron syntax; default: the DAG's); omitted fields keep their value",
    positionals: ['dag', 'model'],
    options: { cron: { type: 'string' }, param: { type: 'string', multiple: true }, enable: { type: 'boolean' }, disable: { type: 'boolean' } },
    async run({ args, values, api, print }) {
      if (values.enable && values.disable) throw new UsageError('--enable and --disable exclude each other');
      const pairs = list(values, 'param');
      const s = await (await api()).scheduler.setSchedule(args[0]!, args[1]!, {
        cron: str(values, 'cron'),
        params: pairs.length ? parseParams(pairs) : undefined,
        enabled: values.enable ? true : values.disable ? false : undefined,
      });
      print(s, () => `${s.dag} for ${s.model}: "${s.cron}" ${s.enabled ? `enabled, next run ${s.nextRun}` : 'disabled'}, params ${JSON.stringify(s.params)}`);
    },
  },
  {
    name: 'list',
    usage: '[--dag d] [--model m]',
    summary: 'schedules with their next run',
    positionals: [],
    options: { dag: { type: 'string' }, model: { type: 'string' } },
    async run({ values, api, print }) {
      const res = await (await api()).scheduler.listSchedules({ dag: str(values, 'dag'), model: str(values, 'model') });
      print(res, () => table(['DAG', 'MODEL', 'CRON', 'ENABLED', 'NEXT RUN', 'PARAMS'], res.items.map((s) => [s.dag, s.model, s.cron, s.enabled ? 'yes' : 'no', s.nextRun, JSON.stringify(s.params)])));
    },
  },
  {
    name: 'delete',
    usage: '<dag> <model>',
    summary: 'removes the schedule',
    positionals: ['dag', 'model'],
    async run({ args, api, print }) {
      await (await api()).scheduler.deleteSchedule(args[0]!, args[1]!);
      print({ dag: args[0], model: args[1], deleted: true }, () => `Deleted the ${args[0]} schedule of ${args[1]}`);
    },
  },
]);

const dagsCommand = group('dags', 'the pipelines the scheduler runs', [
  {
    name: 'list',
    usage: '',
    summary: 'each DAG with its steps and default cron',
    positionals: [],
    async run({ api, print }) {
      const res = await (await api()).scheduler.listDags();
      print(res, () => table(['DAG', 'CRON', 'STEPS', 'DESCRIPTION'], res.items.map((d) => [d.id, d.cron, d.steps.map((s) => s.name).join(' → '), d.description])));
    },
  },
  {
    name: 'show',
    usage: '<dag>',
    summary: 'a DAG: params (JSON Schema), schedules, next and last run',
    positionals: ['dag'],
    async run({ args, api, print }) {
      const d = await (await api()).scheduler.getDag(args[0]!);
      print(d, () => [
        ...keyValues([['dag', d.id], ['description', d.description], ['cron', d.cron], ['steps', d.steps.map((s) => s.name).join(' → ')], ['next run', d.nextRun], ['last run', d.lastRun ? `${d.lastRun.id} ${d.lastRun.status}` : null]]),
        'params:',
        JSON.stringify(d.params, null, 2),
      ]);
    },
  },
]);

// ---- reports --------------------------------------------------------------------------------

function reportCommand(name: 'experiment' | 'drift', summary: string): Command {
  return single({
    name,
    usage: '<model> [--history n]',
    summary,
    positionals: ['model'],
    options: { history: { type: 'string' } },
    async run({ args, values, api, print }) {
      const { scheduler } = await api();
      const history = numberOption(str(values, 'history'), '--history', { integer: true, min: 1, max: 100 });
      if (history !== undefined) {
        const res = name === 'drift' ? await scheduler.driftHistory(args[0]!, history) : await scheduler.evaluationHistory(args[0]!, history);
        print(res, () => table(['RUN', 'FINISHED', 'VERDICT'], res.items.map((r) => [r.runId, r.finishedAt, verdictOf(r.report)])));
        return;
      }
      const r = name === 'drift' ? await scheduler.driftReport(args[0]!) : await scheduler.evaluationReport(args[0]!);
      print(r, () => [`${name === 'drift' ? 'drift' : 'evaluation'} of ${r.model}: run ${r.runId}, finished ${r.finishedAt}`, `  verdict ${verdictOf(r.report)}`, JSON.stringify(r.report, null, 2)]);
    },
  });
}

function verdictOf(report: unknown): string {
  if (report && typeof report === 'object') {
    const v = (report as { verdict?: unknown; decision?: unknown }).verdict ?? (report as { decision?: unknown }).decision;
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object') return JSON.stringify(v).slice(0, 100);
  }
  return '-';
}

const experimentCommand = reportCommand('experiment', 'the latest evaluation report of the champion–challenger experiment');
const driftCommand = reportCommand('drift', 'the latest drift report (PSI per feature, verdict, retrain decision)');

// ---- keys, login ----------------------------------------------------------------------------

const keysCommand = group('keys', 'API keys (role admin)', [
  {
    name: 'create',
    usage: `<name> --role ${ROLES.join('|')}`,
    summary: 'a new key; the key itself is printed once',
    positionals: ['name'],
    options: { role: { type: 'string' } },
    async run({ args, values, api, print }) {
      const role = str(values, 'role');
      if (!role) throw new UsageError('--role is required');
      const k = await (await api()).registry.createApiKey({ name: args[0]!, role: choiceOption(role, '--role', ROLES, ROLES[0]) as Role });
      print(k, () => [`Created key ${k.id} "${k.name}" (${k.role}); it is shown this once:`, k.key]);
    },
  },
  {
    name: 'list',
    usage: '',
    summary: 'keys with their role, prefix and revocation',
    positionals: [],
    async run({ api, print }) {
      const res = await (await api()).registry.listApiKeys();
      print(res, () => table(['ID', 'NAME', 'ROLE', 'PREFIX', 'CREATED', 'REVOKED'], res.items.map((k) => [k.id, k.name, k.role, k.prefix, k.createdAt, k.revokedAt])));
    },
  },
  {
    name: 'revoke',
    usage: '<id>',
    summary: 'revokes a key at once (serving and the scheduler drop it too)',
    positionals: ['id'],
    async run({ args, api, print }) {
      const k = await (await api()).registry.revokeApiKey(positiveInt(args[0], '<id>'));
      print(k, () => `Revoked key ${k.id} "${k.name}"`);
    },
  },
]);

const loginCommand = single({
  name: 'login',
  usage: '[--key KEY | --key-file file] [--registry-url u] [--serving-url u] [--scheduler-url u]',
  summary: 'checks a key with the registry and keeps it in the profile (~/.config/contender/profile.json, mode 0600)',
  positionals: [],
  options: { key: { type: 'string' }, 'key-file': { type: 'string' }, 'registry-url': { type: 'string' }, 'serving-url': { type: 'string' }, 'scheduler-url': { type: 'string' } },
  async run({ values, io, print }) {
    const keyFile = str(values, 'key-file');
    const key = str(values, 'key') ?? (keyFile ? (await readFile(keyFile, 'utf8')).trim() : process.env.CONTENDER_API_KEY);
    if (!key) throw new UsageError('give --key, --key-file or CONTENDER_API_KEY');
    const current = await loadSettings();
    const profile = {
      registryUrl: str(values, 'registry-url') ?? current.registryUrl,
      servingUrl: str(values, 'serving-url') ?? current.servingUrl,
      schedulerUrl: str(values, 'scheduler-url') ?? current.schedulerUrl,
      apiKey: key,
    };
    const { RegistryClient } = await import('../client/registry-client.js');
    const who = await new RegistryClient({ baseUrl: profile.registryUrl }).introspect(key);
    if (!who.active) {
      io.stderr.write(`contender login: the registry at ${profile.registryUrl} does not know this key (inactive or revoked)\n`);
      return 1;
    }
    const path = await writeProfile(profile);
    print({ path, name: who.name, role: who.role, keyId: who.keyId, registryUrl: profile.registryUrl, servingUrl: profile.servingUrl, schedulerUrl: profile.schedulerUrl }, () => `Logged in as "${who.name}" (${who.role}) at ${profile.registryUrl}; profile ${path} (mode 0600)`);
  },
});

/** The commands that talk to the services. */
export const API_COMMANDS: readonly Command[] = [
  loginCommand,
  modelsCommand,
  versionsCommand,
  datasetsCommand,
  aliasesCommand,
  trafficCommand,
  promoteCommand,
  rollbackCommand,
  eventsCommand,
  predictCommand,
  feedbackCommand,
  runsCommand,
  schedulesCommand,
  dagsCommand,
  experimentCommand,
  driftCommand,
  keysCommand,
];

/** One line for a server's refusal: code, message, request id. */
export function apiErrorLine(prefix: string, err: ContenderApiError): string {
  const status = err.status ? `${err.status} ` : '';
  return `${prefix}: ${status}${err.code}: ${err.message.split('\n')[0]}${err.requestId ? ` (request ${err.requestId})` : ''}`;
}
