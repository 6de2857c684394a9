import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quarantineOverlaps } from '../../../src/lifecycle/quarantine.js';
import { validatePolicyDocument } from '../../../src/policy/load.js';
import type { PolicyDocument } from '../../../src/policy/schema.js';

const policyWith = (resources: string[], bundle?: string) =>
  validatePolicyDocument(
    {
      version: 1,
      rules: [{ id: 'r', actions: ['read'], resources, ...(bundle ? { bundles: ['b'] } : {}) }],
      ...(bundle ? { bundles: { b: { resource: bundle } } } : {}),
    } satisfies PolicyDocument,
    'test policy',
  );

test('patterns that could reach the quarantine are named; patterns elsewhere are not', () => {
  for (const resource of ['*', 'quarantine/*', 'q*', 'quarantine/upl_1/uploads/a.png', '{sub}/*', 'quar{sub}/*']) {
    assert.equal(quarantineOverlaps(policyWith([resource]), 'quarantine/').length, 1, resource);
  }
  for (const resource of ['uploads/{sub}/*', 'public/*', 'quarantined/*', 'x/quarantine/*']) {
    assert.deepEqual(quarantineOverlaps(policyWith([resource]), 'quarantine/'), [], resource);
  }
  assert.match(quarantineOverlaps(policyWith(['public/*'], 'quarantine/*'), 'quarantine/')[0] ?? '', /bundle "b"/u);
});
