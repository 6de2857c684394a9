import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decide, type Decision } from '../../src/policy/decide.js';
import { uploadPrefixes } from '../../src/policy/upload-prefixes.js';
import { BASE_NOW, UNSAFE_VALUES, compileCase, decisionCase, principalArb } from './arbitraries.js';
import {
  candidates,
  coversTarget,
  expectedDecision,
  limitsFit,
  liveAt,
  millisecondsLeft,
  resolveTokens,
  tokenize,
  whenHolds,
  type ModelCase,
} from './policy-model.js';
import { runs } from './settings.js';

const decideCase = (c: ModelCase): Decision => {
  const { policy, entitlements } = compileCase(c);
  return decide({ principal: c.who, ask: c.ask, policy, entitlements, now: c.now, defaults: c.defaults });
};

const describeTarget = ({ ask }: ModelCase): string =>
  ask.target.kind === 'key' ? `key "${ask.target.key}"` : `bundle "${ask.target.bundleId}"`;

describe('decide() against the reference model (test/property/policy-model.ts)', () => {
  test('decides exactly as the model: same outcome, source, TTL, maxBytes and denial code', () => {
    fc.assert(
      fc.property(decisionCase, (c) => {
        const decision = decideCase(c);
        const expected = expectedDecision(c);
        if (expected.allow) {
          assert.ok(
            decision.allow,
            `expected an allow by ${expected.source.kind} "${expected.source.id}", got: ${JSON.stringify(decision)}`,
          );
          assert.deepEqual(
            { source: decision.source, ttlSeconds: decision.ttlSeconds, maxBytes: decision.maxBytes, createOnly: decision.createOnly },
            { source: expected.source, ttlSeconds: expected.ttlSeconds, maxBytes: expected.maxBytes, createOnly: expected.createOnly },
          );
        } else {
          assert.ok(!decision.allow, `expected ${expected.code}, got an allow by ${JSON.stringify(decision)}`);
          assert.equal(decision.code, expected.code);
          if (expected.code === 'BROKER_LIMIT_EXCEEDED') {
            assert.deepEqual(decision.source, expected.source);
            assert.ok(decision.reason.startsWith(`${expected.source.kind} "${expected.source.id}": `), decision.reason);
          } else {
            assert.equal(decision.source, undefined);
            assert.equal(decision.reason, `no rule or entitlement grants ${c.ask.action} on ${describeTarget(c)}`);
          }
        }
      }),
      runs(3000),
    );
  });

  test('every allow is justified: the named rule or entitlement applies to the caller, is live, has the action, covers the target and fits', () => {
    fc.assert(
      fc.property(decisionCase, (c) => {
        const decision = decideCase(c);
        if (!decision.allow) return;
        const { ask, who, now, defaults } = c;
        const { source } = decision;
        let leftMs = Number.POSITIVE_INFINITY;
        let cap = defaults.maxTtlSeconds;
        if (source.kind === 'rule') {
          const rule = c.rules.find((r) => r.id === source.id);
          assert.ok(rule, `no rule "${source.id}"`);
          assert.ok(rule.actions.includes(ask.action), 'the rule does not have the action');
          assert.ok(whenHolds(rule.when, who), "the rule's conditions do not hold for the caller");
          cap = Math.min(cap, rule.limits?.maxTtlSeconds ?? cap);
        } else {
          const entitlement = c.entitlements.find((e) => e.id === source.id);
          assert.ok(entitlement, `no entitlement "${source.id}"`);
          assert.equal(entitlement.subject, who.sub, "another subject's entitlement");
          assert.ok(liveAt(entitlement, now), 'an entitlement that is not live');
          assert.ok(entitlement.actions.includes(ask.action), 'the entitlement does not have the action');
          leftMs = millisecondsLeft(entitlement, now);
        }
        const candidate = candidates(c).find((k) => k.source.kind === source.kind && k.source.id === source.id);
        assert.ok(candidate, 'the source is not among the applicable rules and entitlements');
        assert.ok(coversTarget(candidate, c), 'the source does not cover the target for this action');
        assert.ok(limitsFit(candidate.limits, c), "the ask does not fit the source's limits");
        assert.ok(decision.ttlSeconds >= 1, `ttl ${decision.ttlSeconds}`);
        assert.ok(decision.ttlSeconds <= (ask.ttlSeconds ?? defaults.defaultTtlSeconds), 'longer than asked');
        assert.ok(decision.ttlSeconds <= cap, 'longer than the rule or broker cap');
        assert.ok(decision.ttlSeconds * 1000 <= leftMs, 'outlives the entitlement');
        assert.ok(decision.maxBytes <= defaults.maxBytes, 'more bytes than the broker-wide cap');
      }),
      runs(1000),
    );
  });

  test('when nothing covers the target for that action, the answer is BROKER_FORBIDDEN', () => {
    fc.assert(
      fc.property(decisionCase, (c) => {
        const covered = candidates(c).some((candidate) => coversTarget(candidate, c));
        fc.pre(!covered);
        const decision = decideCase(c);
        assert.ok(!decision.allow);
        assert.equal(decision.code, 'BROKER_FORBIDDEN');
      }),
      runs(800),
    );
  });
});

describe('decide(): security invariants', () => {
  const writes = decisionCase.map((c) => ({ ...c, ask: { ...c.ask, action: 'write' as const } }));

  test('a write on a key is only ever allowed by a resource pattern of the source, never through a bundle', () => {
    fc.assert(
      fc.property(writes, (c) => {
        const decision = decideCase(c);
        if (!decision.allow || c.ask.target.kind !== 'key') return;
        const { source } = decision;
        const candidate = candidates(c).find((k) => k.source.kind === source.kind && k.source.id === source.id);
        assert.ok(candidate);
        assert.ok(
          coversTarget({ ...candidate, bundles: [] }, c),
          `write allowed by ${source.kind} "${source.id}" without a resource pattern`,
        );
      }),
      runs(600),
    );
  });

  // Regression: an entitlement naming a bundle with `write` (valid beside a resource pattern) was allowed a write
  // on the bundle itself; covers() now checks the action for bundle targets too.
  test('bundles are read-only: a write on a bundle is never allowed', () => {
    const bundleWrites = writes.map((c) => {
      const bundleId = Object.keys(c.bundles)[0];
      return bundleId === undefined ? c : { ...c, ask: { ...c.ask, target: { kind: 'bundle' as const, bundleId } } };
    });
    fc.assert(
      fc.property(bundleWrites, (c) => {
        fc.pre(c.ask.target.kind === 'bundle');
        const decision = decideCase(c);
        assert.ok(!decision.allow, `write on a bundle allowed by ${JSON.stringify(decision)}`);
      }),
      runs(300),
    );
  });

  test("another subject's entitlements change nothing", () => {
    fc.assert(
      fc.property(decisionCase, (c) => {
        const others = c.entitlements.map((e) => ({ ...e, id: `other-${e.id}`, subject: `${c.who.sub}-not` }));
        const withOthers = { ...c, entitlements: [...others, ...c.entitlements, ...others] };
        assert.deepEqual(decideCase(withOthers), decideCase(c));
      }),
      runs(400),
    );
  });

  test('revoked, expired and not-yet-valid entitlements grant nothing', () => {
    const dead = fc
      .tuple(decisionCase, fc.constantFrom('revoked', 'expired', 'future'), fc.constantFrom(0, 1, 3600))
      .map(([c, how, seconds]) => {
        const at = (offset: number): Date => new Date(c.now.getTime() + offset * 1000);
        const entitlements = c.entitlements.map((e) => {
          if (how === 'revoked') return { ...e, revokedAt: at(-seconds) };
          if (how === 'expired') return { ...e, expiresAt: at(-seconds), notBefore: null };
          return { ...e, notBefore: at(seconds + 0.001), expiresAt: null };
        });
        return { ...c, rules: [], entitlements };
      });
    fc.assert(
      fc.property(dead, (c) => {
        const decision = decideCase(c);
        assert.ok(!decision.allow, `allowed by ${JSON.stringify(decision)}`);
        assert.equal(decision.code, 'BROKER_FORBIDDEN');
      }),
      runs(400),
    );
  });

  test("a claim that could widen a pattern never reaches past the caller's own prefix", () => {
    const crafted = fc.record({
      sub: fc.constantFrom(...UNSAFE_VALUES),
      key: fc.string({ unit: fc.constantFrom('uploads/', 'bob', '/', '.', '..', '*', '?', 'a', '{', '}', 'x'), maxLength: 8 }),
      action: fc.constantFrom('read' as const, 'write' as const),
    });
    fc.assert(
      fc.property(crafted, decisionCase, ({ sub, key, action }, base) => {
        const c: ModelCase = {
          ...base,
          rules: [{ id: 'own', actions: ['read', 'write'], resources: ['uploads/{sub}/*', '{sub}', 'x/{sub}*'] }],
          entitlements: [],
          who: { ...base.who, sub, claims: { ...base.who.claims, sub } },
          ask: { action, target: { kind: 'key', key } },
        };
        const decision = decideCase(c);
        assert.ok(!decision.allow, `sub ${JSON.stringify(sub)} was granted ${action} on ${JSON.stringify(key)}`);
      }),
      runs(500),
    );
  });
});

describe('uploadPrefixes()', () => {
  /** The model: the fixed part of each `prefix*` pattern (one wildcard, at the end) of every rule and live entitlement that may write. */
  function expectedPrefixes(c: ModelCase): string[] {
    const writer = { ...c, ask: { ...c.ask, action: 'write' as const } };
    const prefixes: string[] = [];
    for (const candidate of candidates(writer)) {
      for (const source of candidate.resources) {
        const tokens = tokenize(source);
        const chunks = tokens && resolveTokens(tokens, c.who.claims);
        if (chunks?.length === 2 && chunks[1] === '' && !prefixes.includes(chunks[0] ?? '')) prefixes.push(chunks[0] ?? '');
      }
    }
    return prefixes;
  }

  test('are the fixed prefixes of the `prefix*` patterns the caller may write, in decision order', () => {
    fc.assert(
      fc.property(decisionCase, (c) => {
        const { policy, entitlements } = compileCase(c);
        assert.deepEqual(uploadPrefixes(c.who, policy, entitlements, c.now), expectedPrefixes(c));
      }),
      runs(600),
    );
  });

  test('a key generated under any of them is allowed for write (unless its entitlement ends within the second)', () => {
    const lasting = fc.tuple(decisionCase, fc.string({ maxLength: 40 })).map(([c, suffix]) => ({
      c: { ...c, entitlements: c.entitlements.filter((e) => millisecondsLeft(e, c.now) >= 1000) },
      suffix,
    }));
    fc.assert(
      fc.property(lasting, ({ c, suffix }) => {
        const { policy, entitlements } = compileCase(c);
        for (const prefix of uploadPrefixes(c.who, policy, entitlements, c.now)) {
          const ask = { action: 'write' as const, target: { kind: 'key' as const, key: `${prefix}${suffix}` } };
          const decision = decide({ principal: c.who, ask, policy, entitlements, now: c.now, defaults: c.defaults });
          assert.ok(decision.allow, `prefix ${JSON.stringify(prefix)}: ${JSON.stringify(decision)}`);
        }
      }),
      runs(400),
    );
  });

  test('never include a prefix built from a claim that could widen it', () => {
    fc.assert(
      fc.property(principalArb, fc.constantFrom(...UNSAFE_VALUES), (who, value) => {
        const c: ModelCase = {
          rules: [{ id: 'own', actions: ['write'], resources: ['uploads/{tid}/*', '{tid}*'] }],
          bundles: {},
          entitlements: [],
          who: { ...who, claims: { ...who.claims, tid: value } },
          ask: { action: 'write', target: { kind: 'key', key: 'k' } },
          now: BASE_NOW,
          defaults: { maxBytes: 1, defaultTtlSeconds: 1, maxTtlSeconds: 1 },
        };
        const { policy } = compileCase(c);
        assert.deepEqual(uploadPrefixes(c.who, policy, [], c.now), []);
      }),
      runs(200),
    );
  });
});
