import { z } from 'zod';
import { Limit, Tags } from './common.js';
import { MODEL_NAME } from './registry.js';

/** Dataset names follow the model-name rule, so `name@version` never needs quoting. */
export const DatasetName = z
  .string()
  .regex(MODEL_NAME, 'must match ^[a-z0-9][a-z0-9._-]{0,62}$ (lowercase letters, digits, ".", "_", "-"; at most 63)');

export const CreateDatasetRequest = z.strictObject({
  name: DatasetName,
  description: z.string().max(4000).optional(),
  tags: Tags.optional(),
});
export type CreateDatasetRequest = z.input<typeof CreateDatasetRequest>;

/** The `metadata` part of a dataset version upload. `source` is free-form lineage (input dataset, model version, run id…). */
export const DatasetVersionMetadata = z.strictObject({
  description: z.string().max(4000).optional(),
  tags: Tags.optional(),
  source: z.record(z.string(), z.unknown()).optional().describe('lineage, e.g. { runId, dataset: "taiwan@3", model: "credit@7" }'),
});
export type DatasetVersionMetadata = z.input<typeof DatasetVersionMetadata>;

export const DatasetVersion = z.object({
  dataset: z.string(),
  version: z.number().int(),
  sha256: z.string(),
  sizeBytes: z.number().int(),
  rows: z.number().int().describe('data records, the header line not counted'),
  columns: z.array(z.string()).describe("the header's column names, in file order"),
  uri: z.string().describe('where the bytes live (s3://… or file://…); read them through …/content'),
  description: z.string().nullable(),
  tags: Tags,
  source: z.record(z.string(), z.unknown()).nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type DatasetVersion = z.infer<typeof DatasetVersion>;

export const Dataset = z.object({
  name: z.string(),
  description: z.string().nullable(),
  tags: Tags,
  latestVersion: z.number().int().nullable(),
  latest: DatasetVersion.nullable().describe('the newest version, or null before the first upload'),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type Dataset = z.infer<typeof Dataset>;

export const ListDatasetsQuery = z.object({ limit: Limit, after: z.string().optional().describe('cursor: the last name of the previous page') });
export const DatasetList = z.object({ items: z.array(Dataset), nextCursor: z.string().nullable() });
export const ListDatasetVersionsQuery = z.object({
  limit: Limit,
  before: z.coerce.number().int().min(1).optional().describe('cursor: versions below this number'),
});
export const DatasetVersionList = z.object({ items: z.array(DatasetVersion), nextCursor: z.number().int().nullable() });

/** A version in a path: a number from 1, or `latest`. */
export const DatasetVersionSelector = z.union([
  z.literal('latest'),
  z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/, 'must be a version number from 1 or "latest"')
    .transform(Number)
    .pipe(z.number().int().min(1).max(2_147_483_647)),
]);

/** One dataset version: `name@3`, or `name` / `name@latest` for the newest one. */
export interface ParsedDatasetRef {
  name: string;
  version: number | 'latest';
}

const REF = /^([^@]+?)(?:@([^@]*))?$/;

/**
 * Parses a dataset reference (`name`, `name@latest` or `name@<version>`). Throws an Error whose
 * message says what is wrong; `DatasetRefString` is the same rule as a zod schema for DAG params.
 */
export function parseDatasetRef(ref: string): ParsedDatasetRef {
  const m = REF.exec(ref.trim());
  if (!m) throw new Error(`dataset reference "${ref}" is not name or name@version`);
  const name = m[1]!;
  if (!MODEL_NAME.test(name)) throw new Error(`dataset reference "${ref}": the name must match ^[a-z0-9][a-z0-9._-]{0,62}$`);
  if (m[2] === undefined || m[2] === 'latest') return { name, version: 'latest' };
  const v = DatasetVersionSelector.safeParse(m[2]);
  if (!v.success) throw new Error(`dataset reference "${ref}": the version must be a number from 1 or "latest"`);
  return { name, version: v.data };
}

/** `name@3`, or `name` for the latest version. */
export function formatDatasetRef(ref: ParsedDatasetRef): string {
  return ref.version === 'latest' ? ref.name : `${ref.name}@${ref.version}`;
}

/** A DAG param holding a dataset reference: validated, kept as the string the user wrote. */
export const DatasetRefString = z
  .string()
  .superRefine((s, ctx) => {
    try {
      parseDatasetRef(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  })
  .describe('a dataset version: name (the latest), name@latest or name@<version>');
