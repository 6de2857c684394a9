import { randomUUID } from 'node:crypto';
import {
  compileEntitlement,
  entitlementProblems,
  InvalidEntitlementError,
  type Entitlement,
  type EntitlementRecord,
  type NewEntitlement,
} from '../policy/entitlement.js';
import type { Action } from '../policy/schema.js';
import type { EntitlementCursor, EntitlementPage } from './entitlement-store.js';

/** An entitlement as a store reads it back, its lists not yet trusted (a row may have been edited by hand). */
export interface StoredEntitlement extends Omit<EntitlementRecord, 'resources' | 'actions'> {
  readonly resources: unknown;
  readonly actions: unknown;
}

const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');
const isAction = (value: string): value is Action => value === 'read' || value === 'write';

/** Undefined for a row whose lists are not lists of strings and actions: it grants nothing, the subject's other rows still count. */
export function entitlementFromStored(row: StoredEntitlement): Entitlement | undefined {
  const { resources, actions } = row;
  if (!isStringArray(resources) || !isStringArray(actions) || !actions.every(isAction)) return undefined;
  return compileEntitlement({ ...row, resources, actions });
}

/** The record a store writes for a new entitlement, after the checks every store applies; throws InvalidEntitlementError. */
export function newEntitlementRecord(input: NewEntitlement, now: Date): EntitlementRecord {
  const problems = entitlementProblems(input, { now });
  if (problems.length > 0) throw new InvalidEntitlementError(problems);
  return {
    id: randomUUID(),
    subject: input.subject,
    bundleId: input.bundleId ?? null,
    resources: [...(input.resources ?? [])],
    actions: [...input.actions],
    notBefore: input.notBefore ?? null,
    expiresAt: input.expiresAt ?? null,
    revokedAt: null,
    revokedBy: null,
    createOnly: input.createOnly ?? false,
    grantedBy: input.grantedBy,
    reason: input.reason,
    createdAt: now,
  };
}

/**
 * A page from rows read one past the limit. The next page starts after the last row read, parsed or not: a run of
 * rows that no longer parse must not end the paging early.
 */
export function pageOf(records: EntitlementRecord[], lastRow: EntitlementCursor | undefined, more: boolean): EntitlementPage {
  return { records, next: more ? lastRow : undefined };
}
