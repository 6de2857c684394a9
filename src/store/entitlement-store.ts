import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { StoreConfig } from '../config/config.js';
import type { Entitlement, EntitlementRecord, NewEntitlement } from '../policy/entitlement.js';
import { ownedPort } from '../plugins/owned-port.js';
import { openPostgresStore } from './postgres-store.js';
import { openSqliteStore } from './sqlite-store.js';

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
   * Revokes the entitlement at `now` (a later `now` schedules the revocation). An earlier revocation
   * replaces a later scheduled one, never the other way round. False when there is no such entitlement
   * or it is already revoked at or before `now`. Expired entitlements can be revoked, so the record says so.
   */
  revoke(id: string, now: Date): Promise<boolean>;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The one way to open the configured store: the app and the CLI both call it. */
export async function openStore(config: StoreConfig): Promise<EntitlementStore> {
  return config.kind === 'postgres' ? openPostgresStore(config) : openSqliteStore(config.filename);
}

declare module 'fastify' {
  interface FastifyInstance {
    entitlements: EntitlementStore;
  }
}

/** Opens the configured store and closes it with the app; a store passed in belongs to the caller, who closes it. */
export const entitlementStorePlugin = fp(
  async (app: FastifyInstance, options: { config: StoreConfig; store?: EntitlementStore | undefined }) => {
    app.decorate(
      'entitlements',
      await ownedPort(
        app,
        options.store,
        () => openStore(options.config),
        (store) => store.close(),
      ),
    );
  },
  { name: 'access-broker-entitlement-store' },
);
