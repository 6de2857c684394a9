import { BrokerError } from '../errors/catalogue.js';
import type { S3Signer } from '../signing/s3-signer.js';

export const addSeconds = (date: Date, seconds: number): Date => new Date(date.getTime() + seconds * 1000);
export const secondsBetween = (from: Date, to: Date): number => Math.floor((to.getTime() - from.getTime()) / 1000);

/** When the S3 signing credentials expire (role sessions), or undefined for long-lived keys. */
export async function credentialsDeadline(s3: S3Signer): Promise<Date | undefined> {
  try {
    return await s3.credentialsExpireAt();
  } catch (cause) {
    throw new BrokerError('BROKER_SIGNING_UNAVAILABLE', 'S3 signing credentials could not be loaded', { cause });
  }
}

/** An S3 grant never outlives the credentials that sign it. */
export function s3Expiry(now: Date, ttlSeconds: number, credentialsExpireAt: Date | undefined): Date {
  const wanted = addSeconds(now, ttlSeconds);
  if (!credentialsExpireAt || credentialsExpireAt >= wanted) return wanted;
  const left = secondsBetween(now, credentialsExpireAt);
  if (left < 1) throw new BrokerError('BROKER_SIGNING_UNAVAILABLE', 'S3 signing credentials have expired');
  return addSeconds(now, left);
}
