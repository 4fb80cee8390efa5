import { z } from 'zod';

/** Most characters (UTF-16 code units) in an entity id. */
export const ENTITY_ID_MAX_LENGTH = 256;
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const NO_CONTROL_CHARACTER = /^[^\u0000-\u001f\u007f]*$/;
export const ENTITY_ID_RULE = `1–${ENTITY_ID_MAX_LENGTH} characters, none a control character (U+0000–U+001F, U+007F)`;

/**
 * An entity's id (customer, account, device): the key of the feature cache, of sticky assignment
 * and of the prediction log. One rule wherever an entity id is accepted (/predict, /predict/batch,
 * /features, /predictions): 1–256 characters, no control characters — a NUL would be dropped by
 * the prediction log (Postgres cannot store it) but kept by Redis, so one id would name two
 * entities.
 */
export const EntityId = z
  .string()
  .min(1)
  .max(ENTITY_ID_MAX_LENGTH)
  .regex(NO_CONTROL_CHARACTER, 'must not contain control characters (U+0000–U+001F, U+007F)')
  .describe(ENTITY_ID_RULE);

/** The same rule as `EntityId`, without zod: for the hand-written checks of the hot path. */
export function isEntityId(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= ENTITY_ID_MAX_LENGTH && !CONTROL_CHARACTER.test(value);
}

/**
 * A feature value: a finite number for numeric inputs, a string for string inputs, `null` for
 * missing. (A JSON number beyond ±1.8e308, such as 1e400, parses to Infinity: serving answers 422
 * `invalid_features` for it, naming the feature.)
 */
export const FeatureValue = z.union([z.number(), z.string().max(4096), z.null()]);
export type FeatureValue = z.infer<typeof FeatureValue>;

export const Features = z
  .record(z.string().min(1).max(256), FeatureValue)
  .describe('feature name → value; `null` means missing (NaN for float inputs)');
export type Features = z.infer<typeof Features>;

export const ServingVariant = z.enum(['champion', 'challenger']);
export type ServingVariant = z.infer<typeof ServingVariant>;

const featuresOrEntity = {
  message: 'features are required when there is no entityId (give features, or an entityId whose features are cached)',
  path: ['features'],
};

export const PredictRequest = z
  .strictObject({
    model: z.string().min(1).max(63),
    entityId: EntityId.optional().describe('makes the assignment sticky; without features, reads them from the feature cache'),
    features: Features.optional(),
    variant: ServingVariant.optional().describe('forces an arm; needs role data-scientist or above'),
  })
  .refine((r) => r.entityId !== undefined || r.features !== undefined, featuresOrEntity);
export type PredictRequest = z.infer<typeof PredictRequest>;

export const PredictResponse = z.object({
  predictionId: z.string().uuid(),
  model: z.string(),
  version: z.number().int(),
  variant: ServingVariant,
  score: z.number().describe('positive-class probability for classifiers, the prediction for regressors'),
  label: z.number().int().optional().describe('classifiers only: 1 when score ≥ the version threshold (default 0.5)'),
  fallback: z.literal(true).optional().describe('present when the chosen arm failed and another version answered'),
});
export type PredictResponse = z.infer<typeof PredictResponse>;

export const BatchPredictRow = z
  .strictObject({
    entityId: EntityId.optional(),
    features: Features.optional(),
  })
  .refine((r) => r.entityId !== undefined || r.features !== undefined, featuresOrEntity);

export const BatchPredictRequest = z.strictObject({
  model: z.string().min(1).max(63),
  rows: z.array(BatchPredictRow).min(1).describe('at most MAX_BATCH_ROWS (default 10,000) rows'),
  variant: ServingVariant.optional().describe('forces an arm for every row; needs role data-scientist or above'),
});
export type BatchPredictRequest = z.infer<typeof BatchPredictRequest>;

export const BatchPrediction = PredictResponse.omit({ model: true }).extend({ entityId: z.string().nullable() });
export type BatchPrediction = z.infer<typeof BatchPrediction>;
export const BatchPredictResponse = z.object({
  model: z.string(),
  predictions: z.array(BatchPrediction).describe('one per row, in the order of the request'),
});
export type BatchPredictResponse = z.infer<typeof BatchPredictResponse>;

export const PutFeaturesRequest = z.strictObject({ features: Features });
export type PutFeaturesRequest = z.infer<typeof PutFeaturesRequest>;

export const EntityFeatures = z.object({
  entityId: z.string(),
  features: Features,
  updatedAt: z.string().describe('when these features were written (ISO 8601)'),
  expiresInSeconds: z.number().int().describe('seconds until the cache forgets them'),
});
export type EntityFeatures = z.infer<typeof EntityFeatures>;
