import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'dotenv';
import { EnvSchema } from '../../../src/config/env-schema.js';

const path = fileURLToPath(new URL('../../../.env.example', import.meta.url));
const text = readFileSync(path, 'utf8');
const lines = text.split('\n');

/** Variables of the standard AWS credential chain: documented, but read by the SDK, not by the broker's schema. */
const AWS_CREDENTIAL_CHAIN = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'];

/** `NAME=value` or `# NAME=value`: a line that sets, or shows how to set, a variable. */
const VARIABLE_LINE = /^(?:#\s?)?([A-Z][A-Z0-9_]*)=/u;

const documented = lines.flatMap((line) => {
  const match = VARIABLE_LINE.exec(line);
  return match?.[1] === undefined ? [] : [match[1]];
});
const schemaNames = Object.keys(EnvSchema.properties);

describe('.env.example', () => {
  test('the schema is not empty (guards the loops below)', () => {
    assert.ok(schemaNames.length > 20, schemaNames.join(', '));
  });

  for (const name of schemaNames) {
    test(`documents ${name} with a variable line`, () => {
      assert.ok(documented.includes(name), `.env.example has no "# ${name}=..." line`);
    });
  }

  test('names no variable the schema lacks, apart from the AWS credential chain', () => {
    const unknown = documented.filter((name) => !schemaNames.includes(name) && !AWS_CREDENTIAL_CHAIN.includes(name));
    assert.deepEqual(unknown, []);
  });

  for (const name of AWS_CREDENTIAL_CHAIN) {
    test(`mentions ${name} (standard AWS credential chain)`, () => {
      assert.ok(documented.includes(name), `.env.example has no "# ${name}=..." line`);
    });
  }

  test('documents each variable once', () => {
    const repeated = documented.filter((name, index) => documented.indexOf(name) !== index);
    assert.deepEqual(repeated, []);
  });

  test('every variable has a comment saying what it does and its default', () => {
    for (const name of schemaNames) {
      const index = lines.findIndex((line) => VARIABLE_LINE.exec(line)?.[1] === name);
      assert.ok(index > 0, name);
      // The block above the variable line: comment lines back to the previous blank or variable line.
      const block: string[] = [];
      for (let i = index - 1; i >= 0; i -= 1) {
        const line = lines[i] ?? '';
        if (!line.startsWith('#') || VARIABLE_LINE.test(line)) break;
        block.unshift(line);
      }
      assert.ok(
        block.some((line) => /^# Default: /u.test(line)),
        `${name} has no "# Default:" line`,
      );
      assert.ok(block.filter((line) => !/^# Default: /u.test(line)).length > 0, `${name} has no description`);
    }
  });

  test('copying it to .env changes nothing: every variable line is commented out', () => {
    assert.deepEqual(parse(text), {});
  });
});
