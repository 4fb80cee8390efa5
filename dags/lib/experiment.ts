import { DeploymentState, type AuditEvent } from '@contender/contracts';

export interface ExperimentState {
  champion: number;
  challenger: number;
  challengerPercent: number;
  mode: 'split' | 'shadow';
}

export interface ExperimentStart {
  /** the event that set the current champion, challenger, share and mode */
  eventId: number;
  at: Date;
}

function key(s: DeploymentState): string {
  return JSON.stringify([s.aliases.champion ?? null, s.aliases.challenger ?? null, s.traffic.challengerPercent, s.traffic.mode]);
}

/**
 * When the current experiment started: the last audit event (oldest first in `events`) that
 * changed the champion, the challenger, the challenger's share or the mode — usually the traffic
 * change that gave the challenger its share. A change of share restarts the experiment: the SRM
 * test and the arms' composition assume one share throughout. Null when no event leads to the
 * current state (e.g. the trail was cut).
 */
export function findExperimentStart(events: readonly AuditEvent[], current: ExperimentState): ExperimentStart | null {
  const want = JSON.stringify([current.champion, current.challenger, current.challengerPercent, current.mode]);
  let start: ExperimentStart | null = null;
  let state: string | null = null;
  for (const e of events) {
    const before = DeploymentState.safeParse(e.before);
    const after = DeploymentState.safeParse(e.after);
    if (!after.success) continue;
    const k = key(after.data);
    if (!before.success || key(before.data) !== k) start = { eventId: e.id, at: new Date(e.at) };
    state = k;
  }
  return state === want ? start : null;
}
