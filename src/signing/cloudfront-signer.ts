import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { cloudfrontOrigin, type CloudFrontConfig } from '../config/config.js';
import { encodeKeyForCloudFront } from '../keys/cloudfront-path.js';
import { uriEscape } from './sigv4.js';

// A type alias, not an interface, so it is usable as a record of cookie names to values.
export type SignedCookies = {
  readonly 'CloudFront-Policy': string;
  readonly 'CloudFront-Signature': string;
  readonly 'CloudFront-Key-Pair-Id': string;
  readonly 'CloudFront-Hash-Algorithm'?: string;
};

export interface UrlConditions {
  readonly disposition?: string | undefined;
  /** The URL works only after this instant. */
  readonly notBefore?: Date | undefined;
  /** The URL works only from this IPv4 address or CIDR range (CloudFront matches IPv4 only). */
  readonly sourceIp?: string | undefined;
}

export interface CloudFrontSigner {
  readonly domain: string;
  /** The scheme and host grants name (`https://<domain>`, or the local edge's http origin). */
  readonly origin: string;
  /** The id of the key that signs (the ring's first). */
  readonly keyPairId: string;
  /**
   * A signed URL for one object key: a canned policy, or a custom one when it must also hold a start
   * (`DateGreaterThan`) or a client address (`IpAddress`). `disposition` rides along as a signed
   * `response-content-disposition` query parameter: the distribution forwards it to S3 (README).
   */
  signUrl(key: string, expiresAt: Date, options?: UrlConditions): string;
  /** Signed cookies with a custom policy over `resource` (may end in a `*` wildcard), with a start or an address if given. */
  signCookies(resource: string, expiresAt: Date, conditions?: Omit<UrlConditions, 'disposition'>): SignedCookies;
}

const urlSafeBase64 = (base64: string): string => base64.replace(/[+=/]/gu, (char) => ({ '+': '-', '=': '_', '/': '~' })[char] ?? char);

// Floored, never rounded up: a grant must not last longer than its cap.
export const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/** A custom policy: one statement over `resource`, with the conditions asked for, in the SDK's key order. */
function customPolicy(resource: string, expiresAt: Date, { notBefore, sourceIp }: Omit<UrlConditions, 'disposition'>): string {
  const condition = {
    DateLessThan: { 'AWS:EpochTime': epochSeconds(expiresAt) },
    // Rounded up, unlike the end: a start must never come earlier than asked.
    ...(notBefore === undefined ? {} : { DateGreaterThan: { 'AWS:EpochTime': Math.ceil(notBefore.getTime() / 1000) } }),
    ...(sourceIp === undefined ? {} : { IpAddress: { 'AWS:SourceIp': sourceIp } }),
  };
  return JSON.stringify({ Statement: [{ Resource: resource, Condition: condition }] });
}

/** About 6 MB of policies and signatures at most (and as much again of signed URLs). */
const SIGNATURE_CACHE_ENTRIES = 10_000;

/** A map that keeps its newest `capacity` entries: what is asked again within a window is made once. */
class RecentEntries<Value> {
  readonly #entries = new Map<string, Value>();

  constructor(private readonly capacity: number) {}

  getOrMake(key: string, make: () => Value): Value {
    const cached = this.#entries.get(key);
    if (cached !== undefined) return cached;
    const made = make();
    this.#entries.set(key, made);
    if (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value as string);
    return made;
  }
}

/**
 * Recent signatures by key id and policy. An identical policy (same resource, same expiry second) under
 * the same key needs no new signature: reusing one saves a private-key operation (RSA's PKCS#1 v1.5 gives
 * the same signature anyway; ECDSA's differ but each verifies). Keyed by key id too, so a cache that
 * outlives a rotation never hands out the retired key's signature under the new key's id. Oldest entries go first.
 */
export class SignatureCache {
  readonly #signatures: RecentEntries<string>;

  constructor(capacity = SIGNATURE_CACHE_ENTRIES) {
    this.#signatures = new RecentEntries<string>(capacity);
  }

  /** `signer` names the key and its hash (`K2JCJMDEHXQW5F/SHA256`): one id re-issued with another hash signs anew. */
  getOrSign(signer: string, policy: string, sign: () => string): string {
    return this.#signatures.getOrMake(`${signer}\n${policy}`, sign);
  }
}

/**
 * The end of a CloudFront grant, moved earlier to a window boundary (a tenth of
 * the lifetime, at most a minute) so that grants of the same object in the same
 * window share one policy and so one signature. Never later than asked.
 */
export function shareableExpiry(now: Date, ttlSeconds: number): Date {
  const end = epochSeconds(now) + ttlSeconds;
  const window = Math.min(60, Math.max(1, Math.floor(ttlSeconds / 10)));
  return new Date(Math.floor(end / window) * window * 1000);
}

/** Signs with the ring's first key; the others only matter to whoever verifies (the key group, the local edge). */
export function createCloudFrontSigner(config: CloudFrontConfig, signatures = new SignatureCache()): CloudFrontSigner {
  const [signingKey] = config.keys;
  const { id: keyPairId, hashAlgorithm } = signingKey;
  // Parsed once: parsing the PEM on every call costs more than the signature.
  const privateKey: KeyObject = createPrivateKey(signingKey.privateKey);
  // The digest alone: Node signs PKCS#1 v1.5 with an RSA key and DER-encoded ECDSA with a P-256 key, as openssl does.
  const digest = hashAlgorithm === 'SHA256' ? 'sha256' : 'sha1';
  const origin = cloudfrontOrigin(config);
  // With shareableExpiry() every grant of one object or bundle in the same window has an identical policy.
  const signer = `${keyPairId}/${hashAlgorithm}`;
  const signFresh = (policy: string): string => urlSafeBase64(createSign(digest).update(policy).sign(privateKey, 'base64'));
  const sign = (policy: string): string => signatures.getOrSign(signer, policy, () => signFresh(policy));
  // Canned-policy URLs whole, by expiry, query and key, and cookies without conditions by expiry and resource: a repeated
  // grant skips the path encoding and the policy too. This signer only ever signs with its one key, so neither can
  // outlive a rotation under another key's id.
  const cannedUrls = new RecentEntries<string>(SIGNATURE_CACHE_ENTRIES);
  const plainCookies = new RecentEntries<SignedCookies>(SIGNATURE_CACHE_ENTRIES);
  const cookiesFor = (
    resource: string,
    expiresAt: Date,
    conditions: Omit<UrlConditions, 'disposition'>,
    signWith: (policy: string) => string,
  ): SignedCookies => {
    const policy = customPolicy(resource, expiresAt, conditions);
    return Object.freeze({
      'CloudFront-Policy': urlSafeBase64(Buffer.from(policy).toString('base64')),
      'CloudFront-Signature': signWith(policy),
      'CloudFront-Key-Pair-Id': keyPairId,
      ...(hashAlgorithm === 'SHA256' ? { 'CloudFront-Hash-Algorithm': 'SHA256' } : {}),
    });
  };

  return {
    domain: config.domain,
    origin,
    keyPairId,
    signUrl(key, expiresAt, { disposition, notBefore, sourceIp } = {}) {
      // Hand-built rather than the SDK's getSignedUrl, which decodes and re-encodes
      // the path and so turns an escaped `%2A` back into a wildcard `*`.
      // test/unit/signing/cloudfront-signer.test.ts proves the output equal to the SDK's for ordinary keys.
      // RFC 3986-strict, so no client re-encodes a character of the signed URL (browsers escape `'` in queries).
      const query = disposition === undefined ? '' : `?response-content-disposition=${uriEscape(disposition)}`;
      const expires = epochSeconds(expiresAt);
      const hash = hashAlgorithm === 'SHA256' ? '&Hash-Algorithm=SHA256' : '';
      const separator = query === '' ? '?' : '&';
      if (notBefore === undefined && sourceIp === undefined) {
        return cannedUrls.getOrMake(`${expires}\n${query}\n${key}`, () => {
          const url = `${origin}/${encodeKeyForCloudFront(key)}${query}`;
          const policy = `{"Statement":[{"Resource":"${url}","Condition":{"DateLessThan":{"AWS:EpochTime":${expires}}}}]}`;
          return `${url}${separator}Expires=${expires}&Key-Pair-Id=${keyPairId}&Signature=${signFresh(policy)}${hash}`;
        });
      }
      const url = `${origin}/${encodeKeyForCloudFront(key)}${query}`;
      const policy = customPolicy(url, expiresAt, { notBefore, sourceIp });
      const encoded = urlSafeBase64(Buffer.from(policy).toString('base64'));
      return `${url}${separator}Policy=${encoded}&Key-Pair-Id=${keyPairId}&Signature=${sign(policy)}${hash}`;
    },
    signCookies(resource, expiresAt, conditions = {}) {
      // Same output as the SDK's getSignedCookies (proven in tests), but with the parsed key:
      // the SDK re-parses the PEM on every call, which tripled the cost of a bundle grant.
      if (conditions.notBefore === undefined && conditions.sourceIp === undefined) {
        return plainCookies.getOrMake(`${epochSeconds(expiresAt)}\n${resource}`, () => cookiesFor(resource, expiresAt, {}, signFresh));
      }
      return cookiesFor(resource, expiresAt, conditions, sign);
    },
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Undefined when no CDN is configured: downloads fall back to S3, bundle cookies answer 501. */
    cloudfrontSigner: CloudFrontSigner | undefined;
  }
}

/** Parses the signing key once, at start-up, so a bad key stops the broker rather than the first grant. */
export const cloudfrontSignerPlugin = fp(
  async (app: FastifyInstance, options: { config: CloudFrontConfig | undefined }) => {
    app.decorate('cloudfrontSigner', options.config === undefined ? undefined : createCloudFrontSigner(options.config));
  },
  { name: 'access-broker-cloudfront-signer' },
);
