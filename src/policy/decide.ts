import type { Principal } from '../auth/principal.js';
import type { CompiledBundle, CompiledRule, Policy } from './compile.js';
import { isLive, type Entitlement } from './entitlement.js';
import { compilePattern, matchesResolved, resolvePattern, type CompiledPattern } from './patterns.js';
import type { Action, Limits, Match } from './schema.js';

export interface Defaults {
  readonly maxBytes: number;
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
}

export type Target = { kind: 'key'; key: string } | { kind: 'bundle'; bundleId: string };

export interface Ask {
  readonly action: Action;
  readonly target: Target;
  readonly contentType?: string;
  readonly contentLength?: number;
  readonly ttlSeconds?: number;
}

export type Source = { kind: 'rule'; id: string } | { kind: 'entitlement'; id: string };

export type Decision =
  | { allow: true; source: Source; ttlSeconds: number; maxBytes: number }
  | { allow: false; code: 'BROKER_FORBIDDEN' | 'BROKER_LIMIT_EXCEEDED'; reason: string; source?: Source };

export interface DecisionInput {
  readonly principal: Principal;
  readonly ask: Ask;
  readonly policy: Policy;
  readonly entitlements: readonly Entitlement[];
  readonly now: Date;
  readonly defaults: Defaults;
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

const patternCovers = (pattern: CompiledPattern, principal: Principal, key: string): boolean => {
  const resolved = resolvePattern(pattern, principal.claims);
  return resolved.ok && matchesResolved(resolved.pattern, key);
};

const bundleCoversKey = (bundle: CompiledBundle | undefined, principal: Principal, key: string): boolean =>
  bundle !== undefined && patternCovers(bundle.resource, principal, key);

function ruleCovers(rule: CompiledRule, input: DecisionInput): boolean {
  const { principal, ask, policy } = input;
  if (!rule.actions.has(ask.action) || !matchesWhen(rule.when, principal)) return false;
  if (ask.target.kind === 'bundle') return rule.bundles.includes(ask.target.bundleId);
  const { key } = ask.target;
  if (rule.resources.some((pattern) => patternCovers(pattern, principal, key))) return true;
  return ask.action === 'read' && rule.bundles.some((id) => bundleCoversKey(policy.bundles.get(id), principal, key));
}

function entitlementCovers(entitlement: Entitlement, input: DecisionInput): boolean {
  const { principal, ask, policy, now } = input;
  if (entitlement.subject !== principal.sub || !isLive(entitlement, now)) return false;
  if (!entitlement.actions.includes(ask.action)) return false;
  if (ask.target.kind === 'bundle') return entitlement.bundleId === ask.target.bundleId;
  const { key } = ask.target;
  const byPattern = entitlement.resources.some((source) => {
    try {
      return patternCovers(compilePattern(source), principal, key);
    } catch {
      return false; // a malformed stored pattern grants nothing
    }
  });
  if (byPattern) return true;
  return (
    ask.action === 'read' && entitlement.bundleId !== null && bundleCoversKey(policy.bundles.get(entitlement.bundleId), principal, key)
  );
}

const mediaType = (contentType: string): string => (contentType.split(';')[0] ?? '').trim().toLowerCase();

function contentTypeAllowed(allowed: readonly string[], contentType: string): boolean {
  const type = mediaType(contentType);
  return allowed.some((range) => (range.endsWith('/*') ? type.startsWith(range.slice(0, -1)) : type === range));
}

/** Checks the ask against a candidate's limits; returns the reason it does not fit, if any. */
function limitProblem(limits: Limits, input: DecisionInput): string | undefined {
  const { ask, defaults } = input;
  if (ask.action !== 'write') return undefined;
  const maxBytes = Math.min(limits.maxBytes ?? defaults.maxBytes, defaults.maxBytes);
  if (ask.contentLength !== undefined && ask.contentLength > maxBytes) {
    return `contentLength ${ask.contentLength} exceeds the limit of ${maxBytes} bytes`;
  }
  if (limits.contentTypes && ask.contentType !== undefined && !contentTypeAllowed(limits.contentTypes, ask.contentType)) {
    return `content type "${mediaType(ask.contentType)}" is not one of ${limits.contentTypes.join(', ')}`;
  }
  return undefined;
}

interface Candidate {
  readonly source: Source;
  readonly limits: Limits;
  /** When what allows the grant ends (an entitlement's expiry or scheduled revocation); a grant must not outlive it. */
  readonly endsAt: Date | undefined;
}

function allowWith({ source, limits, endsAt }: Candidate, input: DecisionInput): Decision {
  const { defaults, ask, now } = input;
  const cap = Math.min(limits.maxTtlSeconds ?? defaults.maxTtlSeconds, defaults.maxTtlSeconds);
  const remaining = endsAt === undefined ? Number.POSITIVE_INFINITY : Math.floor((endsAt.getTime() - now.getTime()) / 1000);
  const ttlSeconds = Math.min(ask.ttlSeconds ?? defaults.defaultTtlSeconds, cap, remaining);
  return { allow: true, source, ttlSeconds, maxBytes: Math.min(limits.maxBytes ?? defaults.maxBytes, defaults.maxBytes) };
}

function endOf(entitlement: Entitlement, now: Date): Date | undefined {
  const ends = [entitlement.expiresAt, entitlement.revokedAt].filter((date): date is Date => date !== null && date > now);
  return ends.length === 0 ? undefined : new Date(Math.min(...ends.map((date) => date.getTime())));
}

const describeTarget = (target: Target): string => (target.kind === 'key' ? `key "${target.key}"` : `bundle "${target.bundleId}"`);

/**
 * Deny by default: the first rule (in file order), then the first live
 * entitlement, that covers the action on the target and whose limits fit wins.
 */
export function decide(input: DecisionInput): Decision {
  let firstLimitDenial: Decision | undefined;
  for (const candidate of coveringCandidates(input)) {
    const { source, limits, endsAt } = candidate;
    // An entitlement ending within the second cannot back even a one-second grant.
    if (endsAt !== undefined && endsAt.getTime() - input.now.getTime() < 1000) continue;
    const problem = limitProblem(limits, input);
    if (problem === undefined) return allowWith(candidate, input);
    firstLimitDenial ??= { allow: false, code: 'BROKER_LIMIT_EXCEEDED', reason: `${source.kind} "${source.id}": ${problem}`, source };
  }
  return (
    firstLimitDenial ?? {
      allow: false,
      code: 'BROKER_FORBIDDEN',
      reason: `no rule or entitlement grants ${input.ask.action} on ${describeTarget(input.ask.target)}`,
    }
  );
}

function* coveringCandidates(input: DecisionInput): Generator<Candidate> {
  for (const rule of input.policy.rules) {
    if (ruleCovers(rule, input)) yield { source: { kind: 'rule', id: rule.id }, limits: rule.limits, endsAt: undefined };
  }
  for (const entitlement of input.entitlements) {
    if (entitlementCovers(entitlement, input)) {
      yield { source: { kind: 'entitlement', id: entitlement.id }, limits: {}, endsAt: endOf(entitlement, input.now) };
    }
  }
}
