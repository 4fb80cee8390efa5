import type { DeployedVersion, Task, TrafficMode } from '@contender/contracts';
import type { RoutingPolicy } from '../routing/choose-arm.js';
import type { ScoringVersion } from './loaded-version.js';

/**
 * One model as it is served right now: an immutable snapshot. A change in the registry builds a
 * new snapshot (after loading and warming any new version) and replaces the old one in a single
 * assignment, so a request sees either the old deployment or the new one, never a mix.
 */
export interface ServedModel extends RoutingPolicy {
  readonly task: Task;
  readonly champion: ScoringVersion;
  readonly challenger: ScoringVersion | null;
  /** Kept warm to answer when the champion fails. */
  readonly previousChampion: ScoringVersion | null;
  readonly challengerPercent: number;
  /** The registry's revision of this deployment. */
  readonly revision: number;
}

/** A version the model manager owns: it retires it once no snapshot refers to it. */
export interface ManagedVersion extends ScoringVersion {
  /** Release the resources once the runs in flight have finished. */
  retire(): void;
  /** Resolves once released. */
  readonly released: Promise<void>;
}

export interface VersionLoader {
  /** Fetches, checks, loads and warms the version; rejects if it cannot be served. */
  load(model: string, task: Task, deployed: DeployedVersion): Promise<ManagedVersion>;
}
