import 'dotenv/config';
import { createPublicKey } from 'node:crypto';
import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import { createEdgeServer } from './server.js';
import { trustedKeyProblem } from './verify.js';

/*
 * The local CloudFront edge (`npm run edge`). It reads the broker's own configuration (loadConfig), so it
 * trusts exactly the key pair the broker signs with and reads the bucket the broker grants, with the same
 * credentials. Its own settings:
 *   EDGE_PORT        default 8787
 *   EDGE_HOST        default 127.0.0.1 (a development tool, never exposed)
 *   EDGE_ORIGIN_URL  the scheme and host grants are signed for; default https://$CLOUDFRONT_DOMAIN
 */

function fail(problems: readonly string[]): never {
  process.stderr.write(`access-broker edge: cannot start (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n`);
  for (const problem of problems) process.stderr.write(`  - ${problem}\n`);
  process.exit(1);
}

const result = await loadConfig(process.env);
if (!result.ok) fail(result.errors);
const { config } = result;
const { cloudfront } = config;
if (cloudfront === undefined) fail(['CLOUDFRONT_DOMAIN: must be set; the edge answers for that distribution with its key pair']);

const problems: string[] = [];
const port = Number(process.env.EDGE_PORT ?? 8787);
if (!Number.isInteger(port) || port < 0 || port > 65535)
  problems.push(`EDGE_PORT: must be a TCP port, got ${JSON.stringify(process.env.EDGE_PORT)}`);
const origin = (process.env.EDGE_ORIGIN_URL ?? `https://${cloudfront.domain}`).replace(/\/$/u, '');
// Policies name scheme://host/path, so anything after the host would never match a grant.
if (!/^https?:\/\/[^\s/?#]+$/u.test(origin))
  problems.push(`EDGE_ORIGIN_URL: must be a scheme and host such as https://d111111abcdef8.cloudfront.net, got ${JSON.stringify(origin)}`);
const publicKey = createPublicKey(cloudfront.privateKey);
const keyProblem = trustedKeyProblem(publicKey);
if (keyProblem !== undefined) problems.push(`CLOUDFRONT_PRIVATE_KEY: CloudFront would not accept its public key: ${keyProblem}`);
if (problems.length > 0) fail(problems);

const logger = pino({ level: config.logLevel, base: { service: 'access-broker-edge' } });
const server = createEdgeServer({ origin, keyGroup: new Map([[cloudfront.keyPairId, publicKey]]), s3: config.s3, logger });
closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) logger.error({ err }, 'closing after an error');
  else logger.info({ signal }, 'closing');
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
const host = process.env.EDGE_HOST ?? '127.0.0.1';
server.on('error', (error: NodeJS.ErrnoException) => fail([`cannot listen on ${host}:${port}: ${error.message}`]));
server.listen(port, host, () =>
  logger.info({ address: `http://${host}:${port}`, origin, keyPairId: cloudfront.keyPairId, bucket: config.s3.bucket }, 'edge ready'),
);
