import 'dotenv/config';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { pino } from 'pino';
import type { Config } from './config/config.js';
import { startEdge } from './edge/start.js';
import { loadConfig, localEdgeDistribution } from './config/load.js';

function banner(config: Config): string {
  const line = '='.repeat(78);
  return [
    line,
    ` ACCESS BROKER IN ${config.mode.toUpperCase()} MODE: development defaults in use. Never expose this.`,
    ...config.developmentDefaults.map((item) => `   - ${item}`),
    ' Set NODE_ENV=production to refuse every development default.',
    line,
  ].join('\n');
}

const result = await loadConfig(process.env);
if (!result.ok) {
  process.stderr.write(
    `access-broker: configuration is not valid (${result.errors.length} problem${result.errors.length === 1 ? '' : 's'}):\n`,
  );
  for (const error of result.errors) process.stderr.write(`  - ${error}\n`);
  process.exit(1);
}
const loaded = result.config;
if (loaded.developmentDefaults.length > 0) process.stderr.write(`${banner(loaded)}\n`);

/** Start-up failures an operator can fix (a DATA_DIR that cannot be written, a port in use) say so in one line. */
function cannotStart(error: unknown): never {
  const { code, message } = error as { code?: string; message?: string };
  process.stderr.write(`access-broker: cannot start: ${message ?? String(error)}${code ? ` (${code})` : ''}\n`);
  process.exit(1);
}

// On the embedded defaults the local CloudFront edge runs beside the broker, so bundle cookies work out of the box.
const { cloudfront } = loaded;
const localEdge = cloudfront?.localEdge;
const edge =
  cloudfront === undefined || localEdge === undefined
    ? undefined
    : await startEdge({
        cloudfront,
        s3: loaded.s3,
        origin: (port) => localEdgeDistribution(port).origin,
        ...localEdge,
        logger: pino({ level: loaded.logLevel, base: { service: 'access-broker-edge' } }),
      }).catch(cannotStart);
// With EDGE_PORT=0 (tests) the system picks the port: grants name the one the edge got.
const config: Config =
  cloudfront === undefined || localEdge === undefined || edge === undefined
    ? loaded
    : { ...loaded, cloudfront: { ...cloudfront, ...localEdgeDistribution(edge.port), localEdge: { ...localEdge, port: edge.port } } };

const app = await buildApp({ config }).catch(cannotStart);
closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an error');
  else app.log.info({ signal }, 'closing');
  await app.close();
  await edge?.close();
});
await app.listen({ host: config.host, port: config.port }).catch(cannotStart);
