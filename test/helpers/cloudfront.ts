import { createVerify } from 'node:crypto';

/** CloudFront's URL-safe base64 (`-`, `_`, `~` for `+`, `=`, `/`) back to standard base64. */
export const fromCloudFrontBase64 = (value: string): Buffer =>
  Buffer.from(
    value.replace(/[-_~]/gu, (char) => ({ '-': '+', _: '=', '~': '/' })[char] ?? char),
    'base64',
  );

export function verifyCloudFrontSignature(
  policy: string,
  signature: string,
  publicKey: string,
  algorithm: 'SHA1' | 'SHA256' = 'SHA1',
): boolean {
  return createVerify(algorithm === 'SHA256' ? 'RSA-SHA256' : 'RSA-SHA1')
    .update(policy)
    .verify(publicKey, fromCloudFrontBase64(signature));
}

/** The canned policy CloudFront rebuilds from a signed URL before checking its signature. */
export function cannedPolicyOf(signedUrl: string): { resource: string; policy: string; signature: string; keyPairId: string } {
  const [resource = '', query = ''] = signedUrl.split('?');
  const params = new URLSearchParams(query);
  const expires = params.get('Expires') ?? '';
  return {
    resource,
    policy: `{"Statement":[{"Resource":"${resource}","Condition":{"DateLessThan":{"AWS:EpochTime":${expires}}}}]}`,
    signature: params.get('Signature') ?? '',
    keyPairId: params.get('Key-Pair-Id') ?? '',
  };
}
