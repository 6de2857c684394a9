import { randomUUID } from 'node:crypto';
import { BrokerError } from '../errors/catalogue.js';
import { checkObjectKey, safeFilename } from '../keys/object-key.js';
import type { Ask, KeyTarget } from '../policy/decide.js';
import type { S3Signer } from '../signing/s3-signer.js';
import type { Authorization, Authorizer, Caller } from './authorizer.js';
import { credentialsDeadline, s3Expiry, secondsBetween } from './expiry.js';
import type { UploadGrant, UploadRequest } from './schemas.js';

type KeyAsk = Ask & { readonly target: KeyTarget };

/** Upload grants: a presigned PUT or POST form for one key, named by the caller or generated. */
export class UploadGrants {
  constructor(private readonly deps: { readonly authorizer: Authorizer; readonly s3: S3Signer }) {}

  async grant(caller: Caller, request: UploadRequest): Promise<UploadGrant> {
    const authorization = await this.deps.authorizer.begin(caller, 'upload');
    const askFor = (key: string): KeyAsk => ({
      action: 'write',
      target: { kind: 'key', key },
      contentType: request.contentType,
      contentLength: request.contentLength,
      ttlSeconds: request.ttlSeconds,
    });
    const asks =
      request.key === undefined ? generatedKeyAsks(authorization, request.filename, askFor) : ([askFor(validKey(request.key))] as const);
    const { ask, decision } = authorization.requireFirst(asks);
    const { key } = ask.target;

    const { now } = authorization;
    const expiresAt = s3Expiry(now, decision.ttlSeconds, await credentialsDeadline(this.deps.s3));
    const expiresInSeconds = secondsBetween(now, expiresAt);
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
      signingDate: now,
      expiresInSeconds,
    });
    return { method: 'PUT', url: put.url, headers: put.headers, key, expiresAt: expiresAt.toISOString() };
  }
}

function validKey(key: string): string {
  const check = checkObjectKey(key);
  if (!check.ok) throw new BrokerError('BROKER_INVALID_KEY', check.reason);
  return key;
}

/** One fresh key under each prefix the caller may write, in decision order; the first one allowed is used. */
function generatedKeyAsks(
  authorization: Authorization,
  filename: string | undefined,
  askFor: (key: string) => KeyAsk,
): [KeyAsk, ...KeyAsk[]] {
  const prefixes = authorization.uploadPrefixes();
  if (prefixes.length === 0) {
    throw new BrokerError(
      'BROKER_FORBIDDEN',
      'no upload location (a "prefix/*" resource with write) is granted to you; name a key you may write',
    );
  }
  const name = filename === undefined ? undefined : safeFilename(filename);
  // A fresh id per upload: a presigned PUT overwrites, so a predictable key would let one grant clobber another's object.
  const keys = prefixes.map((prefix) => (name === undefined ? `${prefix}${randomUUID()}` : `${prefix}${randomUUID()}/${name}`));
  const [first, ...rest] = keys.filter((key) => checkObjectKey(key).ok).map(askFor);
  if (first === undefined)
    throw new BrokerError('BROKER_INVALID_KEY', 'no valid key can be generated under your upload prefixes; shorten the filename');
  return [first, ...rest];
}
