import 'dotenv/config';
import { parseEnv, storeConfigOf } from '../config/load.js';
import { openStore } from '../store/entitlement-store.js';
import { openMultipartStore } from '../store/multipart-store.js';
import { openAuditStore } from '../audit/audit-stores.js';

/*
 * `npm run migrate`: brings the store's schema (DATABASE_URL, else SQLite in DATA_DIR) to the latest version,
 * for deployments that start the broker with MIGRATE_ON_START=false and migrate in one job before the rollout.
 */
const { env, errors } = parseEnv(process.env);
if (errors.length > 0) {
  process.stderr.write(`migrate: cannot start:\n${errors.map((error) => `  - ${error}\n`).join('')}`);
  process.exit(1);
}
const config = { ...storeConfigOf(env), migrateOnStart: true };
try {
  await (await openStore(config)).close();
  await (await openMultipartStore(config)).shutdown();
  await (await openAuditStore(config)).close();
  process.stdout.write(`migrate: the ${config.kind === 'postgres' ? 'PostgreSQL' : 'SQLite'} schema is up to date\n`);
} catch (error) {
  process.stderr.write(`migrate: ${(error as Error).message}\n`);
  process.exit(1);
}
