import type { Action } from './schema.js';

/** A dynamic entitlement, granted at run time (a purchase, an invitation) and kept in the store. */
export interface Entitlement {
  readonly id: string;
  readonly subject: string;
  /** Either a bundle or resource patterns (or both). */
  readonly bundleId: string | null;
  readonly resources: readonly string[];
  readonly actions: readonly Action[];
  readonly notBefore: Date | null;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly grantedBy: string;
  readonly reason: string;
}

export function isLive(entitlement: Entitlement, now: Date): boolean {
  if (entitlement.revokedAt && entitlement.revokedAt <= now) return false;
  if (entitlement.notBefore && entitlement.notBefore > now) return false;
  if (entitlement.expiresAt && entitlement.expiresAt <= now) return false;
  return true;
}
