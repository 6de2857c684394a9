import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { errorCatalogue } from '../../../src/errors/catalogue.js';

/** The rows of README's error table: `| \`CODE\` | status | meaning |`. */
async function documentedCodes(): Promise<Map<string, number>> {
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Errors'), readme.indexOf('\n## ', readme.indexOf('\n## Errors') + 1));
  const rows = new Map<string, number>();
  for (const match of section.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gmu)) {
    assert.ok(!rows.has(match[1]!), `${match[1]} is documented twice`);
    rows.set(match[1]!, Number(match[2]));
  }
  return rows;
}

test('every catalogue code is in the README error table, with its status', async () => {
  const documented = await documentedCodes();
  for (const [code, { status }] of Object.entries(errorCatalogue)) {
    assert.equal(documented.get(code), status, `${code} (${status}) is missing from README's error table or has another status there`);
  }
});

test('every code in the README error table exists in the catalogue', async () => {
  for (const code of (await documentedCodes()).keys()) {
    assert.ok(code in errorCatalogue, `README documents ${code}, which the catalogue does not have`);
  }
});
