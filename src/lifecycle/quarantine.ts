import type { Policy } from '../policy/compile.js';
import type { CompiledPattern } from '../policy/patterns.js';

/** The characters every key a pattern matches starts with: its literals up to the first wildcard or claim. */
function fixedPrefix(pattern: CompiledPattern): string {
  let prefix = '';
  for (const part of pattern.parts) {
    if (!('literal' in part)) break;
    prefix += part.literal;
  }
  return prefix;
}

/**
 * The rules and bundles that could grant keys under the quarantine prefix: rejected bytes must stay out of reach.
 * A pattern whose fixed start is a prefix of the quarantine's (or the other way round) may match keys there; one
 * starting with a claim may too, since a claim's value is anyone's to choose.
 */
export function quarantineOverlaps(policy: Policy, quarantinePrefix: string): string[] {
  const overlaps = (pattern: CompiledPattern): boolean => {
    const fixed = fixedPrefix(pattern);
    return quarantinePrefix.startsWith(fixed) || fixed.startsWith(quarantinePrefix);
  };
  const problems: string[] = [];
  for (const rule of policy.rules) {
    const pattern = rule.resources.find(overlaps);
    if (pattern !== undefined) problems.push(`rule "${rule.id}": resource "${pattern.source}" may match keys under ${quarantinePrefix}`);
  }
  for (const bundle of policy.bundles.values()) {
    if (overlaps(bundle.resource))
      problems.push(`bundle "${bundle.id}": resource "${bundle.resource.source}" may match keys under ${quarantinePrefix}`);
  }
  return problems;
}
