export type PredictionVariant = 'champion' | 'challenger' | 'shadow';
export type FeatureMap = Record<string, number | string | null>;

/** One scored request and arm, as serving hands it to the prediction log. */
export interface PredictionRecord {
  /** uuid v4, made by serving; with `at`, the row's identity: a replay never duplicates it. */
  id: string;
  requestId: string;
  at: Date;
  model: string;
  version: number;
  variant: PredictionVariant;
  entityId: string | null;
  features: FeatureMap | null;
  score: number;
  /** The model's predicted label (classifiers); the observed outcome lives in serving.feedback. */
  label: number | null;
  latencyMs: number;
  fallback: boolean;
}

const VARIANTS: ReadonlySet<string> = new Set(['champion', 'challenger', 'shadow']);
const INT4_MAX = 2_147_483_647;

/**
 * Why this record cannot be written, or null. A record that passes can always be serialised, to
 * the INSERT's columns and to a spill line, so one bad record never blocks those behind it. The
 * cheap-to-spot refusals are caught here; Postgres has the last word (a malformed UUID, a date
 * outside its range) and the writer isolates such a record then.
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

function cleanFeatures(features: FeatureMap | null): FeatureMap | null {
  if (features === null || features === undefined) return null;
  const clean: FeatureMap = {};
  for (const [k, v] of Object.entries(features)) clean[cleanText(k)] = typeof v === 'string' ? cleanText(v) : v;
  return clean;
}

/** JSON has no NaN or Infinity; as strings they reach float8 columns as the values themselves. */
const float = (x: number) => (Number.isFinite(x) ? x : String(x));

/**
 * The records as one JSON array of rows, for `INSERT … SELECT … FROM json_to_recordset($1)`.
 * One string parameter serialised by V8's JSON.stringify is several times cheaper on the event
 * loop than twelve array parameters, whose elements node-postgres escapes one by one; a 500-row
 * batch built that way blocked the loop for 10–35 ms, most of /predict's p99.
 * NaN and Infinity inside `features` become null (what jsonb can hold of them).
 */
export function toJsonRows(records: readonly PredictionRecord[]): string {
  const rows = new Array<unknown>(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    rows[i] = {
      id: r.id,
      request_id: cleanText(r.requestId),
      at: r.at.toISOString(),
      model: cleanText(r.model),
      version: r.version,
      variant: r.variant,
      entity_id: r.entityId === null ? null : cleanText(r.entityId),
      features: cleanFeatures(r.features),
      score: float(r.score),
      label: r.label === null ? null : float(r.label),
      latency_ms: float(r.latencyMs),
      fallback: r.fallback,
    };
  }
  return JSON.stringify(rows);
}

/** One line of the spill file (JSON lines; `at` as ISO 8601). */
export function toSpillLine(r: PredictionRecord): string {
  return JSON.stringify(r);
}

/** Parses a spill line back into a record, or returns null for a torn or foreign line. */
export function fromSpillLine(line: string): PredictionRecord | null {
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
