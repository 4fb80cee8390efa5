import { z } from 'zod';
import { Limit, Role, SafeString, Tags } from './common.js';

export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const ALIAS_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
export const REGISTRY_EVENTS_CHANNEL = 'contender:registry-events';

export const ModelName = z
  .string()
  .regex(MODEL_NAME, 'must match ^[a-z0-9][a-z0-9._-]{0,62}$ (lowercase letters, digits, ".", "_", "-"; at most 63)');
export const AliasName = z.string().regex(ALIAS_NAME, 'must match ^[a-z][a-z0-9_-]{0,62}$');
export const Task = z.enum(['binary_classification', 'regression']);
export type Task = z.infer<typeof Task>;
export const TrafficMode = z.enum(['split', 'shadow']);
export type TrafficMode = z.infer<typeof TrafficMode>;

/** Percent with at most two decimals: assignment uses 10,000 buckets, so 0.01% is one bucket. */
export const ChallengerPercent = z
  .number()
  .min(0)
  .max(100)
  .refine((v) => Math.abs(v * 100 - Math.round(v * 100)) < 1e-9, 'at most two decimals (one bucket is 0.01%)');

export const TrafficPolicy = z.object({
  challengerPercent: ChallengerPercent,
  mode: TrafficMode,
});
export type TrafficPolicy = z.infer<typeof TrafficPolicy>;

export const CreateModelRequest = z.strictObject({
  name: ModelName,
  description: SafeString.max(4000).optional(),
  task: Task,
  primaryMetric: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default('auc'),
  metricGoal: z.enum(['maximize', 'minimize']).default('maximize').describe('whether a higher primary metric is better'),
  tags: Tags.optional(),
});
export type CreateModelRequest = z.input<typeof CreateModelRequest>;

export const TensorInfo = z.object({
  name: z.string(),
  type: z.string().describe('element type, e.g. float32, int64, string; "non-tensor" for sequences/maps'),
  shape: z.array(z.union([z.number().int(), z.string()])).describe('dimensions; a string names a symbolic or unknown dimension'),
});
export const Signature = z.object({ inputs: z.array(TensorInfo), outputs: z.array(TensorInfo) });
export type Signature = z.infer<typeof Signature>;

export const Model = z.object({
  name: z.string(),
  description: z.string().nullable(),
  task: Task,
  primaryMetric: z.string(),
  metricGoal: z.enum(['maximize', 'minimize']),
  tags: Tags,
  aliases: z.record(z.string(), z.number().int()).describe('alias → version'),
  traffic: TrafficPolicy,
  latestVersion: z.number().int().nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type Model = z.infer<typeof Model>;

export const ListModelsQuery = z.object({ limit: Limit, after: SafeString.optional().describe('cursor: the last name of the previous page') });
export const ModelList = z.object({ items: z.array(Model), nextCursor: z.string().nullable() });

export const DatasetRef = z.strictObject({
  uri: SafeString.min(1).max(2048),
  name: SafeString.max(256).optional().describe('a registry dataset: its `name@version`'),
  sha256: z.string().regex(/^[a-f0-9]{64}$/, 'must be 64 lowercase hex characters').optional(),
  rows: z.number().int().nonnegative().optional(),
});

/** The `metadata` part of a version upload. */
export const VersionMetadata = z.strictObject({
  metrics: z.record(z.string(), z.number().refine(Number.isFinite, 'must be a finite number')).default({}),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
  featureNames: z.array(SafeString.min(1).max(256)).max(10_000).optional(),
  description: SafeString.max(4000).optional(),
  tags: Tags.optional(),
  source: z
    .strictObject({
      runId: SafeString.max(256).optional(),
      gitCommit: z.string().regex(/^[0-9a-f]{7,64}$/, 'must be a hex commit id').optional(),
      dataset: DatasetRef.optional(),
      feedback: z
        .strictObject({
          rows: z.number().int().nonnegative(),
          from: z.string().max(64).nullable().describe('the earliest outcome time (ISO 8601), null when no rows'),
          to: z.string().max(64).nullable().describe('the latest outcome time (ISO 8601), null when no rows'),
        })
        .optional()
        .describe('logged predictions with outcomes that were added to the training rows'),
    })
    .optional(),
  referenceProfile: z.unknown().optional().describe('drift reference profile (JSON) of the training data'),
  scoreOutput: SafeString.optional().describe('the output serving scores from; default: the probability/first float output'),
  threshold: z.number().min(0).max(1).optional().describe('decision threshold for `label`; default 0.5'),
});
export type VersionMetadata = z.input<typeof VersionMetadata>;

export const ModelVersion = z.object({
  model: z.string(),
  version: z.number().int(),
  sha256: z.string(),
  sizeBytes: z.number().int(),
  artifactUri: z.string(),
  signature: Signature,
  featureNames: z.array(z.string()),
  metrics: z.record(z.string(), z.number()),
  params: z.record(z.string(), z.unknown()),
  description: z.string().nullable(),
  tags: Tags,
  source: z.record(z.string(), z.unknown()).nullable(),
  scoreOutput: z.string().nullable(),
  threshold: z.number().nullable(),
  hasReferenceProfile: z.boolean(),
  aliases: z.array(z.string()),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type ModelVersion = z.infer<typeof ModelVersion>;

export const ListVersionsQuery = z.object({
  limit: Limit,
  before: z.coerce.number().int().min(1).optional().describe('cursor: versions below this number'),
});
export const VersionList = z.object({ items: z.array(ModelVersion), nextCursor: z.number().int().nullable() });

export const SetAliasRequest = z.strictObject({
  version: z.number().int().min(1),
  reason: SafeString.max(2000).optional(),
});
export const DeleteAliasQuery = z.object({ reason: SafeString.max(2000).optional() });
export const SetTrafficRequest = TrafficPolicy.extend({ reason: SafeString.max(2000).optional() }).strict();
export const PromoteRequest = z
  .strictObject({ reason: SafeString.max(2000).optional(), force: z.boolean().default(false) })
  .refine((r) => !r.force || (r.reason && r.reason.trim().length > 0), {
    message: 'a forced promotion needs a reason',
    path: ['reason'],
  });
export const RollbackRequest = z.strictObject({ reason: SafeString.max(2000).optional() });

/** What an alias/traffic event's `before` and `after` hold: the model's whole deployment state. */
export const DeploymentState = z.object({
  aliases: z.record(z.string(), z.number().int()),
  traffic: TrafficPolicy,
});
export type DeploymentState = z.infer<typeof DeploymentState>;

export const AuditAction = z.enum([
  'model.created',
  'version.registered',
  'alias.set',
  'alias.deleted',
  'traffic.set',
  'model.promoted',
  'model.rolled_back',
  'api_key.created',
  'api_key.revoked',
  'dataset.created',
  'dataset.version_created',
]);
export type AuditAction = z.infer<typeof AuditAction>;

export const AuditEvent = z.object({
  id: z.number().int(),
  at: z.string(),
  model: z.string().nullable(),
  dataset: z.string().nullable().optional().describe('the dataset of a dataset.* event'),
  actor: z.string(),
  action: AuditAction,
  before: z.unknown().nullable(),
  after: z.unknown().nullable(),
  reason: z.string().nullable(),
});
export type AuditEvent = z.infer<typeof AuditEvent>;
export const ListEventsQuery = z.object({
  limit: Limit,
  after: z.coerce.number().int().min(0).optional().describe('cursor: events with a larger id (oldest first)'),
});
export const EventList = z.object({ items: z.array(AuditEvent), nextCursor: z.number().int().nullable() });

/** The message on `contender:registry-events` after each committed change. */
export const RegistryEventMessage = z.object({ model: z.string().nullable(), action: AuditAction, eventId: z.number().int() });
export type RegistryEventMessage = z.infer<typeof RegistryEventMessage>;

/**
 * Names the platform itself writes: `system` is the actor of what no key did (the bootstrap admin
 * key's creation), `bootstrap-admin` the name of the key BOOTSTRAP_ADMIN_KEY makes. No API call
 * may create a key with either name, in any case; the bootstrap path creates its own.
 */
export const RESERVED_KEY_NAMES = ['system', 'bootstrap-admin'] as const;

export const CreateApiKeyRequest = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$/, 'letters, digits, space, ".", "_", "@", "-"; at most 64')
    .refine((n) => !(RESERVED_KEY_NAMES as readonly string[]).includes(n.toLowerCase()), `is reserved for the platform's own keys (${RESERVED_KEY_NAMES.join(', ')})`),
  role: Role,
});
export const ApiKeyInfo = z.object({
  id: z.number().int(),
  name: z.string(),
  role: Role,
  prefix: z.string().describe('the first characters of the key, to recognise it'),
  createdAt: z.string(),
  createdBy: z.string(),
  revokedAt: z.string().nullable(),
});
export type ApiKeyInfo = z.infer<typeof ApiKeyInfo>;
export const CreatedApiKey = ApiKeyInfo.extend({ key: z.string().describe('shown once; only its hash is stored') });
export const ApiKeyList = z.object({ items: z.array(ApiKeyInfo) });
export const IntrospectRequest = z.strictObject({ key: z.string().min(1).max(512) });
export const IntrospectResponse = z.object({
  active: z.boolean(),
  name: z.string().optional(),
  role: Role.optional(),
  keyId: z.number().int().optional(),
});
export type IntrospectResponse = z.infer<typeof IntrospectResponse>;

/** One version as serving needs it to load and score. */
export const DeployedVersion = z.object({
  version: z.number().int(),
  sha256: z.string(),
  sizeBytes: z.number().int(),
  artifactPath: z.string().describe('path under the registry base URL to GET the bytes'),
  featureNames: z.array(z.string()),
  signature: Signature,
  scoreOutput: z.string().nullable(),
  threshold: z.number().nullable(),
});
export type DeployedVersion = z.infer<typeof DeployedVersion>;

export const Deployment = z.object({
  model: z.string(),
  task: Task,
  champion: DeployedVersion.nullable(),
  challenger: DeployedVersion.nullable(),
  previousChampion: DeployedVersion.nullable().describe('the version a rollback would restore; serving may keep it warm for fallback'),
  traffic: TrafficPolicy,
  revision: z.number().int().describe('id of the last audit event that changed this model'),
});
export type Deployment = z.infer<typeof Deployment>;
export const DeploymentList = z.object({ items: z.array(Deployment), revision: z.number().int() });
export type DeploymentList = z.infer<typeof DeploymentList>;
