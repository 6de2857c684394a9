import 'dotenv/config';
import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { cloudfrontOrigin } from '../config/config.js';
import { DEFAULT_EDGE_PORT, loadConfig, parseEnv } from '../config/load.js';
import { startEdge } from './start.js';

/*
 * The local CloudFront edge on its own (`npm run edge`), for a broker started with CLOUDFRONT_DOMAIN set
 * (on the embedded defaults `npm start` already runs it). It reads the broker's configuration (loadConfig),
 * so it trusts exactly the broker's key ring (every key, signing or retiring) and reads the bucket the broker grants, with the
 * same credentials. Its own settings: EDGE_PORT (8787), EDGE_HOST (127.0.0.1: a development tool, never
 * exposed) and EDGE_ORIGIN_URL (the scheme and host grants are signed for; default https://$CLOUDFRONT_DOMAIN).
 */

function fail(problems: readonly string[]): never {
  process.stderr.write(`access-broker edge: cannot start (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n`);
  for (const problem of problems) process.stderr.write(`  - ${problem}\n`);
  process.exit(1);
}

const result = await loadConfig(process.env);
if (!result.ok) fail(result.errors);
const { config } = result;
const { env } = parseEnv(process.env); // already validated by loadConfig
const { cloudfront } = config;
if (cloudfront === undefined) fail(['CLOUDFRONT_DOMAIN: must be set; the edge answers for that distribution with its key ring']);
if (cloudfront.localEdge !== undefined) fail(['CLOUDFRONT_DOMAIN is unset: `npm start` runs the local edge itself on these defaults']);

const logger = pino({ level: config.logLevel, base: { service: 'access-broker-edge' } });
const edge = await startEdge({
  cloudfront,
  s3: config.s3,
  origin: env.EDGE_ORIGIN_URL ?? cloudfrontOrigin(cloudfront),
  host: env.EDGE_HOST ?? '127.0.0.1',
  port: env.EDGE_PORT ?? DEFAULT_EDGE_PORT,
  logger,
}).catch((error: unknown) => fail([(error as Error).message]));
closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) logger.error({ err }, 'closing after an error');
  else logger.info({ signal }, 'closing');
  await edge.close();
});
