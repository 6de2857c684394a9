import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { BrokerError } from '../errors/catalogue.js';
import { verificationKeyVerdict, type KeyDeclaration, type VerificationAlgorithm } from './key-rules.js';

export interface JwksOptions {
  readonly url: string;
  /** An unknown `kid` triggers at most one refetch per cooldown, however many arrive. */
  readonly refreshCooldownMs?: number;
  /** Known keys are refreshed after this long, so a removed key stops verifying. */
  readonly maxAgeMs?: number;
  /** While the provider is down the last good keys serve this long, then verification fails closed (503). */
  readonly maxStaleMs?: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  /** Told about each failed fetch (the broker logs it). */
  readonly onError?: (error: unknown) => void;
  /** Told about each published key that is refused, and why (the broker logs it). */
  readonly onKeyRefused?: (kid: string, reason: string) => void;
}

export interface JwksKeys {
  /** The PEM public key for this token header, fetching the set again on an unknown `kid`. */
  keyFor(header: { kid?: unknown; alg?: unknown }): Promise<string>;
}

interface KeySet {
  readonly keys: ReadonlyMap<string, { pem: string; algorithm: VerificationAlgorithm }>;
  readonly fetchedAt: number;
}

type PublishedKey = JsonWebKey & KeyDeclaration & { kid?: unknown };

/** The key a JWK publishes, held to the same rules as JWT_PUBLIC_KEY, or why it verifies nothing. */
function trustedKey(jwk: PublishedKey): { pem: string; algorithm: VerificationAlgorithm } | { reason: string } {
  if (jwk.d !== undefined) return { reason: 'it holds private key material' };
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    return { reason: 'it is not a valid public JWK' };
  }
  const verdict = verificationKeyVerdict(key, jwk);
  if (!verdict.ok) return { reason: verdict.reason };
  return { pem: key.export({ type: 'spki', format: 'pem' }).toString(), algorithm: verdict.algorithm };
}

/**
 * A JWKS cache written here rather than taken from get-jwks, which fetches
 * again for every unknown `kid` and so lets anyone with random `kid`s make
 * the broker hammer its identity provider. Here a miss refetches at most
 * once per cooldown.
 */
export function createJwksKeys(options: JwksOptions): JwksKeys {
  const cooldownMs = options.refreshCooldownMs ?? 30_000;
  const maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
  const maxStaleMs = options.maxStaleMs ?? 60 * 60_000;
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  let current: KeySet | undefined;
  let inflight: Promise<KeySet> | undefined;
  let lastMissRefresh = Number.NEGATIVE_INFINITY;
  let lastFailure = Number.NEGATIVE_INFINITY;

  async function download(): Promise<KeySet> {
    const response = await fetchImpl(options.url, { signal: AbortSignal.timeout(5_000), headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`JWKS answered ${response.status}`);
    const body = (await response.json()) as { keys?: unknown };
    const keys = new Map<string, { pem: string; algorithm: VerificationAlgorithm }>();
    if (!Array.isArray(body.keys)) return { keys, fetchedAt: now() }; // no list: a set without keys
    for (const jwk of body.keys as (PublishedKey | null)[]) {
      // Entries without a string kid (null, numbers, strings, lists included) are skipped.
      if (typeof jwk?.kid !== 'string') continue;
      const trusted = trustedKey(jwk);
      if ('reason' in trusted) options.onKeyRefused?.(jwk.kid, trusted.reason);
      else keys.set(jwk.kid, trusted);
    }
    return { keys, fetchedAt: now() };
  }

  async function refresh(): Promise<KeySet | undefined> {
    // After a failure, wait out the cooldown: every request retrying a dead provider would queue behind its timeout.
    if (inflight === undefined && now() - lastFailure < cooldownMs) return usable();
    inflight ??= download().finally(() => {
      inflight = undefined;
    });
    try {
      current = await inflight;
    } catch (error) {
      lastFailure = now();
      options.onError?.(error);
      // Keep the last good set for a while: an identity provider hiccup must not log everyone out.
    }
    return usable();
  }

  /** The last good set, unless it is so old that a key revoked meanwhile could still be verifying. */
  const usable = (): KeySet | undefined => (current && now() - current.fetchedAt <= maxAgeMs + maxStaleMs ? current : undefined);

  return {
    async keyFor(header) {
      const kid = typeof header.kid === 'string' ? header.kid : undefined;
      if (kid === undefined)
        throw new BrokerError('BROKER_UNAUTHENTICATED', 'token header has no "kid"; a JWKS-verified token must name its key');
      const stale = current === undefined || now() - current.fetchedAt > maxAgeMs;
      let set = stale ? await refresh() : current;
      if (set && !set.keys.has(kid) && now() - lastMissRefresh >= cooldownMs) {
        lastMissRefresh = now();
        set = await refresh();
      }
      if (!set) throw new BrokerError('BROKER_AUTH_UNAVAILABLE', "the identity provider's keys (JWKS_URL) could not be fetched");
      const key = set.keys.get(kid);
      if (!key) throw new BrokerError('BROKER_UNAUTHENTICATED', 'token is signed with a key the identity provider does not publish');
      if (key.algorithm !== header.alg) {
        throw new BrokerError('BROKER_UNAUTHENTICATED', 'token algorithm does not match its key');
      }
      return key.pem;
    },
  };
}
