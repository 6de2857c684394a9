import type { Principal } from '../auth/principal.js';
import type { Policy } from './compile.js';
import type { EdgeConditions } from './conditions.js';
import { endOf, isLive, type Entitlement } from './entitlement.js';
import { resolvePattern, type CompiledPattern, type ResolvedPattern } from './patterns.js';
import type { Action, Limits, Match, Quota } from './schema.js';

export type Source = { kind: 'rule'; id: string } | { kind: 'entitlement'; id: string };

/**
 * What one rule or entitlement lets this caller do with one action: its
 * patterns resolved with the caller's claims, its bundles, its limits, and
 * when it ends. Decisions and upload locations are both read from permits, so
 * what a rule or entitlement grants is worked out in this one place.
 */
export interface Permit {
  readonly source: Source;
  readonly resources: readonly ResolvedPattern[];
  readonly bundleIds: readonly string[];
  readonly limits: Limits;
  /** When what allows the grant ends (an entitlement's expiry or scheduled revocation); a grant must not outlive it. */
  readonly endsAt: Date | undefined;
  /** Its uploads may create a key, never replace one. */
  readonly createOnly: boolean;
  /** CloudFront conditions its read grants must carry (rules only). */
  readonly conditions: EdgeConditions | undefined;
  /** Upload quotas per subject (rules only). */
  readonly quota: Quota | undefined;
  /** Downloads need the key's latest upload verified (rules only). */
  readonly requireVerified: boolean;
}

const claimMatches = (actual: unknown, wanted: unknown): boolean =>
  Array.isArray(actual) ? actual.some((item) => item === wanted) : actual === wanted;

/** Every condition named must hold; within a list, one match is enough. */
export function matchesWhen(when: Match, principal: Principal): boolean {
  if (when.subjects && !when.subjects.includes(principal.sub)) return false;
  if (when.scopes && !when.scopes.some((scope) => principal.scopes.includes(scope))) return false;
  if (when.roles && !when.roles.some((role) => principal.roles.includes(role))) return false;
  for (const [name, wanted] of Object.entries(when.claims ?? {})) {
    const options = Array.isArray(wanted) ? wanted : [wanted];
    if (!options.some((option) => claimMatches(principal.claims[name], option))) return false;
  }
  return true;
}

/** Patterns whose claims the caller cannot fill (missing, or a value that could widen them) are left out: they match nothing. */
function resolveAll(patterns: readonly CompiledPattern[], principal: Principal): ResolvedPattern[] {
  const resolved: ResolvedPattern[] = [];
  for (const pattern of patterns) {
    const result = resolvePattern(pattern, principal.claims);
    if (result.ok) resolved.push(result.pattern);
  }
  return resolved;
}

/** The permits for `action`, in decision order: matching rules in file order, then the caller's live entitlements. */
export function* permitsFor(
  principal: Principal,
  action: Action,
  policy: Policy,
  entitlements: readonly Entitlement[],
  now: Date,
): Generator<Permit> {
  for (const rule of policy.rules) {
    if (!rule.actions.has(action) || !matchesWhen(rule.when, principal)) continue;
    const source: Source = { kind: 'rule', id: rule.id };
    yield {
      source,
      resources: resolveAll(rule.resources, principal),
      bundleIds: rule.bundles,
      limits: rule.limits,
      endsAt: undefined,
      createOnly: rule.createOnly,
      conditions: rule.conditions,
      quota: rule.quota,
      requireVerified: rule.requireVerified,
    };
  }
  for (const entitlement of entitlements) {
    if (entitlement.subject !== principal.sub || !isLive(entitlement, now) || !entitlement.actions.includes(action)) continue;
    yield {
      source: { kind: 'entitlement', id: entitlement.id },
      resources: resolveAll(entitlement.patterns, principal),
      bundleIds: entitlement.bundleId === null ? [] : [entitlement.bundleId],
      limits: {},
      endsAt: endOf(entitlement, now),
      createOnly: entitlement.createOnly,
      conditions: undefined,
      quota: undefined,
      requireVerified: false,
    };
  }
}
