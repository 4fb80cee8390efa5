export type PredictionVariant = 'champion' | 'challenger' | 'shadow';
export type FeatureMap = Record<string, number | string | null>;

/** One scored request and arm, as serving hands it to the prediction log. */
export interface PredictionRecord {
  /** A UUID made by serving (v7 since migration 0002, v4 before); with `at`, the row's identity: a replay never duplicates it. */
  id: string;
  requestId: string;
  at: Date;
  model: string;
  version: number;
  variant: PredictionVariant;
  entityId: string | null;
  features: FeatureMap | null;
  /** JSON.stringify(features), when the caller has made it already; never anything else. */
  featuresJson?: string | undefined;
  score: number;
  /** The model's predicted label (classifiers); the observed outcome lives in serving.feedback. */
  label: number | null;
  latencyMs: number;
  fallback: boolean;
}

const VARIANTS: ReadonlySet<string> = new Set(['champion', 'challenger', 'shadow']);
const INT4_MAX = 2_147_483_647;

/**
 * Why this record cannot be written, or null. A record that passes can always be serialised to a
 * COPY line, so one bad record never blocks those behind it. The cheap-to-spot refusals are
 * caught here; Postgres has the last word (a malformed UUID, a date outside its range) and the
 * writer isolates such a row then.
 */
export function recordProblem(r: PredictionRecord): string | null {
  if (typeof r.id !== 'string') return 'id is not a string';
  if (!(r.at instanceof Date) || Number.isNaN(r.at.getTime())) return 'at is not a valid date';
  if (!Number.isInteger(r.version) || r.version < 0 || r.version > INT4_MAX) return 'version is not a 32-bit integer';
  if (!VARIANTS.has(r.variant)) return `variant ${JSON.stringify(r.variant)} is not champion, challenger or shadow`;
  if (typeof r.score !== 'number') return 'score is not a number';
  if (r.label !== null && typeof r.label !== 'number') return 'label is neither a number nor null';
  if (typeof r.latencyMs !== 'number') return 'latencyMs is not a number';
  if (typeof r.fallback !== 'boolean') return 'fallback is not a boolean';
  if (typeof r.requestId !== 'string' || typeof r.model !== 'string') return 'requestId or model is not a string';
  if (r.entityId !== null && typeof r.entityId !== 'string') return 'entityId is neither a string nor null';
  if (r.featuresJson !== undefined && typeof r.featuresJson !== 'string') return 'featuresJson is neither a string nor absent';
  if (r.features !== null) {
    if (typeof r.features !== 'object' || Array.isArray(r.features)) return 'features is neither an object nor null';
    for (const v of Object.values(r.features)) {
      if (v !== null && typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') {
        return 'a feature value is not a number, string or null';
      }
    }
  }
  return null;
}

// NUL cannot be stored in text or jsonb, and a lone UTF-16 surrogate is refused by jsonb; both can
// arrive from clients inside entity ids and string features.
const SUSPECT = /[\u0000\ud800-\udfff]/;

/** `s` as Postgres accepts it: lone surrogates become U+FFFD, NUL characters are removed. */
export function cleanText(s: string): string {
  return SUSPECT.test(s) ? Buffer.from(s, 'utf8').toString('utf8').replaceAll('\u0000', '') : s;
}

function cleanFeatures(features: FeatureMap): FeatureMap {
  const clean: FeatureMap = {};
  for (const [k, v] of Object.entries(features)) clean[cleanText(k)] = typeof v === 'string' ? cleanText(v) : v;
  return clean;
}

/** The columns of serving.prediction in the order of a row's COPY line. */
export const COPY_COLUMNS = [
  'id', 'request_id', 'at', 'model', 'version', 'variant', 'entity_id', 'features', 'score', 'label', 'latency_ms', 'fallback',
] as const;

/**
 * A record on its way to serving.prediction: its identity (for findPending and the rejected file)
 * and its row as one line of Postgres' COPY text format, made when the record is appended. The
 * serialisation is spread over the requests instead of blocking the event loop for a whole batch
 * at flush time, and the line is kept as UTF-8 bytes: one object per prediction survives a
 * young-generation GC instead of the request's parsed body (or the pieces of a concatenated
 * string), which shortened scavenges at 6,000 req/s from 3.1 to 2.0 ms at the median.
 */
export interface LogRow {
  id: string;
  at: Date;
  /** The prediction has a predicted label: a classifier's, whose outcomes are 0 or 1. */
  classifier: boolean;
  /** The COPY line, newline included, as UTF-8. */
  line: Buffer;
}

// COPY text format: backslash, newline, carriage return and tab are the characters with a meaning.
const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const copyField = (s: string): string => {
  const clean = cleanText(s);
  return COPY_SPECIAL.test(clean) ? clean.replace(/[\\\n\r\t]/g, (c) => COPY_ESCAPES[c]!) : clean;
};
// A JSON text from JSON.stringify has no raw control characters; only its backslashes need doubling.
const copyJson = (json: string): string => (json.includes('\\') ? json.replaceAll('\\', '\\\\') : json);
// JSON.stringify writes NUL and lone surrogates as \u escapes, which jsonb refuses. A false alarm
// (an escaped backslash before "u0000") only costs the slow path.
const JSONB_SUSPECT = /\\u(?:0000|d[89a-f])/i;

function featuresJson(features: FeatureMap, made: string | undefined): string {
  const json = made ?? JSON.stringify(features);
  return JSONB_SUSPECT.test(json) ? JSON.stringify(cleanFeatures(features)) : json;
}

/**
 * The record as a COPY line (no trailing newline), or throws for a record recordProblem refuses.
 * float8 reads NaN and ±Infinity as text, so scores keep them; inside `features` (jsonb) they
 * become null. Text is cleaned as cleanText says.
 */
export function toLogRow(r: PredictionRecord): LogRow {
  return { id: r.id, at: r.at, classifier: r.label !== null, line: Buffer.from(toLogLine(r)) };
}

/** The record's COPY line, newline included, as toLogRow makes it (and throws). */
export function toLogLine(r: PredictionRecord): string {
  const problem = recordProblem(r);
  if (problem) throw new TypeError(problem);
  return (
    `${copyField(r.id)}\t${copyField(r.requestId)}\t${r.at.toISOString()}\t${copyField(r.model)}\t${r.version}\t${r.variant}\t` +
    `${r.entityId === null ? '\\N' : copyField(r.entityId)}\t${r.features === null ? '\\N' : copyJson(featuresJson(r.features, r.featuresJson))}\t` +
    `${r.score}\t${r.label === null ? '\\N' : r.label}\t${r.latencyMs}\t${r.fallback ? 't' : 'f'}\n`
  );
}

/** A prediction read back from its COPY line: the columns GET /predictions shows. */
export type PendingPrediction = Pick<PredictionRecord, 'id' | 'requestId' | 'at' | 'model' | 'version' | 'variant' | 'score' | 'label' | 'fallback'> & {
  entityId: string;
};

const COPY_UNESCAPES: Record<string, string> = { '\\\\': '\\', '\\n': '\n', '\\r': '\r', '\\t': '\t' };
const copyUnescape = (s: string): string => (s.includes('\\') ? s.replace(/\\[\\nrt]/g, (e) => COPY_UNESCAPES[e]!) : s);
const FIELD = Object.fromEntries(COPY_COLUMNS.map((c, i) => [c, i])) as Record<(typeof COPY_COLUMNS)[number], number>;

/**
 * The bytes that surround `entityId` in the line of a prediction of that entity (a tab cannot
 * occur inside a COPY field): a cheap first test before parsing a line.
 */
export function entityNeedle(entityId: string): Buffer {
  return Buffer.from(`\t${copyField(entityId)}\t`);
}

/** A row's line parsed back into the prediction it records, or null for a row without an entity. */
export function parseLogLine(row: LogRow): PendingPrediction | null {
  const f = lineText(row).split('\t');
  const entity = f[FIELD.entity_id]!;
  if (f.length !== COPY_COLUMNS.length || entity === '\\N') return null;
  const label = f[FIELD.label]!;
  return {
    id: row.id,
    requestId: copyUnescape(f[FIELD.request_id]!),
    at: row.at,
    model: copyUnescape(f[FIELD.model]!),
    version: Number(f[FIELD.version]),
    variant: f[FIELD.variant] as PredictionVariant,
    entityId: copyUnescape(entity),
    score: Number(f[FIELD.score]),
    label: label === '\\N' ? null : Number(label),
    fallback: f[FIELD.fallback] === 't',
  };
}

/** The rows as COPY input (and as spill file content): their lines, one after the other. */
export function copyData(rows: readonly LogRow[]): Buffer {
  return Buffer.concat(rows.map((r) => r.line));
}

/**
 * A COPY line made by toLogLine (newline optional) back into a row: its identity is read from the
 * line itself. Unlike fromSpillLine it takes any id, for a row Postgres is still to judge.
 */
export function lineToRow(line: string): LogRow {
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  const f = text.split('\t');
  return { id: copyUnescape(f[FIELD.id] ?? ''), at: new Date(f[FIELD.at] ?? NaN), classifier: f[FIELD.label] !== '\\N', line: Buffer.from(`${text}\n`) };
}

/** A row's line as text, without its newline (for people: the rejected file, logs). */
export function lineText(row: LogRow): string {
  return row.line.toString('utf8', 0, row.line.length - 1);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A line of a spill file (without its newline) back into a row, or null for a torn or foreign
 * line. Reads both formats:
 * COPY lines, and the JSON lines (one record each) that spill files held before.
 */
export function fromSpillLine(line: string): LogRow | null {
  if (line.startsWith('{')) {
    const record = fromJsonSpillLine(line);
    if (!record) return null;
    try {
      return toLogRow(record);
    } catch {
      return null;
    }
  }
  const fields = line.split('\t');
  if (fields.length !== COPY_COLUMNS.length || !UUID.test(fields[FIELD.id]!)) return null;
  const at = new Date(fields[FIELD.at]!);
  if (Number.isNaN(at.getTime())) return null;
  return { id: fields[FIELD.id]!, at, classifier: fields[FIELD.label] !== '\\N', line: Buffer.from(`${line}\n`) };
}

/** Parses an old-format spill line (JSON, one record) back into a record, or null. */
function fromJsonSpillLine(line: string): PredictionRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'string' || typeof o.at !== 'string') return null;
  return {
    id: o.id,
    requestId: o.requestId as string,
    at: new Date(o.at),
    model: o.model as string,
    version: o.version as number,
    variant: o.variant as PredictionVariant,
    entityId: (o.entityId ?? null) as string | null,
    features: (o.features ?? null) as FeatureMap | null,
    // JSON has no NaN: a NaN score was spilled as null and comes back as NaN.
    score: typeof o.score === 'number' ? o.score : Number.NaN,
    label: (o.label ?? null) as number | null,
    latencyMs: typeof o.latencyMs === 'number' ? o.latencyMs : Number.NaN,
    fallback: o.fallback as boolean,
  };
}
