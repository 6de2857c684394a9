import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';

const execute = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('the command-line tools', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'broker-cli-'));
  after(() => rm(dataDir, { recursive: true, force: true }));
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, DOTENV_CONFIG_PATH: '/dev/null' };
  const cli = (script: string, ...args: string[]): Promise<Outcome> =>
    execute(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], { cwd: root, env }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );
  const grant = (...args: string[]) => cli('entitlements', 'grant', '--sub', 'bob', '--by', 'test', '--reason', 'cli test', ...args);

  const refusals: [string, string[], RegExp][] = [
    ['regression: a bundle the policy does not define', ['--bundle', 'rust-course'], /no bundle "rust-course" is defined in the policy/],
    ['regression: write on a bundle', ['--bundle', 'demo', '--action', 'write'], /bundles are read-only/],
    ['regression: an expiry in the past', ['--resource', 'shared/*', '--expires', '2020-01-01T00:00:00Z'], /in the past/],
    ['regression: "*" with write, the whole bucket', ['--resource', '*', '--action', 'write'], /starts with a wildcard/],
    ['a malformed pattern', ['--resource', '/shared/*'], /must not start with "\/"/],
    ['--create-only on a read-only entitlement', ['--resource', 'shared/*', '--create-only'], /createOnly applies to writes/],
  ];
  for (const [name, args, reason] of refusals) {
    test(`entitlements grant refuses ${name}, saying why, without the usage text`, async () => {
      const outcome = await grant(...args);
      assert.equal(outcome.code, 1, outcome.stderr);
      assert.match(outcome.stderr, reason);
      assert.doesNotMatch(outcome.stderr, /usage:/);
      assert.equal(outcome.stdout, '');
    });
  }

  test('grant, list, revoke; a second revoke says why; list --all still shows it', async () => {
    const granted = await grant('--bundle', 'demo', '--expires', '2099-01-01T00:00:00Z');
    assert.equal(granted.code, 0, granted.stderr);
    const { id } = JSON.parse(granted.stdout) as { id: string };
    assert.match((await cli('entitlements', 'list', '--sub', 'bob')).stdout, new RegExp(id));
    assert.equal((await cli('entitlements', 'revoke', id)).code, 0);
    const again = await cli('entitlements', 'revoke', id);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already revoked/);
    assert.doesNotMatch(again.stderr, /usage:/, 'regression: a revoked id printed the usage text');
    assert.doesNotMatch((await cli('entitlements', 'list', '--sub', 'bob')).stdout, new RegExp(id));
    const all = (await cli('entitlements', 'list', '--sub', 'bob', '--all')).stdout;
    assert.match(all, new RegExp(`"id":"${id}".*"revokedAt":"\\d{4}-`));
  });

  test('grant --create-only: the entitlement says so, and without the flag it does not', async () => {
    const createOnly = await grant('--resource', 'drop/bob/*', '--action', 'write', '--create-only');
    assert.equal(createOnly.code, 0, createOnly.stderr);
    assert.equal((JSON.parse(createOnly.stdout) as { createOnly: boolean }).createOnly, true);
    const plain = await grant('--resource', 'drop/bob/*', '--action', 'write');
    assert.equal((JSON.parse(plain.stdout) as { createOnly: boolean }).createOnly, false);
  });

  test('regression: dev-token --ttl -60 is a usage error, not a stack trace', async () => {
    const outcome = await cli('dev-token', '--sub', 'alice', '--ttl', '-60');
    assert.equal(outcome.code, 2);
    assert.match(outcome.stderr, /usage:/);
    assert.doesNotMatch(outcome.stderr, /^\s+at /mu);
  });

  test('dev-token refuses lifetimes the broker would refuse, and zero', async () => {
    for (const ttl of ['0', '1.5', '86401']) {
      const outcome = await cli('dev-token', '--sub', 'alice', '--ttl', ttl);
      assert.equal(outcome.code, 2, ttl);
      assert.match(outcome.stderr, /--ttl/);
    }
    const ok = await cli('dev-token', '--sub', 'alice', '--ttl', '86400');
    assert.equal(ok.code, 0, ok.stderr);
  });
});
