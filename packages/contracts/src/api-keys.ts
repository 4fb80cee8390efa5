import { z } from 'zod';

/**
 * The platform's API key format: `ctk_` and then 12–256 letters, digits, `_` or `-` — what the
 * registry issues (`ctk_` + 256 random bits in base64url), the test keys (`ctk_test_admin_…`) and
 * the documented `ctk_$(openssl rand -hex 32)`. Serving refuses anything else with 401 before it
 * asks the registry, so a guessed key that could never be real costs no introspection call.
 */
export const API_KEY_FORMAT = /^ctk_[A-Za-z0-9_-]{12,256}$/;

export function isApiKeyFormat(key: string): boolean {
  return API_KEY_FORMAT.test(key);
}

/**
 * Redis channel the registry publishes to once a key is revoked (after the revocation is
 * committed); serving drops the key from its auth cache at once instead of trusting it until
 * AUTH_CACHE_TTL_MS is up. The TTL stays the fallback for messages missed.
 */
export const API_KEY_REVOCATIONS_CHANNEL = 'contender:api-key-revocations';

/** A message on `API_KEY_REVOCATIONS_CHANNEL`: the key's id and the sha256 (hex) of the raw key. */
export const ApiKeyRevocationMessage = z.object({
  keyId: z.number().int(),
  keyHash: z.string().regex(/^[0-9a-f]{64}$/, 'must be the sha256 of the key, 64 lowercase hex digits'),
});
export type ApiKeyRevocationMessage = z.infer<typeof ApiKeyRevocationMessage>;
