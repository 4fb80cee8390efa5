import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from '@contender/contracts';
import { findExperimentStart } from './experiment.js';

const state = (champion: number | null, challenger: number | null, challengerPercent: number, mode = 'split') => ({
  aliases: { ...(champion ? { champion } : {}), ...(challenger ? { challenger } : {}) },
  traffic: { challengerPercent, mode },
});
let id = 0;
const event = (action: AuditEvent['action'], before: unknown, after: unknown, minute: number): AuditEvent => ({
  id: ++id,
  at: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
  model: 'm',
  actor: 'scheduler',
  action,
  before,
  after,
  reason: null,
});

describe('the start of an experiment', () => {
  it('is the traffic change that gave the current challenger its share', () => {
    const events = [
      event('model.created', null, null, 0),
      event('version.registered', null, { version: 1 }, 1),
      event('alias.set', state(null, null, 0), state(1, null, 0), 2),
      event('alias.set', state(1, null, 0), state(1, 2, 0), 3),
      event('traffic.set', state(1, 2, 0), state(1, 2, 50), 4),
      event('alias.set', state(1, 2, 50), state(1, 2, 50), 5),
    ];
    const start = findExperimentStart(events, { champion: 1, challenger: 2, challengerPercent: 50, mode: 'split' });
    assert.deepEqual(start, { eventId: events[4]!.id, at: new Date(events[4]!.at) });
  });

  it('restarts when the share changes, and is null when the trail does not lead to the current state', () => {
    const events = [
      event('traffic.set', state(1, 2, 0), state(1, 2, 10), 1),
      event('traffic.set', state(1, 2, 10), state(1, 2, 50), 2),
    ];
    assert.equal(findExperimentStart(events, { champion: 1, challenger: 2, challengerPercent: 50, mode: 'split' })?.eventId, events[1]!.id);
    assert.equal(findExperimentStart(events, { champion: 1, challenger: 3, challengerPercent: 50, mode: 'split' }), null);
  });
});
