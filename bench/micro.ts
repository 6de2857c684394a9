/**
 * One CloudFront signature, raw (Node's crypto, a fresh policy each time), in a tight loop on the server's core:
 * what a grant for a new CloudFront key cannot avoid.
 * argv: <private key file (RSA or EC)> <seconds> <SHA1|SHA256>. Prints microseconds per signature.
 */
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { freshSignature } from './raw-signature.js';

const [keyFile, seconds = '1', hash = 'SHA1'] = process.argv.slice(2);
const key = createPrivateKey(await readFile(keyFile ?? '', 'utf8'));
const deadline = performance.now() + Number(seconds) * 1000;
let count = 0;
const start = performance.now();
while (performance.now() < deadline) {
  freshSignature(key, hash === 'SHA256' ? 'SHA256' : 'SHA1', count);
  count += 1;
}
process.stdout.write(String(((performance.now() - start) * 1000) / count));
