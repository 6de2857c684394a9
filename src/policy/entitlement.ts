import { compilePattern, type CompiledPattern } from './patterns.js';
import { POLICY_ID, type Action } from './schema.js';

/** A dynamic entitlement as stored and shown: granted at run time (a purchase, an invitation). */
export interface EntitlementRecord {
  readonly id: string;
  readonly subject: string;
  /** Either a bundle or resource patterns (or both). */
  readonly bundleId: string | null;
  readonly resources: readonly string[];
  readonly actions: readonly Action[];
  readonly notBefore: Date | null;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  /** Who revoked it (an admin token's subject, or the CLI's --by), when it was revoked by someone named. */
  readonly revokedBy: string | null;
  /** Uploads it grants may create a key, never replace one. */
  readonly createOnly: boolean;
  readonly grantedBy: string;
  readonly reason: string;
  /** When it was granted; orders a subject's entitlements and the admin API's pages. */
  readonly createdAt: Date;
}

/** A record with its patterns compiled, once, when it is loaded or created: decisions never parse patterns. */
export interface Entitlement extends EntitlementRecord {
  readonly patterns: readonly CompiledPattern[];
}

export interface NewEntitlement {
  readonly subject: string;
  readonly bundleId?: string | null;
  readonly resources?: readonly string[];
  readonly actions: readonly Action[];
  readonly notBefore?: Date | null;
  readonly expiresAt?: Date | null;
  readonly createOnly?: boolean;
  readonly grantedBy: string;
  readonly reason: string;
}

export class InvalidEntitlementError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`entitlement is not valid: ${problems.join('; ')}`);
    this.name = 'InvalidEntitlementError';
    this.problems = problems;
  }
}

const bundleIdPattern = new RegExp(POLICY_ID); // ASCII only: the u flag would change nothing

/** What a new entitlement is checked against beyond itself. */
export interface EntitlementContext {
  /** When it is granted: an expiry at or before then grants nothing. */
  readonly now: Date;
  /** The policy's bundles, where the caller knows them (the CLI, the admin API); the store alone does not. */
  readonly bundles?: ReadonlySet<string>;
}

/**
 * Every rule a new entitlement must meet, in one place: stores call it before
 * writing, so the CLI and any API get the same answer.
 */
export function entitlementProblems(input: NewEntitlement, context: EntitlementContext): string[] {
  const problems: string[] = [];
  const resources = input.resources ?? [];
  if (input.subject.trim() === '') problems.push('subject is empty');
  if (input.bundleId != null) {
    if (!bundleIdPattern.test(input.bundleId)) problems.push(`bundle id "${input.bundleId}" must match ${POLICY_ID}`);
    if (context.bundles && !context.bundles.has(input.bundleId)) problems.push(`no bundle "${input.bundleId}" is defined in the policy`);
  }
  if (input.bundleId == null && resources.length === 0) problems.push('name a bundle or at least one resource pattern');
  for (const source of resources) {
    try {
      const [first] = compilePattern(source).parts;
      // `*` or `*/x` would cover the whole bucket: an entitlement names a prefix (or a claim) first.
      if ('wildcard' in first)
        problems.push(`pattern "${source}" starts with a wildcard and would cover every key; start it with a prefix`);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (input.actions.length === 0) problems.push('name at least one action');
  for (const action of input.actions)
    if (action !== 'read' && action !== 'write') problems.push(`action "${String(action)}" must be read or write`);
  if (input.actions.includes('write') && resources.length === 0) problems.push('bundles are read-only: write needs resource patterns');
  if (input.createOnly && !input.actions.includes('write')) problems.push('createOnly applies to writes: add the write action');
  for (const [name, date] of [
    ['notBefore', input.notBefore],
    ['expiresAt', input.expiresAt],
  ] as const) {
    if (date != null && Number.isNaN(date.getTime())) problems.push(`${name} is not a date`);
  }
  if (input.notBefore != null && input.expiresAt != null && input.expiresAt <= input.notBefore)
    problems.push('expiresAt must be after notBefore');
  if (input.expiresAt != null && input.expiresAt <= context.now) problems.push('expiresAt is in the past: it would grant nothing');
  if (input.grantedBy.trim() === '' || input.reason.trim() === '') problems.push('say who granted it and why (grantedBy, reason)');
  return problems;
}

/** Compiles a stored record. A stored pattern that no longer compiles grants nothing; the rest still do. */
export function compileEntitlement(record: EntitlementRecord): Entitlement {
  const patterns: CompiledPattern[] = [];
  for (const source of record.resources) {
    try {
      patterns.push(compilePattern(source));
    } catch {
      // written around entitlementProblems (by hand in the database): skipped, never widened
    }
  }
  return { ...record, patterns };
}

/** The record without its compiled form, for output. */
export function recordOf(entitlement: Entitlement): EntitlementRecord {
  const { patterns, ...record } = entitlement;
  return record;
}

export function isLive(entitlement: EntitlementRecord, now: Date): boolean {
  if (entitlement.revokedAt && entitlement.revokedAt <= now) return false;
  if (entitlement.notBefore && entitlement.notBefore > now) return false;
  if (entitlement.expiresAt && entitlement.expiresAt <= now) return false;
  return true;
}

/** When what the entitlement allows ends (its expiry or scheduled revocation), if it ends after `now`. */
export function endOf(entitlement: EntitlementRecord, now: Date): Date | undefined {
  const ends = [entitlement.expiresAt, entitlement.revokedAt].filter((date): date is Date => date !== null && date > now);
  return ends.length === 0 ? undefined : new Date(Math.min(...ends.map((date) => date.getTime())));
}
