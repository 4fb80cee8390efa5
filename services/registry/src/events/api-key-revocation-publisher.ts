import { API_KEY_REVOCATIONS_CHANNEL, type ApiKeyRevocationMessage } from '@contender/contracts';
import type { Logger, Redis } from '@contender/platform';

/**
 * Tells serving at once that a key was revoked, so it stops accepting it before its cache entry
 * expires. Best effort, like RegistryEventPublisher: the revocation is committed already, and
 * serving's cache TTL bounds how long a lost message leaves the key usable there. A failed
 * publish is logged and counted, never surfaced to the caller.
 */
export class ApiKeyRevocationPublisher {
  constructor(
    private readonly redis: Pick<Redis, 'publish'>,
    private readonly logger: Logger,
    private readonly onFailure: () => void = () => {},
    private readonly channel: string = API_KEY_REVOCATIONS_CHANNEL,
  ) {}

  async publish(message: ApiKeyRevocationMessage): Promise<void> {
    try {
      await this.redis.publish(this.channel, JSON.stringify({ keyId: message.keyId, keyHash: message.keyHash }));
    } catch (err) {
      this.onFailure();
      // The hash is not the key, but there is no need to log it either: the id names the key.
      this.logger.warn({ err, keyId: message.keyId }, 'API key revocation not published; serving drops the key when its cache entry expires');
    }
  }
}
