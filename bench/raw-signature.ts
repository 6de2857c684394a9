import { createSign, type KeyObject } from 'node:crypto';

/**
 * One CloudFront signature made raw: Node's crypto over a canned policy that is new each time (`count`), as a grant
 * for a new object key must make it. The digest alone names the scheme, as in the broker's signer: PKCS#1 v1.5 with
 * an RSA key, DER ECDSA with a P-256 key. micro.ts times it in a loop; the bench server answers it as a route.
 */
export function freshSignature(key: KeyObject, hash: 'SHA1' | 'SHA256', count: number): Buffer {
  return createSign(hash === 'SHA256' ? 'sha256' : 'sha1')
    .update(`{"Statement":[{"Resource":"https://d.example/${count}","Condition":{"DateLessThan":{"AWS:EpochTime":1}}}]}`)
    .sign(key);
}
