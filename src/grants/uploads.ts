import { BrokerError } from '../errors/catalogue.js';
import type { UploadLifecycle } from '../lifecycle/upload-lifecycle.js';
import type { S3Signer } from '../signing/s3-signer.js';
import type { Authorizer, Caller } from './authorizer.js';
import { credentialsDeadline, s3Expiry, secondsBetween } from './expiry.js';
import type { UploadGrant, UploadRequest } from './schemas.js';
import { uploadAsks } from './upload-asks.js';

/** Upload grants: a presigned PUT or POST form for one key, named by the caller or generated. */
export class UploadGrants {
  constructor(private readonly deps: { readonly authorizer: Authorizer; readonly s3: S3Signer; readonly lifecycle: UploadLifecycle }) {}

  async grant(caller: Caller, request: UploadRequest): Promise<UploadGrant> {
    if (request.method === 'POST' && request.checksum !== undefined) {
      const reason = 'a checksum is signed into a PUT; a POST form cannot carry one';
      throw new BrokerError('BROKER_VALIDATION', reason, { errors: [{ path: 'body/checksum', message: reason }] });
    }
    const authorization = await this.deps.authorizer.begin(caller, 'upload');
    const asks = uploadAsks(authorization, request);
    const { ask, decision } = authorization.requireFirst(asks);
    const { key } = ask.target;
    if (request.method === 'POST' && decision.createOnly) {
      // S3's POST form has no conditional write: it would replace the key this grant may only create.
      const reason = `${decision.source.kind} "${decision.source.id}" is create-only, and a POST form cannot say so to S3; ask for a PUT`;
      throw new BrokerError('BROKER_VALIDATION', reason, { errors: [{ path: 'body/method', message: reason }] });
    }

    const { now } = authorization;
    const expiresAt = s3Expiry(now, decision.ttlSeconds, await credentialsDeadline(this.deps.s3));
    const expiresInSeconds = secondsBetween(now, expiresAt);
    // Recorded (and counted against a quota) before the grant leaves: every upload the broker allowed has a record.
    await this.deps.lifecycle.granted(
      {
        key,
        subject: caller.principal.sub,
        source: decision.source,
        kind: request.method === 'POST' ? 'post' : 'put',
        multipartUploadId: null,
        contentType: request.contentType,
        maxBytes: request.contentLength,
        exactSize: request.method === 'PUT',
        checksum: request.checksum ?? null,
        expiresAt,
      },
      decision.quota,
    );
    if (request.method === 'POST') {
      const form = await this.deps.s3.presignPost({
        key,
        contentType: request.contentType,
        maxBytes: request.contentLength,
        signingDate: now,
        expiresInSeconds,
      });
      return { method: 'POST', url: form.url, fields: form.fields, key, expiresAt: expiresAt.toISOString() };
    }
    const put = await this.deps.s3.presignPut({
      key,
      contentType: request.contentType,
      contentLength: request.contentLength,
      checksum: request.checksum,
      createOnly: decision.createOnly,
      signingDate: now,
      expiresInSeconds,
    });
    return { method: 'PUT', url: put.url, headers: put.headers, key, expiresAt: expiresAt.toISOString() };
  }
}
