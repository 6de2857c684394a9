import { BrokerError } from '../errors/catalogue.js';
import { checkObjectKey } from '../keys/object-key.js';
import { hasActiveExtension } from '../policy/active-content.js';
import { shareableExpiry, type CloudFrontSigner } from '../signing/cloudfront-signer.js';
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

/** Download grants: per key a CloudFront signed URL, or an S3 presigned GET where no CDN is configured, or the reason there is none. */
export class DownloadGrants {
  constructor(
    private readonly deps: { readonly authorizer: Authorizer; readonly s3: S3Signer; readonly cloudfront: CloudFrontSigner | undefined },
  ) {}

  async grant(caller: Caller, { keys, ttlSeconds, disposition, filename }: DownloadsRequest): Promise<DownloadResult[]> {
    if (filename !== undefined && keys.length > 1) {
      const reason = 'filename names one object: ask for one key, or leave it out';
      throw new BrokerError('BROKER_VALIDATION', reason, { errors: [{ path: 'body/filename', message: reason }] });
    }
    const authorization = await this.deps.authorizer.begin(caller, 'download');
    const { now } = authorization;
    const { cloudfront, s3 } = this.deps;
    let deadline: Promise<Date | undefined> | undefined; // asked once per request, and only if an S3 grant is made
    const results: DownloadResult[] = [];
    for (const key of keys) {
      const check = checkObjectKey(key);
      if (!check.ok) {
        results.push({ key, error: { code: 'BROKER_INVALID_KEY', detail: check.reason } });
        continue;
      }
      const decision = authorization.check({ action: 'read', target: { kind: 'key', key }, ttlSeconds });
      if (!decision.allow) {
        results.push({ key, error: { code: decision.code, detail: decision.reason } });
        continue;
      }
      const responseDisposition = dispositionFor(key, disposition, filename);
      if (cloudfront) {
        const expiresAt = shareableExpiry(now, decision.ttlSeconds);
        results.push({ key, url: cloudfront.signUrl(key, expiresAt, responseDisposition), expiresAt: expiresAt.toISOString() });
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
}
