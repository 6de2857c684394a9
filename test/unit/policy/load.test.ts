import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PolicyError } from '../../../src/policy/compile.js';
import { developmentPolicy } from '../../../src/policy/development-policy.js';
import { loadPolicyFile, parsePolicy, validatePolicyDocument } from '../../../src/policy/load.js';

/** Runs fn, which must throw a PolicyError, and returns its problems. */
function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PolicyError, `expected a PolicyError, got ${String(error)}`);
    assert.equal(error.name, 'PolicyError');
    for (const problem of error.problems) assert.ok(error.message.includes(problem), 'the message lists every problem');
    return error.problems;
  }
  return assert.fail('expected a PolicyError');
}

const VALID = `
version: 1
rules:
  - id: own-uploads
    description: Everyone writes under their own prefix.
    actions: [read, write]
    resources: ["uploads/{sub}/*"]
    limits:
      maxBytes: 1048576
      contentTypes: ["image/*", "application/pdf"]
      maxTtlSeconds: 600
  - id: course-readers
    when:
      scopes: [courses:read]
      claims:
        enrolled: ["101", "102"]
    actions: [read]
    bundles: [course-101]
bundles:
  course-101:
    description: Lessons of course 101.
    resource: "courses/101/*"
    cookiePath: /courses/101/
`;

describe('parsePolicy: a valid document', () => {
  test('compiles rules in file order with their conditions, actions, patterns and limits', () => {
    const policy = parsePolicy(VALID, 'policy.yaml');
    assert.deepEqual(
      policy.rules.map((rule) => rule.id),
      ['own-uploads', 'course-readers'],
    );
    const [own, course] = policy.rules;
    assert.ok(own && course);
    assert.deepEqual([...own.actions].sort(), ['read', 'write']);
    assert.deepEqual(
      own.resources.map((pattern) => pattern.source),
      ['uploads/{sub}/*'],
    );
    assert.deepEqual(own.limits, { maxBytes: 1048576, contentTypes: ['image/*', 'application/pdf'], maxTtlSeconds: 600 });
    assert.deepEqual(own.when, {});
    assert.deepEqual(own.bundles, []);
    assert.deepEqual(course.when, { scopes: ['courses:read'], claims: { enrolled: ['101', '102'] } });
    assert.deepEqual(course.bundles, ['course-101']);
    assert.deepEqual(course.limits, {});
  });

  test('compiles bundles with their resource and cookie path', () => {
    const bundle = parsePolicy(VALID, 'policy.yaml').bundles.get('course-101');
    assert.equal(bundle?.resource.source, 'courses/101/*');
    assert.equal(bundle?.cookiePath, '/courses/101/');
  });

  test('a document with no rules is valid (and denies everything)', () => {
    const policy = parsePolicy('version: 1\nrules: []\n', 'empty.yaml');
    assert.equal(policy.rules.length, 0);
    assert.equal(policy.bundles.size, 0);
  });

  test('the built-in development policy is valid', () => {
    const policy = validatePolicyDocument(developmentPolicy, 'development policy');
    assert.ok(policy.rules.length > 0);
  });
});

describe('parsePolicy: invalid YAML', () => {
  test('is a PolicyError naming the origin', () => {
    const problems = problemsOf(() => parsePolicy('version: 1\nrules: [\n', 'broken.yaml'));
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^broken\.yaml: not valid YAML: /);
  });

  test('duplicate keys are refused rather than silently overwritten', () => {
    const problems = problemsOf(() => parsePolicy('version: 1\nrules: []\nrules: []\n', 'dupe.yaml'));
    assert.match(problems[0] ?? '', /^dupe\.yaml: not valid YAML: /);
  });
});

describe('parsePolicy: schema errors', () => {
  test('an empty file is reported against the document', () => {
    const problems = problemsOf(() => parsePolicy('', 'empty.yaml'));
    assert.ok(
      problems.some((problem) => problem.startsWith('empty.yaml: (document): ')),
      problems.join('\n'),
    );
  });

  test('each problem names the origin and the path of the offending value, all at once', () => {
    const text = `
version: 2
rules:
  - id: Bad_Id
    actions: [fly]
    resources: ["x/*"]
  - id: ok
    actions: [read]
    resources: ["y/*"]
    limits:
      maxBytes: -1
      contentTypes: ["not a media type"]
      maxTtlSeconds: 604801
`;
    const problems = problemsOf(() => parsePolicy(text, 'policy.yaml'));
    for (const path of [
      '/version',
      '/rules/0/id',
      '/rules/0/actions/0',
      '/rules/1/limits/maxBytes',
      '/rules/1/limits/contentTypes/0',
      '/rules/1/limits/maxTtlSeconds',
    ]) {
      assert.ok(
        problems.some((problem) => problem.startsWith(`policy.yaml: ${path}: `)),
        `expected a problem at ${path} in:\n${problems.join('\n')}`,
      );
    }
  });

  test('unknown properties are refused (a typo must not silently drop a condition)', () => {
    const text = 'version: 1\nrules:\n  - id: a\n    actions: [read]\n    resources: ["x/*"]\n    whem:\n      subjects: [alice]\n';
    const problems = problemsOf(() => parsePolicy(text, 'typo.yaml'));
    assert.ok(
      problems.some((problem) => problem.startsWith('typo.yaml: /rules/0')),
      problems.join('\n'),
    );
  });

  test('an empty condition list is refused (it would read as "nobody" but be ignored)', () => {
    const text = 'version: 1\nrules:\n  - id: a\n    when:\n      subjects: []\n    actions: [read]\n    resources: ["x/*"]\n';
    const problems = problemsOf(() => parsePolicy(text, 'p.yaml'));
    assert.ok(
      problems.some((problem) => problem.startsWith('p.yaml: /rules/0/when/subjects')),
      problems.join('\n'),
    );
  });

  test('duplicate actions are refused', () => {
    const problems = problemsOf(() =>
      parsePolicy('version: 1\nrules:\n  - id: a\n    actions: [read, read]\n    resources: ["x/*"]\n', 'p.yaml'),
    );
    assert.ok(
      problems.some((problem) => problem.startsWith('p.yaml: /rules/0/actions')),
      problems.join('\n'),
    );
  });
});

describe('parsePolicy: compile errors, all reported at once', () => {
  const text = `
version: 1
rules:
  - id: dupe
    actions: [read]
    resources: ["a/*"]
  - id: dupe
    actions: [read]
    resources: ["b/*"]
  - id: unknown-bundle
    actions: [read]
    bundles: [nope]
  - id: writes-bundle
    actions: [read, write]
    bundles: [demo]
  - id: create-only-reads
    actions: [read]
    resources: ["r/*"]
    createOnly: true
  - id: empty
    actions: [read]
  - id: bad-patterns
    actions: [read]
    resources: ["/leading", "why?", "stray{", "fine/*"]
bundles:
  demo:
    resource: "demo/*"
  broken:
    resource: "x/{sub"
  Bad_Bundle:
    resource: "y/*"
`;
  const problems = problemsOf(() => parsePolicy(text, 'policy.yaml'));

  for (const expected of [
    'rule "dupe" is defined twice',
    'rule "unknown-bundle" names unknown bundle "nope"',
    'rule "writes-bundle": bundles are read-only',
    'rule "create-only-reads": createOnly applies to writes, and it grants none',
    'rule "empty" names no resources and no bundles',
    'rule "bad-patterns": pattern "/leading": must not start with "/"',
    'rule "bad-patterns": pattern "why?": "?" is not allowed; use "*"',
    'rule "bad-patterns": pattern "stray{": "{" and "}" only enclose a claim name',
    'bundle "broken": pattern "x/{sub": "{" and "}" only enclose a claim name',
    'bundle id "Bad_Bundle" must match ^[a-z0-9][a-z0-9._-]{0,63}$',
  ]) {
    test(`reports: ${expected}`, () => {
      assert.ok(problems.includes(expected), `missing "${expected}" in:\n${problems.join('\n')}`);
    });
  }

  test('reports nothing else', () => {
    assert.equal(problems.length, 10, problems.join('\n'));
  });
});

describe('loadPolicyFile', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'broker-policy-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reads and compiles a file', async () => {
    const path = join(dir, 'policy.yaml');
    await writeFile(path, VALID);
    const policy = await loadPolicyFile(path);
    assert.equal(policy.rules.length, 2);
  });

  test('names the file in its problems', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'version: 3\nrules: []\n');
    await assert.rejects(loadPolicyFile(path), (error: unknown) => {
      assert.ok(error instanceof PolicyError);
      assert.ok(
        error.problems.some((problem) => problem.startsWith(`${path}: /version`)),
        error.problems.join('\n'),
      );
      return true;
    });
  });

  test('a missing file rejects with ENOENT', async () => {
    await assert.rejects(loadPolicyFile(join(dir, 'missing.yaml')), { code: 'ENOENT' });
  });
});

describe('bundle cookie paths', () => {
  const withBundle = (bundle: Record<string, unknown>) => ({ version: 1, rules: [], bundles: { b: bundle } });
  const problemsOf = (document: unknown): readonly string[] => {
    try {
      validatePolicyDocument(document, 'policy.yaml');
    } catch (error) {
      if (error instanceof PolicyError) return error.problems;
      throw error;
    }
    return [];
  };

  test('a prefix of the resource path is accepted', () => {
    assert.deepEqual(problemsOf(withBundle({ resource: 'courses/rust/*', cookiePath: '/courses/' })), []);
    assert.deepEqual(problemsOf(withBundle({ resource: 'courses/rust/*', cookiePath: '/courses/rust/' })), []);
    assert.deepEqual(problemsOf(withBundle({ resource: 'tenants/{tenant}/*', cookiePath: '/tenants/' })), []);
  });

  test('regression: a ";" cannot smuggle cookie attributes (it used to load, then fail every request with a 500)', () => {
    const problems = problemsOf(withBundle({ resource: 'x/*', cookiePath: '/x/;Domain=evil.example' }));
    assert.ok(
      problems.some((problem) => problem.includes('cookiePath')),
      problems.join('\n'),
    );
  });

  test('a path the resource does not live under is refused: the cookies would never be sent', () => {
    const problems = problemsOf(withBundle({ resource: 'courses/rust/*', cookiePath: '/videos/' }));
    assert.match(problems.join('\n'), /not a prefix of the resource path "\/courses\/rust\/"/);
  });

  test('a path deeper than the fixed part of a per-claim resource is refused', () => {
    const problems = problemsOf(withBundle({ resource: 'tenants/{tenant}/*', cookiePath: '/tenants/acme/' }));
    assert.equal(problems.length, 1);
  });
});
