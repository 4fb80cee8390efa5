import { REGISTRY_EVENTS_CHANNEL, type RegistryEventMessage } from '@contender/contracts';
import type { Logger, Redis } from '@contender/platform';

/**
 * Tells serving at once that something changed. Best effort by design: the change is already
 * committed, and serving reconciles on a timer, so a lost message only delays it. A failed publish
 * is logged and counted, never surfaced to the caller.
 */
export class RegistryEventPublisher {
  constructor(
    private readonly redis: Pick<Redis, 'publish'>,
    private readonly logger: Logger,
    private readonly onFailure: () => void = () => {},
    private readonly channel: string = REGISTRY_EVENTS_CHANNEL,
  ) {}

  async publish(message: RegistryEventMessage): Promise<void> {
    try {
      await this.redis.publish(this.channel, JSON.stringify(message));
    } catch (err) {
      this.onFailure();
      this.logger.warn({ err, message }, 'registry event not published; serving will catch up on its next reconcile');
    }
  }
}
