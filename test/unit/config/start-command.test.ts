import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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

  test('npm start bounds both generations and optimizes on the main thread, which keep RSS low and flat under load', () => {
    assert.match(
      manifest.scripts.start,
      /^node --max-semi-space-size=\d+ --no-concurrent-recompilation --heap-growing-percent=\d+ dist\/server\.js$/u,
    );
  });

  test('this node accepts every flag of npm start (V8 flags come and go between releases)', () => {
    const flags = manifest.scripts.start.split(' ').filter((word) => word.startsWith('--'));
    const run = spawnSync(process.execPath, [...flags, '-e', '0'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '');
  });
});
