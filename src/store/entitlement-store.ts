import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { StoreConfig } from '../config/config.js';
import type { Entitlement, EntitlementRecord, NewEntitlement } from '../policy/entitlement.js';
import { ownedPort } from '../plugins/owned-port.js';
import { cachedEntitlementStore, type EntitlementCacheOptions } from './entitlement-cache.js';
import { failingAsUnavailable } from './unavailable.js';
import { openSqliteStore } from './sqlite-store.js';

/** Where a page of entitlements starts: after this one, in (createdAt, id) order. */
export interface EntitlementCursor {
  readonly createdAt: Date;
  readonly id: string;
}

/** What the admin API lists: every filter given must hold. */
export interface EntitlementQuery {
  readonly subject?: string | undefined;
  readonly bundleId?: string | undefined;
  /** Entitlements naming exactly this resource pattern. */
  readonly resource?: string | undefined;
  /** true: live at `now`; false: not live (future, expired or revoked). */
  readonly live?: boolean | undefined;
  readonly now: Date;
  readonly after?: EntitlementCursor | undefined;
  readonly limit: number;
}

export interface EntitlementPage {
  readonly records: EntitlementRecord[];
  /** Where the next page starts; undefined on the last page. */
  readonly next: EntitlementCursor | undefined;
}

/** An Idempotency-Key, scoped to whoever sent it, with a fingerprint of the request it came with. */
export interface IdempotencyKey {
  readonly scope: string;
  readonly key: string;
  readonly fingerprint: string;
}

/** The same Idempotency-Key came with another request body: nothing was created. */
export class IdempotencyConflictError extends Error {
  constructor() {
    super('this Idempotency-Key was used with another request');
    this.name = 'IdempotencyConflictError';
  }
}

/**
 * The entitlement store port. The embedded SQLite store and the networked ones
 * implement it and pass one contract suite (test/contract/entitlement-store.ts).
 */
export interface EntitlementStore {
  /** Entitlements of this subject that are live at `now` (not revoked, started, not expired), oldest first, patterns compiled. */
  liveFor(subject: string, now: Date): Promise<Entitlement[]>;
  /** Every entitlement of this subject in any state (future, live, expired, revoked), oldest first: for audits and `list --all`. */
  historyFor(subject: string): Promise<EntitlementRecord[]>;
  /** Throws InvalidEntitlementError, naming every problem, for an entitlement that breaks the rules of entitlementProblems(). */
  create(entitlement: NewEntitlement, now: Date): Promise<Entitlement>;
  /**
   * create() at most once per idempotency key: a retry with the same key and fingerprint gets the entitlement
   * the first call made (`replayed`), even when the two race; another fingerprint throws IdempotencyConflictError.
   */
  createOnce(entitlement: NewEntitlement, now: Date, idempotency: IdempotencyKey): Promise<{ entitlement: Entitlement; replayed: boolean }>;
  /** One entitlement in any state. */
  find(id: string): Promise<EntitlementRecord | undefined>;
  /** A page of entitlements matching the query, oldest first. */
  list(query: EntitlementQuery): Promise<EntitlementPage>;
  /**
   * Revokes the entitlement at `now` (a later `now` schedules the revocation). An earlier revocation
   * replaces a later scheduled one, never the other way round. False when there is no such entitlement
   * or it is already revoked at or before `now`. Expired entitlements can be revoked, so the record says so.
   */
  revoke(id: string, now: Date, revokedBy?: string): Promise<boolean>;
  /**
   * Tells `listener` of changes other processes make (a subject's entitlements, or undefined: anything may have
   * changed, after a lost connection). Stores that cannot (SQLite) lack it; the cache's age bound covers them.
   * Returns how to stop.
   */
  watch?(listener: (subject: string | undefined) => void): () => void;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The one way to open the configured store: the app and the CLI both call it. */
export async function openStore(config: StoreConfig): Promise<EntitlementStore> {
  if (config.kind === 'sqlite') return openSqliteStore(config.filename);
  // Loaded only when used: the PostgreSQL driver costs an embedded broker memory for nothing.
  const { openPostgresStore } = await import('./postgres-store.js');
  return openPostgresStore(config);
}

declare module 'fastify' {
  interface FastifyInstance {
    entitlements: EntitlementStore;
  }
}

/**
 * Opens the configured store and closes it with the app; a store passed in belongs to the caller, who closes it.
 * Either way, decisions read it through the entitlement cache when one is configured.
 */
export const entitlementStorePlugin = fp(
  async (app: FastifyInstance, options: { config: StoreConfig; cache: EntitlementCacheOptions; store?: EntitlementStore | undefined }) => {
    const store = await ownedPort(
      app,
      options.store,
      () => openStore(options.config),
      (opened) => opened.close(),
    );
    const answering = failingAsUnavailable(store);
    if (options.cache.maxAgeMs <= 0) {
      app.decorate('entitlements', answering);
      return;
    }
    const cache = cachedEntitlementStore(answering, options.cache);
    app.addHook('onClose', async () => cache.stop());
    app.decorate('entitlements', cache.store);
  },
  { name: 'access-broker-entitlement-store' },
);
