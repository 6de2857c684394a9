/**
 * Policy files that the schema must refuse (mutation testing found these limits unpinned):
 * each would otherwise load and quietly grant or condition something other than what it says.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PolicyError } from '../../../src/policy/compile.js';
import { developmentPolicy } from '../../../src/policy/development-policy.js';
import { validatePolicyDocument } from '../../../src/policy/load.js';
import { BundleIdSchema, POLICY_ID } from '../../../src/policy/schema.js';

function problemsOf(document: unknown): readonly string[] {
  try {
    validatePolicyDocument(document, 'policy.yaml');
  } catch (error) {
    assert.ok(error instanceof PolicyError, String(error));
    return error.problems;
  }
  return [];
}

const rule = (extra: Record<string, unknown>): Record<string, unknown> => ({ id: 'r', actions: ['read'], resources: ['x/*'], ...extra });
const withRule = (extra: Record<string, unknown>): unknown => ({ version: 1, rules: [rule(extra)] });
const withBundle = (bundle: Record<string, unknown>): unknown => ({ version: 1, rules: [], bundles: { b: bundle } });

describe('policy schema: refused documents name the offending path', () => {
  const cases: readonly [string, unknown, string][] = [
    ['an unknown limit (a typo must not drop a limit)', withRule({ limits: { maxBytes: 1, maxByte: 2 } }), '/rules/0/limits/maxByte'],
    ['an empty contentTypes list', withRule({ limits: { contentTypes: [] } }), '/rules/0/limits/contentTypes'],
    ['an unknown condition (a typo must not drop a condition)', withRule({ when: { subject: ['alice'] } }), '/rules/0/when/subject'],
    ['an empty subject', withRule({ when: { subjects: [''] } }), '/rules/0/when/subjects/0'],
    ['an empty scopes list', withRule({ when: { scopes: [] } }), '/rules/0/when/scopes'],
    ['an empty scope', withRule({ when: { scopes: [''] } }), '/rules/0/when/scopes/0'],
    ['an empty roles list', withRule({ when: { roles: [] } }), '/rules/0/when/roles'],
    ['an empty role', withRule({ when: { roles: [''] } }), '/rules/0/when/roles/0'],
    ['an empty list of claim values', withRule({ when: { claims: { tier: [] } } }), '/rules/0/when/claims/tier'],
    ['an empty resources list', withRule({ resources: [] }), '/rules/0/resources'],
    ['an empty resource pattern', withRule({ resources: [''] }), '/rules/0/resources/0'],
    ['an empty bundles list', withRule({ resources: undefined, bundles: [] }), '/rules/0/bundles'],
    ['an empty bundle resource', withBundle({ resource: '' }), '/bundles/b/resource'],
    ['an empty cookie path (the root is "/")', withBundle({ resource: '{sub}/*', cookiePath: '' }), '/bundles/b/cookiePath'],
    [
      'a cookie path longer than 1024 characters',
      withBundle({ resource: 'x/*', cookiePath: `/${'x'.repeat(1024)}` }),
      '/bundles/b/cookiePath',
    ],
    ['an unknown bundle property', withBundle({ resource: 'x/*', path: '/x/' }), '/bundles/b/path'],
    ['an unknown top-level property', { version: 1, rules: [], bundle: {} }, '/bundle'],
  ];
  for (const [name, document, path] of cases) {
    test(`refuses ${name}`, () => {
      const problems = problemsOf(document);
      assert.ok(
        problems.some((problem) => problem.startsWith(`policy.yaml: ${path}: `)),
        `expected a problem at ${path} in:\n${problems.join('\n')}`,
      );
    });
  }
});

describe('the bundle id parameter', () => {
  test("its documented example is the development policy's bundle, so /docs' Try it out works on a fresh broker", () => {
    const examples: unknown = BundleIdSchema.examples;
    assert.ok(Array.isArray(examples) && examples.length > 0, 'the schema documents an example');
    for (const example of examples) {
      assert.equal(typeof example, 'string');
      assert.match(String(example), new RegExp(POLICY_ID, 'u'));
      assert.ok(Object.hasOwn(developmentPolicy.bundles ?? {}, String(example)), `no development bundle ${String(example)}`);
    }
  });
});
