/** Policy compilation details that mutation testing found unpinned. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PolicyError } from '../../../src/policy/compile.js';
import { validatePolicyDocument } from '../../../src/policy/load.js';
import { policyOf } from './fixtures.js';

const problemsOf = (document: unknown): readonly string[] => {
  try {
    validatePolicyDocument(document, 'policy.yaml');
  } catch (error) {
    assert.ok(error instanceof PolicyError, String(error));
    return error.problems;
  }
  return [];
};

describe('compilePolicy', () => {
  test('a rule that names only bundles has no resource patterns of its own', () => {
    const policy = policyOf([{ id: 'course', actions: ['read'], bundles: ['c'] }], { c: { resource: 'courses/*' } });
    assert.deepEqual(policy.rules[0]?.resources, []);
  });

  test('a bundle whose resource starts with a claim or a wildcard has no fixed prefix: only the root path can carry its cookies', () => {
    for (const resource of ['{sub}/*', '*/videos/*']) {
      const bundle = (cookiePath: string): unknown => ({ version: 1, rules: [], bundles: { b: { resource, cookiePath } } });
      assert.deepEqual(problemsOf(bundle('/')), [], `${resource} with cookiePath "/"`);
      for (const cookiePath of ['/u', '/S', '/uploads/', '/videos/']) {
        assert.equal(problemsOf(bundle(cookiePath)).length, 1, `${resource} with cookiePath ${cookiePath}`);
      }
    }
  });

  test('a PolicyError lists each problem on its own line under one heading', () => {
    const error = new PolicyError(['first problem', 'second problem']);
    assert.equal(error.message, 'policy is not valid:\n  - first problem\n  - second problem');
    assert.deepEqual(error.problems, ['first problem', 'second problem']);
  });
});
