import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

const root = new URL('../../../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: { start: string } };
const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');

describe('the start command', () => {
  test("the image runs the broker exactly as npm start does (the bench measures npm start's flags)", () => {
    const cmd = /^CMD (\[.*\])$/mu.exec(dockerfile)?.[1];
    assert.ok(cmd, 'the Dockerfile has an exec-form CMD');
    assert.deepEqual(JSON.parse(cmd), manifest.scripts.start.split(' '));
  });

  test('npm start bounds the young generation and optimizes on the main thread, which keep RSS low and flat under load', () => {
    assert.match(manifest.scripts.start, /^node --max-semi-space-size=\d+ --no-concurrent-recompilation dist\/server\.js$/u);
  });
});
