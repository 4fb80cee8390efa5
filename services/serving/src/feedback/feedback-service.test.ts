import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '@contender/platform';
import { FeedbackService, type UnwrittenPredictions } from './feedback-service.js';
import type { PgFeedbackStore, StoredFeedback } from './pg-feedback-store.js';
import type { PgPredictionReadModel } from './pg-prediction-read-model.js';

const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const AT = new Date('2026-11-20T10:00:00Z');
const NOW = new Date('2026-11-21T10:00:00Z');

/** An in-memory feedback table and a prediction table whose rows appear on the n-th lookup. */
function fakeStore(opts: { predictionAppearsOnLookup?: number; classifier?: boolean } = {}) {
  const feedback = new Map<string, StoredFeedback>();
  const calls: string[] = [];
  let lookups = 0;
  const store = {
    async findPrediction() {
      lookups++;
      calls.push('table');
      const n = opts.predictionAppearsOnLookup;
      return n !== undefined && lookups >= n ? { at: AT, classifier: opts.classifier ?? true } : null;
    },
    async insertIfAbsent(f: { predictionId: string; label: number; at: Date }) {
      if (feedback.has(f.predictionId)) return null;
      const row = { predictionId: f.predictionId, label: f.label, at: f.at, receivedAt: NOW };
      feedback.set(f.predictionId, row);
      return row;
    },
    async get(id: string) {
      return feedback.get(id) ?? null;
    },
  };
  return { store: store as unknown as PgFeedbackStore, feedback, calls, lookups: () => lookups };
}

function fakeLog(opts: { pending?: boolean; classifier?: boolean; backlog?: boolean; calls?: string[] } = {}): UnwrittenPredictions {
  return {
    findPending: () => {
      opts.calls?.push('buffer');
      return opts.pending ? { at: AT, classifier: opts.classifier ?? true } : null;
    },
    pendingForEntity: async () => [],
    hasSpillBacklog: () => {
      opts.calls?.push('backlog');
      return opts.backlog ?? false;
    },
  };
}

function service(store: PgFeedbackStore, log: UnwrittenPredictions, notFoundGraceMs = 0) {
  return new FeedbackService({ store, readModel: {} as PgPredictionReadModel, log, notFoundGraceMs, now: () => NOW });
}

const rejectsWith = (p: Promise<unknown>, status: number, code: string) =>
  assert.rejects(p, (err: unknown) => err instanceof AppError && err.status === status && err.code === code);

describe('feedback service', () => {
  it("refuses an outcome other than 0 or 1 for a classifier's prediction, naming the field", async () => {
    for (const label of [0.5, 2, -1]) {
      const { store, feedback } = fakeStore({ predictionAppearsOnLookup: 1 });
      await assert.rejects(service(store, fakeLog()).record({ predictionId: ID, label }), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.status, 422);
        assert.equal(err.code, 'invalid_label');
        assert.match(err.message, /^label: .*classifier.*0 or 1; got /);
        return true;
      });
      assert.equal(feedback.size, 0, 'nothing stored');
    }
    const buffered = fakeStore();
    await rejectsWith(service(buffered.store, fakeLog({ pending: true })).record({ predictionId: ID, label: 0.5 }), 422, 'invalid_label');
  });

  it("takes any number as the outcome of a regressor's prediction", async () => {
    const { store } = fakeStore({ predictionAppearsOnLookup: 1, classifier: false });
    assert.equal((await service(store, fakeLog()).record({ predictionId: ID, label: 1234.5 })).label, 1234.5);
    const buffered = fakeStore();
    assert.equal((await service(buffered.store, fakeLog({ pending: true, classifier: false })).record({ predictionId: ID, label: -3 })).label, -3);
  });

  it('uses a buffered prediction without asking the table', async () => {
    const { store, calls } = fakeStore();
    const stored = await service(store, fakeLog({ pending: true, calls })).record({ predictionId: ID, label: 1 });
    assert.equal(stored.label, 1);
    assert.deepEqual(stored.at, NOW);
    assert.deepEqual(calls, ['buffer']);
  });

  it('reads the spill backlog before the table, so a record replayed in between is never reported missing', async () => {
    const { store, calls } = fakeStore({ predictionAppearsOnLookup: 1 });
    await service(store, fakeLog({ calls })).record({ predictionId: ID, label: 1 });
    assert.deepEqual(calls, ['buffer', 'backlog', 'table']);
  });

  it('keeps looking during the grace period for a prediction another replica has not flushed yet', async () => {
    const fake = fakeStore({ predictionAppearsOnLookup: 3 });
    const stored = await service(fake.store, fakeLog(), 300).record({ predictionId: ID, label: 0 });
    assert.equal(stored.label, 0);
    assert.equal(fake.lookups(), 3);
  });

  it('answers 404 prediction_not_found once the grace period is over', async () => {
    const fake = fakeStore();
    await rejectsWith(service(fake.store, fakeLog(), 60).record({ predictionId: ID, label: 1 }), 404, 'prediction_not_found');
    assert.ok(fake.lookups() >= 2);
    assert.equal(fake.feedback.size, 0);
  });

  it('answers 503 prediction_log_catching_up instead of 404 while spilled predictions wait', async () => {
    const { store } = fakeStore();
    await rejectsWith(service(store, fakeLog({ backlog: true })).record({ predictionId: ID, label: 1 }), 503, 'prediction_log_catching_up');
  });

  it('accepts the same label twice and refuses a different one', async () => {
    const { store } = fakeStore({ predictionAppearsOnLookup: 1 });
    const s = service(store, fakeLog());
    const first = await s.record({ predictionId: ID, label: 1, at: new Date('2026-11-20T12:00:00Z') });
    assert.deepEqual(await s.record({ predictionId: ID, label: 1, at: new Date('2026-11-20T13:00:00Z') }), first);
    await rejectsWith(s.record({ predictionId: ID, label: 0 }), 409, 'feedback_conflict');
  });

  it('stores the prediction id in lower case, as Postgres prints a uuid', async () => {
    const { store, feedback } = fakeStore({ predictionAppearsOnLookup: 1 });
    await service(store, fakeLog()).record({ predictionId: ID.toUpperCase(), label: 1 });
    assert.deepEqual([...feedback.keys()], [ID]);
  });
});
