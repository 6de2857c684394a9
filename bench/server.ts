/**
 * The broker as the bench runs it: its own process (pinned to a core by the
 * bench), production's logger configuration writing to a file, an SQLite file
 * store (or PostgreSQL at BENCH_DATABASE_URL), and two extra routes: the authenticated no-op baseline, and (with a
 * CloudFront key) the no-op plus one fresh signature with that key, the floor under any grant for a new key.
 * argv: <target> <store> <log file> [private key file]. Prints "listening <port>".
 */
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app.js';
import { loggerOptions } from '../src/logging/logger-options.js';
import type { S3Objects } from '../src/objects/s3-objects.js';
import { freshSignature } from './raw-signature.js';
import { benchConfig, SIGNING, type Store, type Target } from './scenarios.js';

const [target, store, logFile, keyFile] = process.argv.slice(2) as [Target, Store, string, string | undefined];
const privateKeyPem = keyFile === undefined ? undefined : await readFile(keyFile, 'utf8');
const config = benchConfig(
  target,
  privateKeyPem,
  store,
  process.env.BENCH_DATABASE_URL,
  // Beside the log, named after it, in the bench's work directory (removed after the run): a file, as DATA_DIR holds it.
  join(dirname(logFile), `${basename(logFile, '.log')}.sqlite`),
);
// S3 itself is never contacted: multipart uploads start in memory, so part grants can be measured.
let uploads = 0;
const offlineS3: S3Objects = {
  createMultipart: async () => `bench-upload-${(uploads += 1)}`,
  listParts: async () => [],
  completeMultipart: async () => ({ location: undefined }),
  abortMultipart: async () => undefined,
  head: async () => undefined,
  readStart: async () => undefined,
  move: async () => undefined,
  delete: async () => undefined,
  close: () => undefined,
};
const app = await buildApp({
  config,
  s3Objects: offlineS3,
  logger: { ...loggerOptions(config), file: logFile },
  // Beside the grant routes, with their token check and hooks, and nothing else.
  authenticatedRoutes: async (authenticated) => {
    authenticated.post('/bench/noop', async () => ({ ok: true }));
    if (target === 's3' || privateKeyPem === undefined) return;
    const key = createPrivateKey(privateKeyPem);
    const { hash } = SIGNING[target];
    let signed = 0;
    authenticated.post('/bench/sign', async () => ({ ok: freshSignature(key, hash, (signed += 1)).length > 0 }));
  },
});
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening ${(app.server.address() as AddressInfo).port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
