import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PolicyError } from '../../../src/policy/compile.js';
import { validatePolicyDocument } from '../../../src/policy/load.js';

const problemsOf = (document: unknown): readonly string[] => {
  try {
    validatePolicyDocument(document, 'test policy');
    return [];
  } catch (error) {
    assert.ok(error instanceof PolicyError);
    return error.problems;
  }
};
const bundle = (resource: string) => ({ version: 1, rules: [], bundles: { b: { resource } } });

describe('policy rules that close what CloudFront or the schema would let through', () => {
  test('regression: a hex digit right after "*" in a bundle is refused (the cookie of x/*25 covered the key x/%)', () => {
    for (const resource of ['x/*25', 'x/*F.txt', 'x/*a', 'x/*0/y']) {
      assert.match(problemsOf(bundle(resource)).join('\n'), /must not start with a hex digit/, resource);
    }
  });

  test('a claim right after "*" in a bundle is refused: its value may start with a hex digit', () => {
    assert.match(problemsOf(bundle('courses/*{sub}')).join('\n'), /a claim right after "\*"/);
  });

  test('other letters, "/", "." or "-" after "*", and wildcards at the end, are fine', () => {
    for (const resource of ['x/*', 'x/*/y', 'x/*.mp4', 'x/*-hd', 'x/*g', 'courses/{sub}/*', 'x/*/{sub}/*']) {
      assert.deepEqual(problemsOf(bundle(resource)), [], resource);
    }
  });

  test('regression: an empty claim name in "when" is refused (the schema did not apply minLength to keys)', () => {
    const policy = { version: 1, rules: [{ id: 'r', actions: ['read'], resources: ['x/*'], when: { claims: { '': 'x' } } }] };
    assert.deepEqual(problemsOf(policy), ['rule "r": a claim name in "when" is empty']);
  });
});
