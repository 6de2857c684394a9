import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { principalFromClaims } from '../../src/auth/principal.js';
import { decide, type Ask } from '../../src/policy/decide.js';
import { endOf, InvalidEntitlementError, recordOf, type Entitlement, type NewEntitlement } from '../../src/policy/entitlement.js';
import { validatePolicyDocument } from '../../src/policy/load.js';
import {
  IdempotencyConflictError,
  type EntitlementCursor,
  type EntitlementQuery,
  type EntitlementStore,
  type IdempotencyKey,
} from '../../src/store/entitlement-store.js';

/** A fixed instant with milliseconds, so a store that rounds to seconds is caught. */
export const NOW = new Date('2025-06-01T12:00:00.123Z');
export const msFromNow = (ms: number): Date => new Date(NOW.getTime() + ms);
const DAY = 86_400_000;

/** Whether alice may read `key` with these entitlements alone (no rules): how hand-written rows are judged. */
export function aliceReads(entitlements: readonly Entitlement[], key: string): boolean {
  const policy = validatePolicyDocument({ version: 1, rules: [] }, 'contract test');
  const alice = principalFromClaims({ sub: 'alice' });
  assert.ok(alice);
  const ask: Ask = { action: 'read', target: { kind: 'key', key } };
  const defaults = { maxBytes: 1000, defaultTtlSeconds: 900, maxTtlSeconds: 3600 };
  return decide({ policy, principal: alice, ask, entitlements, now: NOW, defaults }).allow;
}

/** A valid new entitlement for alice on uploads/alice/*, read only, open-ended. */
export function newEntitlement(overrides: Partial<NewEntitlement> = {}): NewEntitlement {
  return {
    subject: 'alice',
    resources: ['uploads/alice/*'],
    actions: ['read'],
    grantedBy: 'contract-test',
    reason: 'store contract',
    ...overrides,
  };
}

const ids = (entitlements: readonly Entitlement[]): string[] => entitlements.map((entitlement) => entitlement.id);
const reasons = (entitlements: readonly Entitlement[]): string[] => entitlements.map((entitlement) => entitlement.reason);
const sorted = (values: readonly string[]): string[] => [...values].sort();

/** Awaits a create that must fail validation; returns the problems it named, each expected one among them. */
async function rejectedAsInvalid(create: Promise<Entitlement>, ...expected: readonly RegExp[]): Promise<readonly string[]> {
  let caught: unknown;
  try {
    await create;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof InvalidEntitlementError, `expected an InvalidEntitlementError, got ${String(caught)}`);
  for (const problem of expected) {
    assert.ok(
      caught.problems.some((named) => problem.test(named)),
      `expected a problem matching ${String(problem)}, got: ${caught.problems.join('; ')}`,
    );
    assert.match(caught.message, problem, 'the message names every problem');
  }
  return caught.problems;
}

/** Settles the promise, or fails the test after `ms` instead of letting it hang. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The behaviour every EntitlementStore must have. Each test gets a fresh,
 * empty store from `open` and closes it afterwards.
 */
export function entitlementStoreContract(name: string, open: () => Promise<EntitlementStore>): void {
  describe(name, () => {
    let store: EntitlementStore;

    beforeEach(async () => {
      store = await open();
    });

    afterEach(async () => {
      await store.close();
    });

    describe('live entitlements', () => {
      test('an entitlement created with no dates is live for its subject, every field as it was written', async () => {
        const created = await store.create(
          {
            subject: 'alice',
            bundleId: 'demo',
            resources: ['uploads/alice/*', 'shared/{sub}/docs/*'],
            actions: ['read', 'write'],
            grantedBy: 'ops@example.com',
            reason: 'ticket 42: "quoted", unicode ✓',
          },
          NOW,
        );
        const live = await store.liveFor('alice', NOW);
        assert.equal(live.length, 1);
        const [found] = live;
        assert.ok(found);
        assert.deepEqual(recordOf(found), {
          id: created.id,
          subject: 'alice',
          bundleId: 'demo',
          resources: ['uploads/alice/*', 'shared/{sub}/docs/*'],
          actions: ['read', 'write'],
          notBefore: null,
          expiresAt: null,
          revokedAt: null,
          revokedBy: null,
          createOnly: false,
          grantedBy: 'ops@example.com',
          reason: 'ticket 42: "quoted", unicode ✓',
          createdAt: NOW,
        });
        assert.deepEqual(
          found.patterns.map((pattern) => pattern.source),
          ['uploads/alice/*', 'shared/{sub}/docs/*'],
        );
        assert.deepEqual(found.patterns[1]?.parts, [{ literal: 'shared/' }, { claim: 'sub' }, { literal: '/docs/' }, { wildcard: true }]);
      });

      test('create returns the entitlement exactly as liveFor later returns it, with an id of its own', async () => {
        const created = await store.create(
          newEntitlement({ notBefore: msFromNow(-5), expiresAt: msFromNow(DAY), resources: ['a/*', 'b/{sub}'] }),
          NOW,
        );
        assert.equal(typeof created.id, 'string');
        assert.notEqual(created.id, '');
        assert.deepEqual(await store.liveFor('alice', NOW), [created]);
      });

      test('dates come back as Date objects, to the millisecond', async () => {
        const notBefore = new Date('2025-05-31T08:15:30.987Z');
        const expiresAt = new Date('2025-07-01T00:00:00.001Z');
        await store.create(newEntitlement({ notBefore, expiresAt }), NOW);
        const [found] = await store.liveFor('alice', NOW);
        assert.ok(found);
        assert.ok(found.notBefore instanceof Date && found.expiresAt instanceof Date);
        assert.equal(found.notBefore.toISOString(), '2025-05-31T08:15:30.987Z');
        assert.equal(found.expiresAt.toISOString(), '2025-07-01T00:00:00.001Z');
        assert.equal(found.revokedAt, null);
      });

      test('createOnly comes back as written, and defaults to false', async () => {
        const createOnly = await store.create(newEntitlement({ actions: ['write'], createOnly: true }), NOW);
        const plain = await store.create(newEntitlement({ actions: ['write'], reason: 'plain' }), NOW);
        const live = new Map((await store.liveFor('alice', NOW)).map((entitlement) => [entitlement.id, entitlement]));
        assert.deepEqual(live.get(createOnly.id), createOnly);
        assert.equal(live.get(createOnly.id)?.createOnly, true);
        assert.deepEqual(live.get(plain.id), plain);
        assert.equal(live.get(plain.id)?.createOnly, false);
      });

      test('a bundle-only entitlement comes back with no resources and no patterns', async () => {
        await store.create({ subject: 'alice', bundleId: 'course-101', actions: ['read'], grantedBy: 'shop', reason: 'purchase' }, NOW);
        const [found] = await store.liveFor('alice', NOW);
        assert.ok(found);
        assert.equal(found.bundleId, 'course-101');
        assert.deepEqual(found.resources, []);
        assert.deepEqual(found.patterns, []);
      });

      test('a resource-only entitlement comes back with a null bundle id', async () => {
        await store.create(newEntitlement({ bundleId: undefined }), NOW);
        const [found] = await store.liveFor('alice', NOW);
        assert.ok(found);
        assert.equal(found.bundleId, null);
      });

      test('the store keeps its own copy: changing the caller’s arrays and dates afterwards changes nothing', async () => {
        const resources = ['uploads/alice/*'];
        const actions: NewEntitlement['actions'][number][] = ['read'];
        const expiresAt = msFromNow(DAY);
        await store.create(newEntitlement({ resources, actions, expiresAt }), NOW);
        resources.push('everything/*');
        actions.push('write');
        expiresAt.setTime(NOW.getTime() + 365 * DAY);
        const [found] = await store.liveFor('alice', NOW);
        assert.ok(found);
        assert.deepEqual(found.resources, ['uploads/alice/*']);
        assert.deepEqual(found.actions, ['read']);
        assert.equal(found.expiresAt?.getTime(), NOW.getTime() + DAY);
      });
    });

    describe('subjects', () => {
      test('liveFor returns only that subject’s entitlements', async () => {
        await store.create(newEntitlement({ reason: 'alice 1' }), NOW);
        await store.create(newEntitlement({ subject: 'bob', resources: ['uploads/bob/*'], reason: 'bob 1' }), NOW);
        await store.create(newEntitlement({ reason: 'alice 2' }), msFromNow(1));
        assert.deepEqual(reasons(await store.liveFor('alice', NOW)), ['alice 1', 'alice 2']);
        assert.deepEqual(reasons(await store.liveFor('bob', NOW)), ['bob 1']);
      });

      test('a subject with no entitlements gets an empty list', async () => {
        await store.create(newEntitlement(), NOW);
        assert.deepEqual(await store.liveFor('carol', NOW), []);
      });

      test('regression: subject matching is exact — no case folding, prefixes, padding or LIKE wildcards', async () => {
        for (const subject of ['alice', 'a%', 'a_ice', "o'brien", 'zoë'])
          await store.create(newEntitlement({ subject, reason: `for ${subject}` }), NOW);
        for (const subject of ['Alice', 'ALICE', 'alice2', 'alic', 'alice ', ' alice', '%', '_', 'a%ice', 'a_', 'O’brien', 'zoe']) {
          assert.deepEqual(await store.liveFor(subject, NOW), [], `liveFor(${JSON.stringify(subject)}) must be empty`);
        }
        for (const subject of ['alice', 'a%', 'a_ice', "o'brien", 'zoë']) {
          assert.deepEqual(reasons(await store.liveFor(subject, NOW)), [`for ${subject}`], `liveFor(${JSON.stringify(subject)})`);
        }
      });

      test('regression: an entitlement for "alice2" or "Alice" is not alice’s', async () => {
        await store.create(newEntitlement({ subject: 'alice2' }), NOW);
        await store.create(newEntitlement({ subject: 'Alice' }), NOW);
        assert.deepEqual(await store.liveFor('alice', NOW), []);
      });
    });

    describe('the validity window', () => {
      test('an entitlement that starts in the future is not live yet', async () => {
        await store.create(newEntitlement({ notBefore: msFromNow(1000) }), NOW);
        assert.deepEqual(await store.liveFor('alice', NOW), []);
        assert.deepEqual(await store.liveFor('alice', msFromNow(999)), []);
      });

      test('it becomes live exactly at notBefore', async () => {
        const created = await store.create(newEntitlement({ notBefore: msFromNow(1000) }), NOW);
        assert.deepEqual(ids(await store.liveFor('alice', msFromNow(1000))), [created.id]);
        assert.deepEqual(ids(await store.liveFor('alice', msFromNow(1000 + DAY))), [created.id]);
      });

      test('a notBefore equal to now is live', async () => {
        const created = await store.create(newEntitlement({ notBefore: NOW }), NOW);
        assert.deepEqual(ids(await store.liveFor('alice', NOW)), [created.id]);
      });

      test('an entitlement is not live at its expiry', async () => {
        await store.create(newEntitlement({ expiresAt: NOW }), msFromNow(-DAY));
        assert.deepEqual(await store.liveFor('alice', NOW), []);
        assert.deepEqual(await store.liveFor('alice', msFromNow(1)), []);
      });

      test('an entitlement is live up to the last millisecond before its expiry', async () => {
        const created = await store.create(newEntitlement({ expiresAt: msFromNow(1) }), NOW);
        assert.deepEqual(ids(await store.liveFor('alice', NOW)), [created.id]);
        assert.deepEqual(await store.liveFor('alice', msFromNow(1)), []);
      });

      test('an entitlement with both dates is live from notBefore up to, not including, expiresAt', async () => {
        const created = await store.create(newEntitlement({ notBefore: msFromNow(1000), expiresAt: msFromNow(2000) }), NOW);
        const liveAt = async (ms: number): Promise<boolean> => ids(await store.liveFor('alice', msFromNow(ms))).includes(created.id);
        assert.deepEqual(
          await Promise.all([999, 1000, 1999, 2000].map(liveAt)),
          [false, true, true, false],
          'live at +999, +1000, +1999, +2000 ms',
        );
      });

      test('an entitlement that would be expired when created is refused: it would grant nothing', async () => {
        for (const expiresAt of [msFromNow(-1), NOW]) {
          await assert.rejects(store.create(newEntitlement({ expiresAt }), NOW), InvalidEntitlementError);
        }
        assert.deepEqual(await store.liveFor('alice', msFromNow(-10)), []);
      });
    });

    describe('history', () => {
      test('historyFor lists every entitlement of the subject, whatever its state, oldest first', async () => {
        const live = await store.create(newEntitlement({ reason: 'live' }), NOW);
        const future = await store.create(newEntitlement({ reason: 'future', notBefore: msFromNow(60_000) }), msFromNow(1));
        const ending = await store.create(newEntitlement({ reason: 'ending', expiresAt: msFromNow(1_000) }), msFromNow(2));
        const revoked = await store.create(newEntitlement({ reason: 'revoked' }), msFromNow(3));
        await store.create(newEntitlement({ subject: 'bob', reason: 'not alice' }), msFromNow(4));
        await store.revoke(revoked.id, msFromNow(5));
        const history = await store.historyFor('alice');
        assert.deepEqual(
          history.map((entry) => entry.id),
          [live.id, future.id, ending.id, revoked.id],
        );
        assert.equal(history[3]?.revokedAt?.getTime(), msFromNow(5).getTime());
        assert.ok(
          history.every((entry) => !('patterns' in entry)),
          'records, as shown, without their compiled form',
        );
        assert.deepEqual(await store.historyFor('nobody'), []);
      });
    });

    describe('revocation', () => {
      test('a revoked entitlement is no longer live, from the revocation on', async () => {
        const created = await store.create(newEntitlement(), NOW);
        assert.equal(await store.revoke(created.id, NOW), true);
        assert.deepEqual(await store.liveFor('alice', NOW), []);
        assert.deepEqual(await store.liveFor('alice', msFromNow(1)), []);
        assert.deepEqual(await store.liveFor('alice', msFromNow(365 * DAY)), []);
      });

      test('revoking one entitlement leaves the subject’s others live', async () => {
        const first = await store.create(newEntitlement({ reason: 'first' }), NOW);
        await store.create(newEntitlement({ reason: 'second' }), NOW);
        await store.create(newEntitlement({ subject: 'bob', reason: 'bob' }), NOW);
        assert.equal(await store.revoke(first.id, NOW), true);
        assert.deepEqual(reasons(await store.liveFor('alice', NOW)), ['second']);
        assert.deepEqual(reasons(await store.liveFor('bob', NOW)), ['bob']);
      });

      test('revoking an entitlement a second time reports false', async () => {
        const created = await store.create(newEntitlement(), NOW);
        assert.equal(await store.revoke(created.id, NOW), true);
        assert.equal(await store.revoke(created.id, NOW), false);
        assert.equal(await store.revoke(created.id, msFromNow(DAY)), false);
      });

      test('a second revoke does not move the revocation', async () => {
        const created = await store.create(newEntitlement(), NOW);
        assert.equal(await store.revoke(created.id, NOW), true);
        await store.revoke(created.id, msFromNow(DAY));
        assert.deepEqual(await store.liveFor('alice', msFromNow(1)), []);
      });

      test('revoking an unknown id reports false and changes nothing', async () => {
        const created = await store.create(newEntitlement(), NOW);
        for (const id of ['00000000-0000-4000-8000-000000000000', '', 'not-an-id', `${created.id}x`, created.id.toUpperCase()]) {
          if (id === created.id) continue;
          assert.equal(await store.revoke(id, NOW), false, `revoke(${JSON.stringify(id)})`);
        }
        assert.deepEqual(ids(await store.liveFor('alice', NOW)), [created.id]);
      });

      test('a revocation at a future time keeps the entitlement live until then (scheduled revocation)', async () => {
        const created = await store.create(newEntitlement(), NOW);
        assert.equal(await store.revoke(created.id, msFromNow(60_000)), true);
        const [found] = await store.liveFor('alice', NOW);
        assert.equal(found?.id, created.id);
        assert.equal(found.revokedAt?.getTime(), msFromNow(60_000).getTime());
        assert.deepEqual(ids(await store.liveFor('alice', msFromNow(59_999))), [created.id]);
        assert.deepEqual(await store.liveFor('alice', msFromNow(60_000)), []);
      });

      test('a revocation now cuts a scheduled one short; a later one never postpones it', async () => {
        const created = await store.create(newEntitlement(), NOW);
        assert.equal(await store.revoke(created.id, msFromNow(60_000)), true);
        assert.equal(await store.revoke(created.id, msFromNow(120_000)), false, 'a later revocation does not postpone');
        assert.deepEqual(ids(await store.liveFor('alice', msFromNow(59_999))), [created.id]);
        assert.equal(await store.revoke(created.id, msFromNow(10_000)), true, 'an earlier revocation wins');
        assert.deepEqual(await store.liveFor('alice', msFromNow(10_000)), []);
      });

      test('an expired entitlement can still be revoked, so its record says so', async () => {
        const created = await store.create(newEntitlement({ expiresAt: msFromNow(1_000) }), NOW);
        assert.equal(await store.revoke(created.id, msFromNow(5_000)), true);
      });

      test('a future entitlement can be revoked before it starts, and then never becomes live', async () => {
        const created = await store.create(newEntitlement({ notBefore: msFromNow(DAY) }), NOW);
        assert.equal(await store.revoke(created.id, NOW), true);
        assert.deepEqual(await store.liveFor('alice', msFromNow(DAY)), []);
        assert.deepEqual(await store.liveFor('alice', msFromNow(2 * DAY)), []);
      });
    });

    describe('the end of a live entitlement (grant TTLs are capped at it)', () => {
      test('an entitlement with an expiry ends at its expiry', async () => {
        const expiresAt = msFromNow(90_000);
        await store.create(newEntitlement({ expiresAt }), NOW);
        const [found] = await store.liveFor('alice', NOW);
        assert.ok(found);
        assert.equal(endOf(found, NOW)?.getTime(), expiresAt.getTime());
      });

      test('a scheduled revocation ends it at the revocation', async () => {
        const created = await store.create(newEntitlement(), NOW);
        await store.revoke(created.id, msFromNow(30_000));
        const [found] = await store.liveFor('alice', NOW);
        assert.ok(found);
        assert.equal(endOf(found, NOW)?.getTime(), msFromNow(30_000).getTime());
      });

      test('with both, it ends at the earlier', async () => {
        const early = await store.create(newEntitlement({ expiresAt: msFromNow(20_000), reason: 'expires first' }), NOW);
        const late = await store.create(newEntitlement({ expiresAt: msFromNow(90_000), reason: 'revoked first' }), msFromNow(1));
        await store.revoke(early.id, msFromNow(50_000));
        await store.revoke(late.id, msFromNow(40_000));
        const live = await store.liveFor('alice', msFromNow(1));
        assert.deepEqual(reasons(live), ['expires first', 'revoked first']);
        assert.deepEqual(
          live.map((entitlement) => endOf(entitlement, msFromNow(1))?.getTime()),
          [msFromNow(20_000).getTime(), msFromNow(40_000).getTime()],
        );
      });

      test('an open-ended entitlement has no end', async () => {
        await store.create(newEntitlement({ notBefore: msFromNow(-DAY) }), NOW);
        const [found] = await store.liveFor('alice', NOW);
        assert.ok(found);
        assert.equal(endOf(found, NOW), undefined);
      });
    });

    describe('ordering', () => {
      test('oldest first, whatever order they were written in', async () => {
        await store.create(newEntitlement({ reason: 'third' }), msFromNow(2));
        await store.create(newEntitlement({ reason: 'first' }), msFromNow(-DAY));
        await store.create(newEntitlement({ reason: 'second' }), msFromNow(1));
        assert.deepEqual(reasons(await store.liveFor('alice', msFromNow(2))), ['first', 'second', 'third']);
      });

      test('entitlements created at the same instant come back by id, the same way every time', async () => {
        for (let i = 0; i < 12; i += 1) await store.create(newEntitlement({ reason: `same instant ${i}` }), NOW);
        const first = ids(await store.liveFor('alice', NOW));
        assert.equal(first.length, 12);
        assert.deepEqual(first, sorted(first));
        await store.create(newEntitlement({ subject: 'bob' }), NOW);
        assert.deepEqual(ids(await store.liveFor('alice', NOW)), first);
      });

      test('revoking one keeps the order of the rest', async () => {
        const created: Entitlement[] = [];
        for (let i = 0; i < 5; i += 1) created.push(await store.create(newEntitlement({ reason: `n${i}` }), msFromNow(i)));
        const [, second] = created;
        assert.ok(second);
        await store.revoke(second.id, msFromNow(10));
        assert.deepEqual(reasons(await store.liveFor('alice', msFromNow(10))), ['n0', 'n2', 'n3', 'n4']);
      });
    });

    describe('create validates and writes nothing invalid', () => {
      /** Creates the invalid entitlement, expecting those problems, and checks liveFor is unchanged at each instant. */
      async function refused(input: NewEntitlement, expected: readonly RegExp[], at: readonly Date[] = [NOW]): Promise<readonly string[]> {
        const before = await Promise.all(at.map((instant) => store.liveFor(input.subject, instant)));
        const problems = await rejectedAsInvalid(store.create(input, NOW), ...expected);
        const after = await Promise.all(at.map((instant) => store.liveFor(input.subject, instant)));
        assert.deepEqual(after, before, 'an invalid entitlement must not be written');
        return problems;
      }

      beforeEach(async () => {
        await store.create(newEntitlement({ reason: 'already there' }), msFromNow(-DAY));
      });

      test('an empty or blank subject is refused', async () => {
        await refused(newEntitlement({ subject: '' }), [/subject is empty/]);
        await refused(newEntitlement({ subject: '   ' }), [/subject is empty/]);
      });

      test('a bundle id that is not a policy id is refused', async () => {
        for (const bundleId of ['Demo', '-demo', '', 'demo/x', 'de mo', 'a'.repeat(65)]) {
          await refused(newEntitlement({ bundleId, resources: [] }), [/bundle id/]);
        }
      });

      test('neither a bundle nor a resource is refused', async () => {
        await refused(newEntitlement({ resources: [] }), [/name a bundle or at least one resource pattern/]);
        await refused(newEntitlement({ resources: undefined, bundleId: null }), [/name a bundle or at least one resource pattern/]);
      });

      test('a malformed pattern is refused, naming it, and the valid patterns beside it are not written either', async () => {
        for (const pattern of ['/x/*', 'x?', 'x/{oops']) {
          const quoted = new RegExp(`pattern "${pattern.replace(/[?*{}/]/gu, (c) => `\\${c}`)}"`, 'u');
          await refused(newEntitlement({ resources: ['uploads/alice/ok/*', pattern] }), [quoted]);
        }
      });

      test('no actions is refused', async () => {
        await refused(newEntitlement({ actions: [] }), [/name at least one action/]);
      });

      test('an action other than read or write is refused', async () => {
        const actions = ['read', 'delete'] as unknown as NewEntitlement['actions'];
        await refused(newEntitlement({ actions }), [/action "delete" must be read or write/]);
      });

      test('write with only a bundle is refused: bundles are read-only', async () => {
        await refused(newEntitlement({ bundleId: 'demo', resources: [], actions: ['read', 'write'] }), [/bundles are read-only/]);
      });

      test('an expiry at or before notBefore is refused', async () => {
        const window = [NOW, msFromNow(1000), msFromNow(2000)];
        await refused(
          newEntitlement({ notBefore: msFromNow(1000), expiresAt: msFromNow(1000) }),
          [/expiresAt must be after notBefore/],
          window,
        );
        await refused(
          newEntitlement({ notBefore: msFromNow(2000), expiresAt: msFromNow(1000) }),
          [/expiresAt must be after notBefore/],
          window,
        );
      });

      test('an invalid date is refused', async () => {
        await refused(newEntitlement({ notBefore: new Date('not a date') }), [/notBefore is not a date/]);
        await refused(newEntitlement({ expiresAt: new Date(Number.NaN) }), [/expiresAt is not a date/]);
      });

      test('an empty grantedBy or reason is refused', async () => {
        await refused(newEntitlement({ grantedBy: '' }), [/grantedBy, reason/]);
        await refused(newEntitlement({ reason: ' ' }), [/grantedBy, reason/]);
      });

      test('every problem is reported at once', async () => {
        const problems = await refused({ subject: '', bundleId: 'Bad', resources: ['x?'], actions: [], grantedBy: '', reason: '' }, [
          /subject is empty/,
          /bundle id "Bad"/,
          /pattern "x\?"/,
          /name at least one action/,
          /grantedBy, reason/,
        ]);
        assert.equal(problems.length, 5);
      });
    });

    describe('concurrent writes', () => {
      test('50 creates in parallel all land, each with its own id', async () => {
        const created = await Promise.all(
          Array.from({ length: 50 }, (_, i) => store.create(newEntitlement({ reason: `parallel ${i}` }), NOW)),
        );
        assert.equal(new Set(ids(created)).size, 50);
        const live = await store.liveFor('alice', NOW);
        assert.deepEqual(sorted(ids(live)), sorted(ids(created)));
        assert.deepEqual(sorted(reasons(live)), sorted(reasons(created)));
      });

      test('many concurrent revokes of one entitlement: exactly one reports true', async () => {
        const created = await store.create(newEntitlement(), NOW);
        const results = await Promise.all(Array.from({ length: 20 }, () => store.revoke(created.id, NOW)));
        assert.equal(results.filter(Boolean).length, 1);
        assert.deepEqual(await store.liveFor('alice', NOW), []);
      });

      test('creates and revokes interleaved leave exactly the expected live set', async () => {
        const first: Entitlement[] = [];
        for (let i = 0; i < 20; i += 1) first.push(await store.create(newEntitlement({ reason: `first ${i}` }), NOW));
        const revoked = first.filter((_, i) => i % 2 === 0);
        const kept = first.filter((_, i) => i % 2 === 1);
        const work: Promise<Entitlement | boolean>[] = [];
        for (let i = 0; i < 20; i += 1) {
          work.push(store.create(newEntitlement({ reason: `second ${i}` }), NOW));
          const victim = revoked[i];
          if (victim) work.push(store.revoke(victim.id, NOW));
        }
        const results = await Promise.all(work);
        const added = results.filter((result): result is Entitlement => typeof result !== 'boolean');
        assert.deepEqual(
          results.filter((result) => typeof result === 'boolean'),
          revoked.map(() => true),
        );
        assert.deepEqual(sorted(ids(await store.liveFor('alice', NOW))), sorted([...ids(kept), ...ids(added)]));
      });
    });

    describe('the admin API: find, list, revoke by whom, create once', () => {
      const key = (overrides: Partial<IdempotencyKey> = {}): IdempotencyKey => ({
        scope: 'billing',
        key: 'order-42',
        fingerprint: 'f1',
        ...overrides,
      });

      test('find: one entitlement in any state, with who revoked it', async () => {
        const granted = await store.create(newEntitlement(), NOW);
        assert.deepEqual(await store.find(granted.id), recordOf(granted));
        assert.equal(await store.revoke(granted.id, NOW, 'admin-carol'), true);
        assert.deepEqual(await store.find(granted.id), { ...recordOf(granted), revokedAt: NOW, revokedBy: 'admin-carol' });
        assert.equal(await store.find('no-such-id'), undefined);
      });

      test('list: every filter holds, oldest first, in pages that cover everything once', async () => {
        const made: Entitlement[] = [];
        for (let i = 0; i < 7; i += 1) {
          made.push(await store.create(newEntitlement({ subject: i % 2 === 0 ? 'alice' : 'bob', reason: `r${i}` }), msFromNow(i % 3)));
        }
        const bundled = await store.create(newEntitlement({ subject: 'carol', bundleId: 'demo', resources: [] }), NOW);
        const shared = await store.create(newEntitlement({ subject: 'carol', resources: ['shared/*', 'uploads/carol/*'] }), NOW);
        const expired = await store.create(newEntitlement({ subject: 'dave', expiresAt: msFromNow(1000) }), NOW);
        const live = await store.create(newEntitlement({ subject: 'dave', reason: 'live' }), NOW);
        const later = msFromNow(5000);

        const everything: string[] = [];
        let after: EntitlementCursor | undefined;
        for (let pages = 0; pages < 20; pages += 1) {
          const page = await store.list({ now: NOW, after, limit: 3 });
          assert.ok(page.records.length <= 3);
          everything.push(...ids(page.records as Entitlement[]));
          if (page.next === undefined) break;
          after = page.next;
        }
        const all = [...made, bundled, shared, expired, live];
        const byCreation = [...all].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
        assert.deepEqual(everything, ids(byCreation));

        const idsOf = async (query: Omit<EntitlementQuery, 'limit' | 'now'>, now = NOW) =>
          ids((await store.list({ ...query, now, limit: 100 })).records as Entitlement[]);
        assert.deepEqual(await idsOf({ subject: 'bob' }), ids(byCreation.filter((entitlement) => entitlement.subject === 'bob')));
        assert.deepEqual(await idsOf({ bundleId: 'demo' }), [bundled.id]);
        assert.deepEqual(await idsOf({ resource: 'shared/*' }), [shared.id]);
        assert.deepEqual(await idsOf({ resource: 'shared' }), [], 'a resource filter names a whole pattern, not a prefix');
        assert.deepEqual(await idsOf({ subject: 'dave', live: true }, later), [live.id]);
        assert.deepEqual(await idsOf({ subject: 'dave', live: false }, later), [expired.id]);
        assert.deepEqual(await idsOf({ subject: 'dave', live: true }), sorted([expired.id, live.id]), 'both live before the expiry');
        assert.deepEqual(await store.list({ subject: 'nobody', now: NOW, limit: 10 }), { records: [], next: undefined });
      });

      test('create once: a retry with the same key and fingerprint gets the same entitlement; another fingerprint is refused', async () => {
        const first = await store.createOnce(newEntitlement({ reason: 'order 42' }), NOW, key());
        assert.equal(first.replayed, false);
        const retry = await store.createOnce(newEntitlement({ reason: 'order 42' }), msFromNow(1000), key());
        assert.deepEqual(retry, { entitlement: first.entitlement, replayed: true });
        await assert.rejects(
          store.createOnce(newEntitlement({ reason: 'order 43' }), NOW, key({ fingerprint: 'f2' })),
          IdempotencyConflictError,
        );
        const otherScope = await store.createOnce(newEntitlement(), NOW, key({ scope: 'shop' }));
        assert.equal(otherScope.replayed, false, 'keys are scoped to who sends them');
        assert.equal((await store.liveFor('alice', NOW)).length, 2);
      });

      test('create once, racing: exactly one entitlement, and every racer gets it', async () => {
        const results = await Promise.all(Array.from({ length: 8 }, () => store.createOnce(newEntitlement(), NOW, key({ key: 'race' }))));
        assert.equal(new Set(results.map((result) => result.entitlement.id)).size, 1);
        assert.equal(results.filter((result) => !result.replayed).length, 1);
        assert.equal((await store.liveFor('alice', NOW)).length, 1);
      });

      test('create once validates like create, and an invalid request claims no key', async () => {
        await rejectedAsInvalid(
          store.createOnce(newEntitlement({ actions: [] }), NOW, key()).then((result) => result.entitlement),
          /action/u,
        );
        const valid = await store.createOnce(newEntitlement(), NOW, key());
        assert.equal(valid.replayed, false);
      });
    });

    describe('health and lifecycle', () => {
      test('ping resolves on an open store', async () => {
        await within(store.ping(), 5000, 'ping');
      });

      test('after close, every operation rejects rather than hanging', async () => {
        const closing = await open();
        const created = await closing.create(newEntitlement(), NOW);
        await closing.close();
        const operations: [string, () => Promise<unknown>][] = [
          ['ping', () => closing.ping()],
          ['liveFor', () => closing.liveFor('alice', NOW)],
          ['create', () => closing.create(newEntitlement(), NOW)],
          ['revoke', () => closing.revoke(created.id, NOW)],
        ];
        for (const [what, operation] of operations) {
          await assert.rejects(
            within(operation(), 2000, what),
            (error: unknown) => error instanceof Error && !error.message.includes('did not settle'),
            `${what} after close must reject`,
          );
        }
      });
    });
  });
}
