import { z } from 'zod';
import { ModelName } from './registry.js';
import { EntityId } from './serving.js';

/** Which arm a logged prediction came from: `shadow` rows were scored after the response, never answered. */
export const LoggedVariant = z.enum(['champion', 'challenger', 'shadow']);
export type LoggedVariant = z.infer<typeof LoggedVariant>;

const IsoTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-01-31T12:00:00Z' });

/** `POST /feedback`: the observed outcome of one logged prediction. */
export const FeedbackRequest = z.strictObject({
  predictionId: z.uuid({ error: 'must be a UUID (the predictionId returned by /predict)' }),
  label: z
    .number({ error: 'must be a finite number' })
    .describe('the observed outcome: 0 or 1 for a classifier, any finite number for a regressor'),
  at: IsoTime.optional().describe('when the outcome happened; default: when the feedback is received'),
});
export type FeedbackRequest = z.input<typeof FeedbackRequest>;

export const Feedback = z.object({
  predictionId: z.string(),
  label: z.number(),
  at: z.string().describe('when the outcome happened'),
  receivedAt: z.string().describe('when serving first stored this feedback'),
});
export type Feedback = z.infer<typeof Feedback>;

/** `GET /predictions` query. */
export const ListPredictionsQuery = z.object({
  entityId: EntityId,
  model: ModelName.optional(),
  limit: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(500, 'must be at most 500').default(50),
});
export type ListPredictionsQuery = z.input<typeof ListPredictionsQuery>;

export const LoggedPrediction = z.object({
  predictionId: z.string(),
  requestId: z.string(),
  at: z.string(),
  model: z.string(),
  version: z.number().int(),
  variant: LoggedVariant,
  score: z.number().nullable().describe('null only if the score was not a finite number'),
  label: z.number().nullable().describe("the model's predicted label (classifiers), else null"),
  fallback: z.boolean().describe('answered by a fallback (previous champion or default) instead of the routed version'),
  outcome: z
    .object({ label: z.number(), at: z.string(), receivedAt: z.string() })
    .nullable()
    .describe('the feedback for this prediction, if any'),
});
export type LoggedPrediction = z.infer<typeof LoggedPrediction>;

export const PredictionList = z.object({ items: z.array(LoggedPrediction) });
export type PredictionList = z.infer<typeof PredictionList>;
