import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { permitsFor } from '../../../src/policy/permits.js';
import { entitlement, NOW, policyOf, principal } from './fixtures.js';

describe('permitsFor', () => {
  const alice = principal({ sub: 'alice' });
  const policy = policyOf([], { course: { resource: 'courses/rust/*' } });

  test('an entitlement names its bundle, or none: a resource-only one brings no bundle at all', () => {
    const entitlements = [
      entitlement({ id: 'e-files', resources: ['shared/*'] }),
      entitlement({ id: 'e-course', bundleId: 'course', resources: [] }),
    ];
    const permits = [...permitsFor(alice, 'read', policy, entitlements, NOW)];
    assert.deepEqual(
      permits.map((permit) => [permit.source.id, permit.bundleIds]),
      [
        ['e-files', []],
        ['e-course', ['course']],
      ],
    );
  });
});
