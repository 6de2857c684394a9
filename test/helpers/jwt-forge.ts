import { createHmac, sign, type KeyObject } from 'node:crypto';

/** Builds any JWT, however odd its header or claims, so a test can say exactly what it sends. */
export function forge(header: Record<string, unknown>, payload: Record<string, unknown>, signer: (input: string) => Buffer): string {
  const encode = (part: Record<string, unknown>): string => Buffer.from(JSON.stringify(part)).toString('base64url');
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${signer(input).toString('base64url')}`;
}

export const hs256 =
  (secret: string) =>
  (input: string): Buffer =>
    createHmac('sha256', secret).update(input).digest();
export const rs256 =
  (key: KeyObject) =>
  (input: string): Buffer =>
    sign('sha256', Buffer.from(input), key);
export const es256 =
  (key: KeyObject) =>
  (input: string): Buffer =>
    sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
