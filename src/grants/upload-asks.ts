import { BrokerError } from '../errors/catalogue.js';
import { checkObjectKey, safeFilename } from '../keys/object-key.js';
import { timeOrderedUuid } from '../store/time-ordered-uuid.js';
import type { Ask, KeyTarget } from '../policy/decide.js';
import type { Authorization } from './authorizer.js';

export type KeyAsk = Ask & { readonly target: KeyTarget };

export interface UploadIntent {
  readonly contentType: string;
  readonly contentLength: number;
  readonly key?: string | undefined;
  readonly filename?: string | undefined;
  readonly ttlSeconds?: number | undefined;
}

/**
 * What an upload asks to write: the caller's key, or one fresh key under each
 * prefix the caller may write (the first one allowed is used). Single and
 * multipart uploads name and check keys the same way.
 */
export function uploadAsks(authorization: Authorization, intent: UploadIntent): [KeyAsk, ...KeyAsk[]] {
  const askFor = (key: string): KeyAsk => ({
    action: 'write',
    target: { kind: 'key', key },
    contentType: intent.contentType,
    contentLength: intent.contentLength,
    ttlSeconds: intent.ttlSeconds,
  });
  if (intent.key !== undefined) {
    const check = checkObjectKey(intent.key);
    if (!check.ok) throw new BrokerError('BROKER_INVALID_KEY', check.reason);
    return [askFor(intent.key)];
  }
  const prefixes = authorization.uploadPrefixes();
  if (prefixes.length === 0) {
    throw new BrokerError(
      'BROKER_FORBIDDEN',
      'no upload location (a "prefix/*" resource with write) is granted to you; name a key you may write',
    );
  }
  const name = intent.filename === undefined ? undefined : safeFilename(intent.filename);
  // A fresh id per upload, 74 random bits after the time: a presigned PUT overwrites, so a predictable key would let one
  // grant clobber another's object. Time first: a prefix's keys sort by upload time, and the upload records' key index
  // grows at its end instead of taking a write in a random page per grant.
  const keys = prefixes.map((prefix) => {
    const id = timeOrderedUuid();
    return name === undefined ? `${prefix}${id}` : `${prefix}${id}/${name}`;
  });
  const [first, ...rest] = keys.filter((key) => checkObjectKey(key).ok).map(askFor);
  if (first === undefined) {
    throw new BrokerError('BROKER_INVALID_KEY', 'no valid key can be generated under your upload prefixes; shorten the filename');
  }
  return [first, ...rest];
}
