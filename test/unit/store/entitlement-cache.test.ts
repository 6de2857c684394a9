import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { EntitlementStore } from '../../../src/store/entitlement-store.js';
import { cachedEntitlementStore } from '../../../src/store/entitlement-cache.js';
import { openSqliteStore } from '../../../src/store/sqlite-store.js';
import { newEntitlement, NOW } from '../../contract/entitlement-store.js';

/** A real SQLite store that counts the queries reaching it, and lets a test announce changes as PostgreSQL would. */
async function countedStore(): Promise<{
  store: EntitlementStore;
  queries: () => number;
  announce: (subject: string | undefined) => void;
}> {
  const store = await openSqliteStore(':memory:');
  let queries = 0;
  let listener: ((subject: string | undefined) => void) | undefined;
  return {
    store: {
      ...store,
      async liveFor(subject, now) {
        queries += 1;
        return store.liveFor(subject, now);
      },
      watch(onChange) {
        listener = onChange;
        return () => {
          listener = undefined;
        };
      },
    },
    queries: () => queries,
    announce: (subject) => listener?.(subject),
  };
}

describe('the entitlement cache', () => {
  let time = 0;
  let backing: Awaited<ReturnType<typeof countedStore>>;
  let cache: ReturnType<typeof cachedEntitlementStore>;

  beforeEach(async () => {
    time = 0;
    backing = await countedStore();
    cache = cachedEntitlementStore(backing.store, { maxAgeMs: 5000, maxSubjects: 2, clock: () => time });
  });
  afterEach(async () => {
    cache.stop();
    await backing.store.close();
  });

  test('answers from memory until its age bound, then asks the store again', async () => {
    await cache.store.liveFor('alice', NOW);
    await cache.store.liveFor('alice', NOW);
    time = 4999;
    await cache.store.liveFor('alice', NOW);
    assert.equal(backing.queries(), 1);
    time = 5000;
    await cache.store.liveFor('alice', NOW);
    assert.equal(backing.queries(), 2);
  });

  test('a change written behind its back (another replica) is seen no later than the bound', async () => {
    const granted = await backing.store.create(newEntitlement(), NOW);
    assert.equal((await cache.store.liveFor('alice', NOW)).length, 1);
    await backing.store.revoke(granted.id, NOW);
    time = 4000;
    assert.equal((await cache.store.liveFor('alice', NOW)).length, 1, 'stale within the bound, as documented');
    time = 5000;
    assert.deepEqual(await cache.store.liveFor('alice', NOW), []);
  });

  test('writes through it take effect at once: create evicts the subject, revoke everything', async () => {
    assert.deepEqual(await cache.store.liveFor('alice', NOW), []);
    const granted = await cache.store.create(newEntitlement(), NOW);
    assert.deepEqual(
      (await cache.store.liveFor('alice', NOW)).map((entitlement) => entitlement.id),
      [granted.id],
    );
    const once = await cache.store.createOnce(newEntitlement({ reason: 'twice' }), NOW, { scope: 's', key: 'k', fingerprint: 'f' });
    assert.equal((await cache.store.liveFor('alice', NOW)).length, 2);
    assert.equal(await cache.store.revoke(once.entitlement.id, NOW), true);
    assert.equal((await cache.store.liveFor('alice', NOW)).length, 1);
  });

  test('a pushed change evicts that subject (or, undefined, everyone) before the bound', async () => {
    await cache.store.liveFor('alice', NOW);
    await cache.store.liveFor('bob', NOW);
    backing.announce('alice');
    await cache.store.liveFor('alice', NOW);
    await cache.store.liveFor('bob', NOW);
    assert.equal(backing.queries(), 3, 'alice again, bob from memory');
    backing.announce(undefined);
    await cache.store.liveFor('bob', NOW);
    assert.equal(backing.queries(), 4);
  });

  test('a load that began before a change is not kept: the next request asks again', async () => {
    const loading = cache.store.liveFor('alice', NOW);
    backing.announce('alice');
    await loading;
    await cache.store.liveFor('alice', NOW);
    assert.equal(backing.queries(), 2);
  });

  test('requests for one subject at once make one query', async () => {
    await Promise.all(Array.from({ length: 10 }, () => cache.store.liveFor('alice', NOW)));
    assert.equal(backing.queries(), 1);
  });

  test('a subject reloaded after its bound counts as just used, not as the oldest', async () => {
    await cache.store.liveFor('alice', NOW);
    time = 1000;
    await cache.store.liveFor('bob', NOW);
    time = 5000; // alice stale, bob not
    await cache.store.liveFor('alice', NOW); // reloaded: now the most recent
    await cache.store.liveFor('carol', NOW); // drops the least recently used: bob
    const before = backing.queries();
    await cache.store.liveFor('alice', NOW);
    assert.equal(backing.queries(), before, 'alice is still cached');
    await cache.store.liveFor('bob', NOW);
    assert.equal(backing.queries(), before + 1, 'bob was the one dropped');
  });

  test('bounded: past maxSubjects the least recently used subject goes', async () => {
    await cache.store.liveFor('alice', NOW);
    await cache.store.liveFor('bob', NOW);
    await cache.store.liveFor('alice', NOW); // alice used last
    await cache.store.liveFor('carol', NOW); // drops bob
    assert.equal(cache.cachedSubjects(), 2);
    await cache.store.liveFor('alice', NOW);
    assert.equal(backing.queries(), 3);
    await cache.store.liveFor('bob', NOW);
    assert.equal(backing.queries(), 4);
  });
});
