import { createSigner } from 'fast-jwt';
import { TEST_JWT_SECRET } from './config.js';

export interface TokenOptions {
  key?: string;
  algorithm?: 'HS256' | 'RS256' | 'ES256';
  expiresInSeconds?: number;
  kid?: string;
}

export function token(claims: Record<string, unknown>, options: TokenOptions = {}): string {
  const sign = createSigner({
    key: options.key ?? TEST_JWT_SECRET,
    algorithm: options.algorithm ?? 'HS256',
    ...(options.expiresInSeconds === undefined && claims.exp === undefined ? { expiresIn: 600_000 } : {}),
    ...(options.expiresInSeconds === undefined ? {} : { expiresIn: options.expiresInSeconds * 1000 }),
    ...(options.kid === undefined ? {} : { kid: options.kid }),
  });
  return sign(claims);
}

export const bearer = (claims: Record<string, unknown>, options?: TokenOptions): { authorization: string } => ({
  authorization: `Bearer ${token(claims, options)}`,
});
