import { API_KEY_REVOCATIONS_CHANNEL, ApiKeyRevocationMessage } from '@contender/contracts';
import type { Logger, Redis } from '@contender/platform';
import type { IntrospectionAuth } from './introspection-auth.js';

/**
 * Follows the registry's key revocations on Redis (`contender:api-key-revocations`, messages
 * `{"keyId": n, "keyHash": "<sha256 hex of the key>"}`) on the subscriber connection serving
 * already holds for registry events, and drops each revoked key from the auth cache at once. A
 * message missed while the subscriber was disconnected cannot be replayed, so every reconnect
 * after the first makes the cached keys be checked again on their next use (in the background;
 * AUTH_CACHE_TTL_MS stays the fallback).
 */
export class KeyRevocationListener {
  private readyCount = 0;

  constructor(private readonly deps: { subscriber: Redis; auth: IntrospectionAuth; logger: Logger }) {}

  start(): void {
    const sub = this.deps.subscriber;
    sub.on('message', this.onMessage);
    sub.on('ready', this.onReady);
    // Counts a connection made before start() as the first one.
    if (sub.status === 'ready') this.readyCount = 1;
    sub.subscribe(API_KEY_REVOCATIONS_CHANNEL).catch((err: unknown) => {
      this.deps.logger.warn({ err }, 'subscribing to API key revocations failed; revoked keys stop working within AUTH_CACHE_TTL_MS');
    });
  }

  stop(): void {
    this.deps.subscriber.off('message', this.onMessage);
    this.deps.subscriber.off('ready', this.onReady);
  }

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel !== API_KEY_REVOCATIONS_CHANNEL) return;
    let revocation: ApiKeyRevocationMessage;
    try {
      revocation = ApiKeyRevocationMessage.parse(JSON.parse(message));
    } catch (err) {
      this.deps.logger.warn({ err, message: message.slice(0, 200) }, 'ignoring a malformed API key revocation');
      return;
    }
    const dropped = this.deps.auth.revoke(revocation.keyHash);
    this.deps.logger.info({ keyId: revocation.keyId, dropped }, 'API key revoked');
  };

  private readonly onReady = (): void => {
    if (this.readyCount++ > 0) this.deps.auth.expireAll();
  };
}
