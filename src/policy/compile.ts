import { encodeKeyForCloudFront } from '../keys/cloudfront-path.js';
import { compileConditions, type EdgeConditions } from './conditions.js';
import { compilePattern, type CompiledPattern } from './patterns.js';
import { POLICY_ID, type Action, type Limits, type Match, type PolicyDocument, type Quota } from './schema.js';

export interface CompiledRule {
  readonly id: string;
  readonly when: Match;
  readonly actions: ReadonlySet<Action>;
  readonly resources: readonly CompiledPattern[];
  readonly bundles: readonly string[];
  readonly limits: Limits;
  readonly createOnly: boolean;
  /** CloudFront conditions on its read grants; undefined when it has none. */
  readonly conditions: EdgeConditions | undefined;
  /** Upload quotas per subject; undefined when it has none. */
  readonly quota: Quota | undefined;
  /** Its download grants need the key's latest upload verified. */
  readonly requireVerified: boolean;
}

export interface CompiledBundle {
  readonly id: string;
  readonly resource: CompiledPattern;
  readonly cookiePath: string | undefined;
}

export interface Policy {
  readonly rules: readonly CompiledRule[];
  readonly bundles: ReadonlyMap<string, CompiledBundle>;
}

const policyId = new RegExp(POLICY_ID); // ASCII only: the u flag would change nothing

/** Checks what the schema cannot (pattern syntax, references) and prepares patterns once. */
export function compilePolicy(document: PolicyDocument): Policy {
  const problems: string[] = [];
  const bundles = new Map<string, CompiledBundle>();
  for (const [id, bundle] of Object.entries(document.bundles ?? {})) {
    if (!policyId.test(id)) problems.push(`bundle id "${id}" must match ${POLICY_ID}`);
    try {
      const resource = compilePattern(bundle.resource);
      const problem = bundle.cookiePath === undefined ? undefined : cookiePathProblem(bundle.cookiePath, resource);
      if (problem) problems.push(`bundle "${id}": ${problem}`);
      const escape = wildcardEscapeProblem(resource);
      if (escape) problems.push(`bundle "${id}": ${escape}`);
      bundles.set(id, { id, resource, cookiePath: bundle.cookiePath });
    } catch (error) {
      problems.push(`bundle "${id}": ${(error as Error).message}`);
    }
  }
  const seen = new Set<string>();
  const rules: CompiledRule[] = [];
  for (const rule of document.rules) {
    if (seen.has(rule.id)) problems.push(`rule "${rule.id}" is defined twice`);
    seen.add(rule.id);
    if (!rule.resources && !rule.bundles) problems.push(`rule "${rule.id}" names no resources and no bundles`);
    // TypeBox does not apply a Record key's minLength, so an empty claim name is caught here.
    if (Object.keys(rule.when?.claims ?? {}).includes('')) problems.push(`rule "${rule.id}": a claim name in "when" is empty`);
    for (const bundleId of rule.bundles ?? []) {
      if (!bundles.has(bundleId)) problems.push(`rule "${rule.id}" names unknown bundle "${bundleId}"`);
    }
    if (rule.bundles && rule.actions.includes('write')) problems.push(`rule "${rule.id}": bundles are read-only`);
    if (rule.createOnly && !rule.actions.includes('write'))
      problems.push(`rule "${rule.id}": createOnly applies to writes, and it grants none`);
    if (rule.quota !== undefined && !rule.actions.includes('write'))
      problems.push(`rule "${rule.id}": a quota counts uploads, and it grants none`);
    if (rule.requireVerified && !rule.actions.includes('read'))
      problems.push(`rule "${rule.id}": requireVerified applies to reads, and it grants none`);
    // A bundle's cookies open every key under a prefix: the broker cannot check each key's upload when it sets them.
    if (rule.requireVerified && rule.bundles)
      problems.push(`rule "${rule.id}": requireVerified cannot apply to bundles (their cookies open keys the broker never sees)`);
    const resources: CompiledPattern[] = [];
    for (const source of rule.resources ?? []) {
      try {
        resources.push(compilePattern(source));
      } catch (error) {
        problems.push(`rule "${rule.id}": ${(error as Error).message}`);
      }
    }
    let conditions: EdgeConditions | undefined;
    if (rule.conditions !== undefined) {
      // S3 upload URLs cannot carry a start or an address, and a rule must not grant more than it says.
      if (rule.actions.includes('write'))
        problems.push(`rule "${rule.id}": conditions apply to reads through CloudFront, and it grants writes`);
      const compiled = compileConditions(rule.conditions);
      if (compiled.ok) conditions = Object.keys(compiled.conditions).length > 0 ? compiled.conditions : undefined;
      else problems.push(...compiled.problems.map((problem) => `rule "${rule.id}": ${problem}`));
    }
    rules.push({
      id: rule.id,
      when: rule.when ?? {},
      actions: new Set(rule.actions),
      resources,
      bundles: rule.bundles ?? [],
      limits: rule.limits ?? {},
      createOnly: rule.createOnly ?? false,
      conditions,
      quota: rule.quota !== undefined && Object.keys(rule.quota).length > 0 ? rule.quota : undefined,
      requireVerified: rule.requireVerified ?? false,
    });
  }
  if (problems.length > 0) throw new PolicyError(problems);
  return { rules, bundles };
}

/**
 * CloudFront matches a policy's `*` against the percent-encoded URL, so after a
 * wildcard, a literal that starts with a hex digit (or a claim, which may) can
 * match the tail of an escape: `x/*25` would cover the key `x/%` (`x/%25`),
 * which the pattern itself does not name.
 */
function wildcardEscapeProblem(resource: CompiledPattern): string | undefined {
  for (const [index, part] of resource.parts.entries()) {
    const next = resource.parts[index + 1];
    if (!('wildcard' in part) || next === undefined) continue;
    if ('claim' in next)
      return `"*{${next.claim}}": a claim right after "*" could end inside a percent-escape in CloudFront's match; put a "/" between them`;
    if ('literal' in next && /^[0-9A-Fa-f]/u.test(next.literal)) {
      return `"*${next.literal}": a literal right after "*" must not start with a hex digit (CloudFront matches "*" against the percent-encoded URL, where it could end inside an escape)`;
    }
  }
  return undefined;
}

/**
 * Browsers send a cookie only under its path, so the path must be a prefix of
 * every URL the resource covers: a prefix of its fixed leading part.
 */
function cookiePathProblem(cookiePath: string, resource: CompiledPattern): string | undefined {
  const [first] = resource.parts;
  const fixed = 'literal' in first ? first.literal : '';
  const encoded = `/${encodeKeyForCloudFront(fixed)}`;
  return encoded.startsWith(cookiePath)
    ? undefined
    : `cookiePath "${cookiePath}" is not a prefix of the resource path "${encoded}", so the cookies would never be sent with its requests`;
}

export class PolicyError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`policy is not valid:\n  - ${problems.join('\n  - ')}`);
    this.name = 'PolicyError';
    this.problems = problems;
  }
}
