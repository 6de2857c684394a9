/**
 * One RSA-2048 signature, raw (Node's crypto, a fresh policy each time), on
 * the server's core: what a grant for a new CloudFront key cannot avoid.
 * argv: <private key file> <seconds>. Prints microseconds per signature.
 */
import { createPrivateKey, createSign } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const [keyFile, seconds = '1'] = process.argv.slice(2);
const key = createPrivateKey(await readFile(keyFile ?? '', 'utf8'));
const deadline = performance.now() + Number(seconds) * 1000;
let count = 0;
const start = performance.now();
while (performance.now() < deadline) {
  createSign('RSA-SHA1')
    .update(`{"Statement":[{"Resource":"https://d.example/${count}","Condition":{"DateLessThan":{"AWS:EpochTime":1}}}]}`)
    .sign(key);
  count += 1;
}
process.stdout.write(String(((performance.now() - start) * 1000) / count));
