import { execFileSync } from 'node:child_process';
import { createVerify } from 'node:crypto';
import type { TestContext } from 'node:test';

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

/** Whether openssl is there to cross-check with; skips the test, saying so, when it is not. */
export function opensslOr(context: TestContext): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    context.skip('openssl is not installed');
    return false;
  }
}
