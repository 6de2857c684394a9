import type { Entitlement } from '../policy/entitlement.js';
import type { EntitlementStore } from './entitlement-store.js';

export interface EntitlementCacheOptions {
  /** The longest a cached answer is used: the bound on how late a revocation another replica made takes effect here. */
  readonly maxAgeMs: number;
  /** Subjects kept; the least recently used go first. */
  readonly maxSubjects: number;
  readonly clock?: () => number;
}

interface Entry {
  readonly entitlements: Entitlement[];
  readonly loadedAt: number;
}

/**
 * A bounded cache of each subject's live entitlements in front of a store: the hot path's one query, saved.
 * Correct within `maxAgeMs` whatever happens: an entry older than that is loaded again. Sooner when the store
 * pushes changes (PostgreSQL's LISTEN/NOTIFY: `watch`), and at once for writes through this store.
 * decide() checks each entitlement's window at decision time, so an expiry or a scheduled revocation inside a
 * cached list still takes effect to the second; only an entitlement starting (or granted on another replica)
 * may wait up to `maxAgeMs`.
 */
export function cachedEntitlementStore(
  store: EntitlementStore,
  options: EntitlementCacheOptions,
): { readonly store: EntitlementStore; readonly cachedSubjects: () => number; stop(): void } {
  const clock = options.clock ?? Date.now;
  const entries = new Map<string, Entry>();
  // Loads in flight, so a burst of requests for one subject makes one query.
  const loading = new Map<string, Promise<Entitlement[]>>();
  let generation = 0; // bumped by every invalidation: a load that began before it must not be cached

  const evict = (subject: string): void => {
    entries.delete(subject);
    loading.delete(subject);
    generation += 1;
  };
  const evictAll = (): void => {
    entries.clear();
    loading.clear();
    generation += 1;
  };
  const unwatch = store.watch?.((subject) => (subject === undefined ? evictAll() : evict(subject)));

  async function load(subject: string, now: Date): Promise<Entitlement[]> {
    const started = generation;
    const entitlements = await store.liveFor(subject, now);
    if (started === generation) {
      entries.delete(subject); // a stale entry keeps its old place otherwise, first in line to be dropped
      entries.set(subject, { entitlements, loadedAt: clock() });
      if (entries.size > options.maxSubjects) entries.delete(entries.keys().next().value as string);
    }
    return entitlements;
  }

  const cached: EntitlementStore = {
    ...store,
    async liveFor(subject, now) {
      const entry = entries.get(subject);
      if (entry !== undefined && clock() - entry.loadedAt < options.maxAgeMs) {
        // Most recently used last, so the first key is the one to drop.
        entries.delete(subject);
        entries.set(subject, entry);
        return entry.entitlements;
      }
      const pending = loading.get(subject);
      if (pending !== undefined) return pending;
      const promise = load(subject, now).finally(() => {
        if (loading.get(subject) === promise) loading.delete(subject);
      });
      loading.set(subject, promise);
      return promise;
    },
    async create(entitlement, now) {
      const created = await store.create(entitlement, now);
      evict(created.subject);
      return created;
    },
    async createOnce(entitlement, now, idempotency) {
      const result = await store.createOnce(entitlement, now, idempotency);
      evict(result.entitlement.subject);
      return result;
    },
    async revoke(id, now, revokedBy) {
      const revoked = await store.revoke(id, now, revokedBy);
      // The subject is not at hand, and revocations are rare: start afresh.
      if (revoked) evictAll();
      return revoked;
    },
  };
  return {
    store: cached,
    cachedSubjects: () => entries.size,
    stop() {
      unwatch?.();
      evictAll();
    },
  };
}
