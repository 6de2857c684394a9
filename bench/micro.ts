/**
 * One CloudFront signature, raw (Node's crypto, a fresh policy each time), on
 * the server's core: what a grant for a new CloudFront key cannot avoid.
 * argv: <private key file (RSA or EC)> <seconds> <SHA1|SHA256>. Prints microseconds per signature.
 */
import { createPrivateKey, createSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const [keyFile, seconds = '1', hash = 'SHA1'] = process.argv.slice(2);
const key = createPrivateKey(await readFile(keyFile ?? '', 'utf8'));
// The digest alone, as the broker's signer: PKCS#1 v1.5 with an RSA key, DER ECDSA with a P-256 key.
const digest = hash === 'SHA256' ? 'sha256' : 'sha1';
const deadline = performance.now() + Number(seconds) * 1000;
let count = 0;
const start = performance.now();
while (performance.now() < deadline) {
  createSign(digest)
    .update(`{"Statement":[{"Resource":"https://d.example/${count}","Condition":{"DateLessThan":{"AWS:EpochTime":1}}}]}`)
    .sign(key);
  count += 1;
}
process.stdout.write(String(((performance.now() - start) * 1000) / count));
