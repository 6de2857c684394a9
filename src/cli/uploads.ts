import 'dotenv/config';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { createS3Objects } from '../objects/s3-objects.js';
import { openMultipartStore } from '../store/multipart-store.js';

const usage = `usage: npm run -s uploads -- abort-stale [--grace-hours 24] [--dry-run]
Aborts the multipart uploads this broker started whose grant ended more than --grace-hours ago and that were
never completed, so S3 frees their parts. A bucket lifecycle rule (README) catches any others.`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

const { positionals, values } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: { 'grace-hours': { type: 'string', default: '24' }, 'dry-run': { type: 'boolean' } },
    });
  } catch (error) {
    fail(`uploads: ${(error as Error).message}`);
  }
})();
if (positionals[0] !== 'abort-stale' || positionals.length > 1)
  fail(positionals[0] ? `uploads: unknown command "${positionals.join(' ')}"` : 'uploads: name a command');
const graceHours = Number(values['grace-hours']);
if (!Number.isFinite(graceHours) || graceHours < 0) fail('uploads: --grace-hours must be a number of hours, 0 or more');

const result = await loadConfig(process.env);
if (!result.ok) fail(`uploads: configuration is not valid:\n  - ${result.errors.join('\n  - ')}`);
const store = await openMultipartStore(result.config.store);
const objects = createS3Objects(result.config.s3);
let failed = 0;
try {
  const stale = await store.stale(new Date(Date.now() - graceHours * 3_600_000));
  for (const upload of stale) {
    const line = `${upload.uploadId} ${upload.key} (${upload.subject}, granted until ${upload.expiresAt.toISOString()})`;
    if (values['dry-run']) {
      process.stdout.write(`would abort ${line}\n`);
      continue;
    }
    try {
      await objects.abortMultipart(upload.key, upload.uploadId);
      await store.close(upload.uploadId, 'aborted', new Date());
      process.stdout.write(`aborted ${line}\n`);
    } catch (error) {
      // S3 may already have dropped it (a lifecycle rule): that is the state wanted.
      if ((error as { name?: string }).name === 'NoSuchUpload') {
        await store.close(upload.uploadId, 'aborted', new Date());
        process.stdout.write(`gone already ${line}\n`);
      } else {
        failed += 1;
        process.stderr.write(`could not abort ${line}: ${(error as Error).message}\n`);
      }
    }
  }
  process.stdout.write(`${stale.length} stale upload${stale.length === 1 ? '' : 's'}${failed > 0 ? `, ${failed} not aborted` : ''}\n`);
} finally {
  objects.close();
  await store.shutdown();
}
if (failed > 0) process.exitCode = 1;
