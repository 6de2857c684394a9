import type { Principal } from '../auth/principal.js';
import type { Policy } from './compile.js';
import { resolveConditions, type AskedConditions, type GrantConditions } from './conditions.js';
import { isActiveMediaType, mediaTypeOf } from './active-content.js';
import type { Defaults } from './defaults.js';
import type { Entitlement } from './entitlement.js';
import { matchesResolved, resolvePattern } from './patterns.js';
import { permitsFor, type Permit, type Source } from './permits.js';
import type { Action, Limits, Quota } from './schema.js';

export type KeyTarget = { kind: 'key'; key: string };
export type Target = KeyTarget | { kind: 'bundle'; bundleId: string };

export interface Ask {
  readonly action: Action;
  readonly target: Target;
  readonly contentType?: string;
  readonly contentLength?: number;
  readonly ttlSeconds?: number;
  /** CloudFront conditions the request itself asks for (downloads' `notBefore`, `bindToCallerIp`). */
  readonly conditions?: AskedConditions;
}

export type Decision =
  | {
      allow: true;
      source: Source;
      ttlSeconds: number;
      maxBytes: number;
      createOnly: boolean;
      /** Present when the grant must carry CloudFront conditions (the rule's and the request's, resolved). */
      conditions?: GrantConditions;
      /** Present when the rule counts its uploads per subject: the grant must fit it. */
      quota?: Quota;
      /** Present when the rule grants downloads only of verified uploads. */
      requireVerified?: true;
    }
  | { allow: false; code: 'BROKER_FORBIDDEN' | 'BROKER_LIMIT_EXCEEDED'; reason: string; source?: Source };

export interface DecisionInput {
  readonly principal: Principal;
  readonly ask: Ask;
  readonly policy: Policy;
  readonly entitlements: readonly Entitlement[];
  readonly now: Date;
  readonly defaults: Defaults;
  /** Whether grants can carry CloudFront conditions (a CDN is configured), and the caller's address they may bind to. */
  readonly edge?: { readonly cloudfront: boolean; readonly clientAddress: string };
}

function bundleCoversKey(policy: Policy, bundleId: string, principal: Principal, key: string): boolean {
  const bundle = policy.bundles.get(bundleId);
  if (bundle === undefined) return false;
  const resolved = resolvePattern(bundle.resource, principal.claims);
  return resolved.ok && matchesResolved(resolved.pattern, key);
}

function covers(permit: Permit, { ask, policy, principal }: DecisionInput): boolean {
  // Bundles are read-only, whatever else the rule or entitlement allows.
  if (ask.target.kind === 'bundle') return ask.action === 'read' && permit.bundleIds.includes(ask.target.bundleId);
  const { key } = ask.target;
  if (permit.resources.some((pattern) => matchesResolved(pattern, key))) return true;
  // Reading a bundle also lets the caller read single keys inside it; bundles never grant writes.
  return ask.action === 'read' && permit.bundleIds.some((bundleId) => bundleCoversKey(policy, bundleId, principal, key));
}

function contentTypeAllowed(allowed: readonly string[], contentType: string): boolean {
  const type = mediaTypeOf(contentType);
  return allowed.some((range) => (range.endsWith('/*') ? type.startsWith(range.slice(0, -1)) : type === range));
}

const maxBytesOf = (limits: Limits, defaults: Defaults): number => Math.min(limits.maxBytes ?? defaults.maxBytes, defaults.maxBytes);

/** Checks the ask against a permit's limits; returns the reason it does not fit, if any. */
function limitProblem(limits: Limits, { ask, defaults }: DecisionInput): string | undefined {
  if (ask.action !== 'write') return undefined;
  const maxBytes = maxBytesOf(limits, defaults);
  // Every write declares its length (the upload schemas require it); the default only satisfies the type.
  const contentLength = ask.contentLength ?? 0;
  if (contentLength > maxBytes) return `contentLength ${contentLength} exceeds the limit of ${maxBytes} bytes`;
  if (ask.contentType === undefined) return undefined;
  const type = mediaTypeOf(ask.contentType);
  if (limits.contentTypes && !contentTypeAllowed(limits.contentTypes, ask.contentType)) {
    return `content type "${type}" is not one of ${limits.contentTypes.join(', ')}`;
  }
  // Deny by default for content that runs script: only a rule that names the type itself allows it.
  if (isActiveMediaType(type) && !limits.contentTypes?.includes(type)) {
    return `content type "${type}" runs script in browsers; only a rule whose contentTypes name "${type}" itself may allow it`;
  }
  return undefined;
}

/** The conditions a grant from this permit carries, or why the caller cannot have one. */
function conditionsFor(permit: Permit, { ask, edge }: DecisionInput): ReturnType<typeof resolveConditions> {
  if (permit.conditions !== undefined && edge?.cloudfront !== true) {
    // Fail closed: an S3 URL would open without the start or the address the rule requires.
    return { ok: false, reason: 'grants this only through CloudFront, with conditions S3 URLs cannot carry (CLOUDFRONT_DOMAIN)' };
  }
  return resolveConditions(permit.conditions, ask.conditions ?? {}, edge?.clientAddress ?? '');
}

function allowWith(
  { source, limits, endsAt, createOnly, quota, requireVerified }: Permit,
  { defaults, ask, now }: DecisionInput,
  conditions: GrantConditions | undefined,
): Decision {
  const cap = Math.min(limits.maxTtlSeconds ?? defaults.maxTtlSeconds, defaults.maxTtlSeconds);
  const remaining = endsAt === undefined ? Number.POSITIVE_INFINITY : Math.floor((endsAt.getTime() - now.getTime()) / 1000);
  const ttlSeconds = Math.min(ask.ttlSeconds ?? defaults.defaultTtlSeconds, cap, remaining);
  return {
    allow: true,
    source,
    ttlSeconds,
    maxBytes: maxBytesOf(limits, defaults),
    createOnly,
    ...(conditions && { conditions }),
    ...(quota && ask.action === 'write' && { quota }),
    ...(requireVerified && ask.action === 'read' && { requireVerified: true as const }),
  };
}

const describeTarget = (target: Target): string => (target.kind === 'key' ? `key "${target.key}"` : `bundle "${target.bundleId}"`);

/**
 * Deny by default: the first rule (in file order), then the first live
 * entitlement, that covers the action on the target and whose limits fit wins.
 */
export function decide(input: DecisionInput): Decision {
  let firstLimitDenial: Decision | undefined;
  for (const permit of permitsFor(input.principal, input.ask.action, input.policy, input.entitlements, input.now)) {
    if (!covers(permit, input)) continue;
    // An entitlement ending within the second cannot back even a one-second grant.
    if (permit.endsAt !== undefined && permit.endsAt.getTime() - input.now.getTime() < 1000) continue;
    const { source } = permit;
    const problem = limitProblem(permit.limits, input);
    if (problem !== undefined) {
      firstLimitDenial ??= { allow: false, code: 'BROKER_LIMIT_EXCEEDED', reason: `${source.kind} "${source.id}": ${problem}`, source };
      continue;
    }
    // Like a limit, a condition the caller cannot meet passes the ask on to the next rule or entitlement.
    const conditions = conditionsFor(permit, input);
    if (conditions.ok) return allowWith(permit, input, conditions.conditions);
    firstLimitDenial ??= { allow: false, code: 'BROKER_FORBIDDEN', reason: `${source.kind} "${source.id}" ${conditions.reason}`, source };
  }
  return (
    firstLimitDenial ?? {
      allow: false,
      code: 'BROKER_FORBIDDEN',
      reason: `no rule or entitlement grants ${input.ask.action} on ${describeTarget(input.ask.target)}`,
    }
  );
}
