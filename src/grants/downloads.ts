import { BrokerError } from '../errors/catalogue.js';
import { checkObjectKey } from '../keys/object-key.js';
import { hasActiveExtension } from '../policy/active-content.js';
import { callerIpv4, neverOpens, type AskedConditions } from '../policy/conditions.js';
import { shareableExpiry, type CloudFrontSigner } from '../signing/cloudfront-signer.js';
import type { UploadLifecycle } from '../lifecycle/upload-lifecycle.js';
import type { UploadRecord } from '../lifecycle/upload-records.js';
import type { S3Signer } from '../signing/s3-signer.js';
import type { Authorizer, Caller } from './authorizer.js';
import { contentDisposition, type Disposition } from './content-disposition.js';
import { credentialsDeadline, s3Expiry, secondsBetween } from './expiry.js';
import type { DownloadResult, DownloadsRequest } from './schemas.js';

/**
 * The Content-Disposition S3 is to answer with, if any. A key that looks like active content is always an
 * attachment: S3 serves the Content-Type stored at upload, and inline it would run script on the download origin.
 */
function dispositionFor(key: string, asked: Disposition | undefined, filename: string | undefined): string | undefined {
  const disposition = hasActiveExtension(key) ? 'attachment' : (asked ?? (filename === undefined ? undefined : 'attachment'));
  return disposition === undefined ? undefined : contentDisposition(disposition, filename);
}

/** Why a rule that requires verified uploads cannot grant this key, or undefined when its latest upload is verified. */
function unverified(record: UploadRecord | undefined): string | undefined {
  if (record === undefined) return 'the broker has no verified upload of this key';
  if (record.state === 'verified') return undefined;
  return `its latest upload is ${record.state}${record.reason === null ? '' : ` (${record.reason})`}, not verified`;
}

/** Download grants: per key a CloudFront signed URL, or an S3 presigned GET where no CDN is configured, or the reason there is none. */
export class DownloadGrants {
  constructor(
    private readonly deps: {
      readonly authorizer: Authorizer;
      readonly s3: S3Signer;
      readonly cloudfront: CloudFrontSigner | undefined;
      readonly lifecycle: UploadLifecycle;
    },
  ) {}

  async grant(caller: Caller, request: DownloadsRequest): Promise<DownloadResult[]> {
    const { keys, ttlSeconds, disposition, filename } = request;
    const refuse = (path: string, reason: string): never => {
      throw new BrokerError('BROKER_VALIDATION', reason, { errors: [{ path: `body/${path}`, message: reason }] });
    };
    if (filename !== undefined && keys.length > 1) refuse('filename', 'filename names one object: ask for one key, or leave it out');
    const asked = this.askedConditions(caller, request, refuse);
    const authorization = await this.deps.authorizer.begin(caller, 'download');
    const { now } = authorization;
    const { cloudfront, s3 } = this.deps;
    let deadline: Promise<Date | undefined> | undefined; // asked once per request, and only if an S3 grant is made
    const decisions = keys.map((key) => {
      const check = checkObjectKey(key);
      if (!check.ok) return { key, error: { code: 'BROKER_INVALID_KEY' as const, detail: check.reason } };
      const decision = authorization.check({ action: 'read', target: { kind: 'key', key }, ttlSeconds, conditions: asked });
      return decision.allow ? { key, decision } : { key, error: { code: decision.code, detail: decision.reason } };
    });
    // One query for every key whose rule wants its upload verified; none when no rule does.
    const mustBeVerified = decisions.flatMap((entry) => (entry.decision?.requireVerified ? [entry.key] : []));
    const uploads = mustBeVerified.length === 0 ? undefined : await this.deps.lifecycle.latestForKeys(mustBeVerified);
    const results: DownloadResult[] = [];
    for (const { key, decision, error } of decisions) {
      if (decision === undefined) {
        results.push({ key, error });
        continue;
      }
      const notVerified = decision.requireVerified ? unverified(uploads?.get(key)) : undefined;
      if (notVerified !== undefined) {
        results.push({ key, error: { code: 'BROKER_UPLOAD_NOT_VERIFIED', detail: notVerified } });
        continue;
      }
      const responseDisposition = dispositionFor(key, disposition, filename);
      if (cloudfront) {
        const expiresAt = shareableExpiry(now, decision.ttlSeconds);
        const never = neverOpens(decision.conditions, expiresAt);
        if (never !== undefined) {
          results.push({ key, error: { code: 'BROKER_VALIDATION', detail: `this grant could never be used: ${never}` } });
          continue;
        }
        const { notBefore, sourceIp } = decision.conditions ?? {};
        const url = cloudfront.signUrl(key, expiresAt, { disposition: responseDisposition, notBefore, sourceIp });
        results.push({ key, url, expiresAt: expiresAt.toISOString() });
        continue;
      }
      const expiresAt = s3Expiry(now, decision.ttlSeconds, await (deadline ??= credentialsDeadline(s3)));
      const url = await s3.presignGet({
        key,
        signingDate: now,
        expiresInSeconds: secondsBetween(now, expiresAt),
        disposition: responseDisposition,
      });
      results.push({ key, url, expiresAt: expiresAt.toISOString() });
    }
    return results;
  }

  /** The start and the binding to the caller's address the request asks for: only a CloudFront custom policy can carry them. */
  private askedConditions(
    caller: Caller,
    { notBefore, bindToCallerIp }: DownloadsRequest,
    refuse: (path: string, reason: string) => never,
  ): AskedConditions {
    if ((notBefore !== undefined || bindToCallerIp === true) && this.deps.cloudfront === undefined) {
      refuse(
        notBefore === undefined ? 'bindToCallerIp' : 'notBefore',
        'notBefore and bindToCallerIp need CloudFront (CLOUDFRONT_DOMAIN); S3 URLs cannot carry them',
      );
    }
    // The address as Fastify resolved it (TRUST_PROXY for a broker behind a proxy); CloudFront matches IPv4 only.
    if (bindToCallerIp === true && callerIpv4(caller.clientAddress) === undefined) {
      refuse('bindToCallerIp', `your address ${caller.clientAddress} is not IPv4, and CloudFront matches IPv4 addresses only`);
    }
    return { notBefore: notBefore === undefined ? undefined : new Date(notBefore), bindToCallerIp };
  }
}
