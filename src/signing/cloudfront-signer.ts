import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { getSignedCookies } from '@aws-sdk/cloudfront-signer';
import type { CloudFrontConfig } from '../config/config.js';

export interface SignedCookies {
  readonly 'CloudFront-Policy': string;
  readonly 'CloudFront-Signature': string;
  readonly 'CloudFront-Key-Pair-Id': string;
  readonly 'CloudFront-Hash-Algorithm'?: string;
}

export interface CloudFrontSigner {
  readonly domain: string;
  readonly keyPairId: string;
  /** A canned-policy signed URL for one object key. */
  signUrl(key: string, expiresAt: Date): string;
  /** Signed cookies with a custom policy over `resource` (may end in a `*` wildcard). */
  signCookies(resource: string, expiresAt: Date): SignedCookies;
}

/**
 * Percent-encodes each key segment. `*` is escaped too (encodeURIComponent
 * leaves it): in a policy it is a wildcard, and a key must never widen a grant.
 * `?` is already escaped, so it cannot start a query string either.
 */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replaceAll('*', '%2A'))
    .join('/');
}

const urlSafeBase64 = (base64: string): string => base64.replace(/[+=/]/gu, (char) => ({ '+': '-', '=': '_', '/': '~' })[char] ?? char);

export const epochSeconds = (date: Date): number => Math.round(date.getTime() / 1000);

export function createCloudFrontSigner(config: CloudFrontConfig): CloudFrontSigner {
  // Parsed once: parsing the PEM on every call costs more than the signature.
  const privateKey: KeyObject = createPrivateKey(config.privateKey);
  const digest = config.hashAlgorithm === 'SHA256' ? 'RSA-SHA256' : 'RSA-SHA1';
  const origin = `https://${config.domain}`;

  return {
    domain: config.domain,
    keyPairId: config.keyPairId,
    signUrl(key, expiresAt) {
      // Hand-built rather than the SDK's getSignedUrl, which decodes and re-encodes
      // the path and so turns an escaped `%2A` back into a wildcard `*`.
      // test/unit/cloudfront-signer.test.ts proves the output equal to the SDK's for ordinary keys.
      const url = `${origin}/${encodeKeyPath(key)}`;
      const expires = epochSeconds(expiresAt);
      const policy = `{"Statement":[{"Resource":"${url}","Condition":{"DateLessThan":{"AWS:EpochTime":${expires}}}}]}`;
      const signature = urlSafeBase64(createSign(digest).update(policy).sign(privateKey, 'base64'));
      const hash = config.hashAlgorithm === 'SHA256' ? '&Hash-Algorithm=SHA256' : '';
      return `${url}?Expires=${expires}&Key-Pair-Id=${config.keyPairId}&Signature=${signature}${hash}`;
    },
    signCookies(resource, expiresAt) {
      const policy = JSON.stringify({ Statement: [{ Resource: resource, Condition: { DateLessThan: { 'AWS:EpochTime': epochSeconds(expiresAt) } } }] });
      const cookies = getSignedCookies({ policy, keyPairId: config.keyPairId, privateKey: config.privateKey, algorithm: config.hashAlgorithm });
      return {
        'CloudFront-Policy': cookies['CloudFront-Policy'] ?? '',
        'CloudFront-Signature': cookies['CloudFront-Signature'],
        'CloudFront-Key-Pair-Id': cookies['CloudFront-Key-Pair-Id'],
        ...(cookies['CloudFront-Hash-Algorithm'] ? { 'CloudFront-Hash-Algorithm': cookies['CloudFront-Hash-Algorithm'] } : {}),
      };
    },
  };
}
