import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/config.js';
import { BrokerError, type ErrorCode } from '../errors/catalogue.js';
import { checkObjectKey, safeFilename } from '../keys/object-key.js';
import type { Principal } from '../auth/principal.js';
import { decide, type Ask, type Decision } from '../policy/decide.js';
import type { Entitlement } from '../policy/entitlement.js';
import { resolvePattern } from '../policy/patterns.js';
import { uploadPrefixes } from '../policy/upload-prefixes.js';
import { encodeKeyPath } from '../keys/key-path.js';
import { shareableExpiry, type CloudFrontSigner, type SignedCookies } from '../signing/cloudfront-signer.js';
import type { S3Signer } from '../signing/s3-signer.js';
import type { EntitlementStore } from '../store/entitlement-store.js';

export interface UploadRequest {
  contentType: string;
  contentLength: number;
  filename?: string;
  key?: string;
  method?: 'PUT' | 'POST';
  ttlSeconds?: number;
}

export type UploadGrant =
  | { method: 'PUT'; url: string; headers: Record<string, string>; key: string; expiresAt: string }
  | { method: 'POST'; url: string; fields: Record<string, string>; key: string; expiresAt: string };

export type DownloadResult = { key: string; url: string; expiresAt: string } | { key: string; error: { code: ErrorCode; detail: string } };

export interface BundleGrant {
  bundleId: string;
  resource: string;
  expiresAt: Date;
  cookiePath: string;
  cookies: SignedCookies;
}

export interface GrantDependencies {
  readonly config: Config;
  readonly store: EntitlementStore;
  readonly s3: S3Signer;
  readonly cloudfront: CloudFrontSigner | undefined;
  readonly now: () => Date;
}

/** Orchestrates one grant: entitlements, decision, key rules, signing. Routes stay thin. */
export class GrantService {
  constructor(private readonly deps: GrantDependencies) {}

  async upload(principal: Principal, request: UploadRequest, log: FastifyBaseLogger): Promise<UploadGrant> {
    const now = this.clock();
    const entitlements = await this.deps.store.liveFor(principal.sub, now);
    const ask = (key: string): Ask => ({
      action: 'write',
      target: { kind: 'key', key },
      contentType: request.contentType,
      contentLength: request.contentLength,
      ttlSeconds: request.ttlSeconds,
    });
    const { key, decision } =
      request.key === undefined
        ? this.generatedKey(principal, request, entitlements, now, ask)
        : { key: validKey(request.key), decision: this.decide(principal, ask(request.key), entitlements, now) };
    logDecision(log, 'upload', key, decision);
    if (!decision.allow) throw new BrokerError(decision.code, decision.reason);

    const expiresAt = s3Expiry(now, decision.ttlSeconds, await this.credentialsDeadline());
    const expiresInSeconds = secondsBetween(now, expiresAt);
    if (request.method === 'POST') {
      const form = await this.deps.s3.presignPost({
        key,
        contentType: request.contentType,
        maxBytes: request.contentLength,
        expiresInSeconds,
      });
      return { method: 'POST', url: form.url, fields: form.fields, key, expiresAt: expiresAt.toISOString() };
    }
    const put = await this.deps.s3.presignPut({
      key,
      contentType: request.contentType,
      contentLength: request.contentLength,
      signingDate: now,
      expiresInSeconds,
    });
    return { method: 'PUT', url: put.url, headers: put.headers, key, expiresAt: expiresAt.toISOString() };
  }

  async downloads(
    principal: Principal,
    keys: readonly string[],
    ttlSeconds: number | undefined,
    log: FastifyBaseLogger,
  ): Promise<DownloadResult[]> {
    const now = this.clock();
    const entitlements = await this.deps.store.liveFor(principal.sub, now);
    const results: DownloadResult[] = [];
    let deadline: Promise<Date | undefined> | undefined; // asked once per request, and only if an S3 grant is made
    for (const key of keys) {
      const check = checkObjectKey(key);
      if (!check.ok) {
        results.push({ key, error: { code: 'BROKER_INVALID_KEY', detail: check.reason } });
        continue;
      }
      const decision = this.decide(principal, { action: 'read', target: { kind: 'key', key }, ttlSeconds }, entitlements, now);
      logDecision(log, 'download', key, decision);
      if (!decision.allow) {
        results.push({ key, error: { code: decision.code, detail: decision.reason } });
        continue;
      }
      const expiresAt = this.deps.cloudfront
        ? shareableExpiry(now, decision.ttlSeconds)
        : s3Expiry(now, decision.ttlSeconds, await (deadline ??= this.credentialsDeadline()));
      const url = this.deps.cloudfront
        ? this.deps.cloudfront.signUrl(key, expiresAt)
        : await this.deps.s3.presignGet({ key, signingDate: now, expiresInSeconds: secondsBetween(now, expiresAt) });
      results.push({ key, url, expiresAt: expiresAt.toISOString() });
    }
    return results;
  }

  async bundleCookies(
    principal: Principal,
    bundleId: string,
    ttlSeconds: number | undefined,
    log: FastifyBaseLogger,
  ): Promise<BundleGrant> {
    const scope = this.bundleScope(principal, bundleId);
    const cloudfront = this.deps.cloudfront;
    if (!cloudfront) throw new BrokerError('BROKER_CDN_NOT_CONFIGURED', 'bundle cookies need CLOUDFRONT_DOMAIN and a CloudFront key pair');
    const now = this.clock();
    const entitlements = await this.deps.store.liveFor(principal.sub, now);
    const decision = this.decide(principal, { action: 'read', target: { kind: 'bundle', bundleId }, ttlSeconds }, entitlements, now);
    logDecision(log, 'bundle', bundleId, decision);
    if (!decision.allow) throw new BrokerError(decision.code, decision.reason);
    const resource = `https://${cloudfront.domain}/${scope.path}`;
    const expiresAt = shareableExpiry(now, decision.ttlSeconds);
    return { bundleId, resource, expiresAt, cookiePath: scope.cookiePath, cookies: cloudfront.signCookies(resource, expiresAt) };
  }

  /** The cookie path a bundle's cookies were set with, so they can be cleared. */
  bundleCookiePath(principal: Principal, bundleId: string): string {
    return this.bundleScope(principal, bundleId).cookiePath;
  }

  private bundleScope(principal: Principal, bundleId: string): { path: string; cookiePath: string } {
    const bundle = this.deps.config.policy.bundles.get(bundleId);
    if (!bundle) throw new BrokerError('BROKER_BUNDLE_NOT_FOUND', `no bundle "${bundleId}" is defined`);
    const resolved = resolvePattern(bundle.resource, principal.claims);
    if (!resolved.ok) throw new BrokerError('BROKER_FORBIDDEN', `bundle "${bundleId}": ${resolved.reason}`);
    // Literal chunks are percent-encoded (a `?` or `*` in them becomes %3F / %2A); only the pattern's own `*` stay wildcards.
    const path = resolved.pattern.chunks.map(encodeKeyPath).join('*');
    const firstChunk = resolved.pattern.chunks[0] ?? '';
    const cookiePath = bundle.cookiePath ?? `/${encodeKeyPath(firstChunk.slice(0, firstChunk.lastIndexOf('/') + 1))}`;
    return { path, cookiePath };
  }

  /** Whole seconds: SigV4 dates and CloudFront epochs have no fractions, so expiresAt says exactly when a grant ends. */
  private clock(): Date {
    return new Date(Math.floor(this.deps.now().getTime() / 1000) * 1000);
  }

  private decide(principal: Principal, ask: Ask, entitlements: readonly Entitlement[], now: Date): Decision {
    return decide({ principal, ask, policy: this.deps.config.policy, entitlements, now, defaults: this.deps.config.grants });
  }

  private generatedKey(
    principal: Principal,
    request: UploadRequest,
    entitlements: readonly Entitlement[],
    now: Date,
    ask: (key: string) => Ask,
  ): { key: string; decision: Decision } {
    const prefixes = uploadPrefixes(principal, this.deps.config.policy, entitlements, now);
    if (prefixes.length === 0) {
      throw new BrokerError(
        'BROKER_FORBIDDEN',
        'no upload location (a "prefix/*" resource with write) is granted to you; name a key you may write',
      );
    }
    const filename = request.filename === undefined ? undefined : safeFilename(request.filename);
    let first: { key: string; decision: Decision } | undefined;
    for (const prefix of prefixes) {
      // A fresh id per upload: a presigned PUT overwrites, so a predictable key would let one grant clobber another's object.
      const key = filename === undefined ? `${prefix}${randomUUID()}` : `${prefix}${randomUUID()}/${filename}`;
      if (!checkObjectKey(key).ok) continue;
      const decision = this.decide(principal, ask(key), entitlements, now);
      if (decision.allow) return { key, decision };
      first ??= { key, decision };
    }
    if (first) return first;
    throw new BrokerError('BROKER_INVALID_KEY', 'no valid key can be generated under your upload prefixes; shorten the filename');
  }

  /** When the S3 signing credentials expire (role sessions), or undefined for long-lived keys. */
  private async credentialsDeadline(): Promise<Date | undefined> {
    try {
      return await this.deps.s3.credentialsExpireAt();
    } catch {
      throw new BrokerError('BROKER_SIGNING_UNAVAILABLE', 'S3 signing credentials could not be loaded');
    }
  }
}

/** An S3 grant never outlives the credentials that sign it. */
function s3Expiry(now: Date, ttlSeconds: number, credentialsExpireAt: Date | undefined): Date {
  const wanted = addSeconds(now, ttlSeconds);
  if (!credentialsExpireAt || credentialsExpireAt >= wanted) return wanted;
  const left = secondsBetween(now, credentialsExpireAt);
  if (left < 1) throw new BrokerError('BROKER_SIGNING_UNAVAILABLE', 'S3 signing credentials have expired');
  return addSeconds(now, left);
}

function validKey(key: string): string {
  const check = checkObjectKey(key);
  if (!check.ok) throw new BrokerError('BROKER_INVALID_KEY', check.reason);
  return key;
}

const addSeconds = (date: Date, seconds: number): Date => new Date(date.getTime() + seconds * 1000);
const secondsBetween = (from: Date, to: Date): number => Math.floor((to.getTime() - from.getTime()) / 1000);

function logDecision(log: FastifyBaseLogger, kind: string, target: string, decision: Decision): void {
  if (decision.allow)
    log.info({ decision: { kind, target, allow: true, source: decision.source, ttlSeconds: decision.ttlSeconds } }, 'grant allowed');
  else log.info({ decision: { kind, target, allow: false, code: decision.code, reason: decision.reason } }, 'grant denied');
}
