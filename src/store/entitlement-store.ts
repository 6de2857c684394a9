import type { Entitlement } from '../policy/entitlement.js';
import type { Action } from '../policy/schema.js';

export interface NewEntitlement {
  readonly subject: string;
  readonly bundleId?: string | null;
  readonly resources?: readonly string[];
  readonly actions: readonly Action[];
  readonly notBefore?: Date | null;
  readonly expiresAt?: Date | null;
  readonly grantedBy: string;
  readonly reason: string;
}

/**
 * Where dynamic entitlements live. The embedded SQLite store and the networked
 * ones implement this and pass one contract suite (test/unit/store-contract.ts).
 */
export interface EntitlementStore {
  /** Entitlements of this subject that are live at `now` (not revoked, started, not expired). */
  liveFor(subject: string, now: Date): Promise<Entitlement[]>;
  create(entitlement: NewEntitlement, now: Date): Promise<Entitlement>;
  revoke(id: string, now: Date): Promise<boolean>;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
