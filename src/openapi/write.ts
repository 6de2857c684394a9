import { readFile, writeFile } from 'node:fs/promises';
import { openApiYaml } from './document.js';

// `--check` fails when the committed openapi.yaml differs from what the routes produce.
const path = new URL('../../openapi.yaml', import.meta.url);
const generated = await openApiYaml();
if (process.argv.includes('--check')) {
  const committed = await readFile(path, 'utf8').catch(() => '');
  if (committed !== generated) {
    process.stderr.write('openapi.yaml is stale: run `npm run openapi` and commit the result\n');
    process.exit(1);
  }
  process.stdout.write('openapi.yaml is up to date\n');
} else {
  await writeFile(path, generated);
  process.stdout.write('wrote openapi.yaml\n');
}
