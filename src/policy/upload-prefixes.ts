import type { Principal } from '../auth/principal.js';
import type { Policy } from './compile.js';
import type { Entitlement } from './entitlement.js';
import { generationPrefix } from './patterns.js';
import { permitsFor } from './permits.js';

/**
 * Prefixes (`uploads/alice/`) under which the server may generate a key for
 * this caller, in decision order. Only `prefix*` patterns qualify: anything
 * else would leave the server guessing where a key may go.
 */
export function uploadPrefixes(principal: Principal, policy: Policy, entitlements: readonly Entitlement[], now: Date): string[] {
  const prefixes = new Set<string>();
  for (const permit of permitsFor(principal, 'write', policy, entitlements, now)) {
    for (const pattern of permit.resources) {
      const prefix = generationPrefix(pattern);
      if (prefix !== undefined) prefixes.add(prefix);
    }
  }
  return [...prefixes];
}
