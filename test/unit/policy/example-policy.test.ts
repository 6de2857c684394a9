import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadPolicyFile } from '../../../src/policy/load.js';

test('examples/policy.yaml, the policy the README documents, is valid', async () => {
  const policy = await loadPolicyFile(new URL('../../../examples/policy.yaml', import.meta.url).pathname);
  assert.deepEqual(
    policy.rules.map((rule) => rule.id),
    ['own-uploads', 'team-shared', 'editors', 'catalogue', 'press-preview', 'office-archive'],
  );
  assert.deepEqual([...policy.bundles.keys()], ['sample', 'rust-course']);
  assert.deepEqual(
    policy.rules.map((rule) => rule.conditions),
    [
      undefined,
      undefined,
      undefined,
      undefined,
      { notBefore: new Date('2027-03-01T09:00:00Z'), bindToCallerIp: true },
      { sourceIp: '203.0.113.0/24' },
    ],
  );
});
