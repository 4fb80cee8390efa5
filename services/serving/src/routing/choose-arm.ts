import { ASSIGNMENT_BUCKETS, assignmentBucket, type ServingVariant, type TrafficMode } from '@contender/contracts';

/** Which arm answers, and whether the challenger also scores the request in the background. */
export interface ArmChoice {
  readonly arm: ServingVariant;
  readonly shadow: boolean;
}

/** What routing needs to know of a served model's deployment. */
export interface RoutingPolicy {
  readonly name: string;
  readonly hasChallenger: boolean;
  readonly mode: TrafficMode;
  /** Buckets (of 10,000) that belong to the challenger: challengerPercent × 100. */
  readonly challengerBuckets: number;
}

// Shared, frozen answers: routing runs on every request and needs no object of its own.
const CHAMPION: ArmChoice = Object.freeze({ arm: 'champion', shadow: false });
const CHALLENGER: ArmChoice = Object.freeze({ arm: 'challenger', shadow: false });
const CHAMPION_WITH_SHADOW: ArmChoice = Object.freeze({ arm: 'champion', shadow: true });

/**
 * Routes one request as DESIGN.md says: the entity's sticky bucket (or a random one without an
 * entityId) decides; in `split` mode the challenger's buckets are answered by the challenger, in
 * `shadow` mode the champion answers and the challenger's buckets are also scored by it. A forced
 * variant wins (the caller checks the role and that the arm exists); it is never shadowed.
 */
export function chooseArm(
  policy: RoutingPolicy,
  entityId: string | undefined,
  forced: ServingVariant | undefined,
  random: () => number = Math.random,
): ArmChoice {
  if (forced !== undefined) return forced === 'challenger' ? CHALLENGER : CHAMPION;
  if (!policy.hasChallenger || policy.challengerBuckets <= 0) return CHAMPION;
  const bucket = entityId !== undefined ? assignmentBucket(policy.name, entityId) : Math.floor(random() * ASSIGNMENT_BUCKETS);
  if (bucket >= policy.challengerBuckets) return CHAMPION;
  return policy.mode === 'shadow' ? CHAMPION_WITH_SHADOW : CHALLENGER;
}
