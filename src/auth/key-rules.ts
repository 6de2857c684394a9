import type { KeyObject } from 'node:crypto';

export const MIN_RSA_BITS = 2048;

export type VerificationAlgorithm = 'RS256' | 'ES256';

/** What a key's publisher says about it: JWK members, absent for a PEM file. */
export interface KeyDeclaration {
  readonly alg?: unknown;
  readonly use?: unknown;
  readonly key_ops?: unknown;
}

export type KeyVerdict = { ok: true; algorithm: VerificationAlgorithm } | { ok: false; reason: string };

/**
 * The one rule for every key that verifies tokens, whatever its source
 * (JWT_PUBLIC_KEY, a JWKS): RSA of at least 2048 bits with a sane exponent
 * (RS256), or EC P-256 (ES256); a declared algorithm, use or operations must
 * agree. Anything else verifies nothing.
 */
export function verificationKeyVerdict(key: KeyObject, declared: KeyDeclaration = {}): KeyVerdict {
  const algorithm = algorithmOf(key);
  if (!algorithm.ok) return algorithm;
  if (declared.alg !== undefined && declared.alg !== algorithm.algorithm) {
    return { ok: false, reason: `declared alg ${JSON.stringify(declared.alg)} does not match the ${algorithm.algorithm} key` };
  }
  if (declared.use !== undefined && declared.use !== 'sig')
    return { ok: false, reason: `use ${JSON.stringify(declared.use)} is not "sig"` };
  if (declared.key_ops !== undefined && !(Array.isArray(declared.key_ops) && declared.key_ops.includes('verify'))) {
    return { ok: false, reason: 'key_ops does not include "verify"' };
  }
  return algorithm;
}

const ONLY = 'only RSA (RS256) and EC P-256 (ES256) keys verify tokens';

function algorithmOf(key: KeyObject): KeyVerdict {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) return { ok: false, reason: `RSA keys shorter than ${MIN_RSA_BITS} bits are refused (this one has ${bits})` };
    // An exponent of 1 makes every signature trivially forgeable; even ones are not RSA at all.
    const exponent = details.publicExponent ?? 0n;
    if (exponent < 3n || exponent % 2n === 0n) return { ok: false, reason: 'the RSA public exponent is not valid' };
    return { ok: true, algorithm: 'RS256' };
  }
  if (key.asymmetricKeyType === 'ec') {
    if (details.namedCurve === 'prime256v1') return { ok: true, algorithm: 'ES256' };
    // Node names the curve of every EC key it parses.
    return { ok: false, reason: `${ONLY}; this EC key is on ${String(details.namedCurve)}` };
  }
  // Every asymmetric key has a type; a secret key is not a verification key at all.
  return { ok: false, reason: `${ONLY}; this is an ${String(key.asymmetricKeyType)} key` };
}
