import type { Principal } from '../auth/principal.js';
import type { Policy } from './compile.js';
import { matchesWhen } from './decide.js';
import { isLive, type Entitlement } from './entitlement.js';
import { compilePattern, generationPrefix, resolvePattern, type CompiledPattern } from './patterns.js';

function prefixOf(pattern: CompiledPattern, principal: Principal): string | undefined {
  const resolved = resolvePattern(pattern, principal.claims);
  return resolved.ok ? generationPrefix(resolved.pattern) : undefined;
}

/**
 * Prefixes (`uploads/alice/`) under which the server may generate a key for
 * this caller, in policy order. Only `prefix*` patterns qualify: anything
 * else would leave the server guessing where a key may go.
 */
export function uploadPrefixes(principal: Principal, policy: Policy, entitlements: readonly Entitlement[], now: Date): string[] {
  const prefixes: string[] = [];
  for (const rule of policy.rules) {
    if (!rule.actions.has('write') || !matchesWhen(rule.when, principal)) continue;
    for (const pattern of rule.resources) {
      const prefix = prefixOf(pattern, principal);
      if (prefix !== undefined) prefixes.push(prefix);
    }
  }
  for (const entitlement of entitlements) {
    if (entitlement.subject !== principal.sub || !isLive(entitlement, now) || !entitlement.actions.includes('write')) continue;
    for (const source of entitlement.resources) {
      try {
        const prefix = prefixOf(compilePattern(source), principal);
        if (prefix !== undefined) prefixes.push(prefix);
      } catch {
        // a malformed stored pattern grants nothing
      }
    }
  }
  return [...new Set(prefixes)];
}
