import type { Principal } from '../auth/principal.js';
import type { Policy } from './compile.js';
import type { EdgeConditions } from './conditions.js';
import type { Entitlement } from './entitlement.js';
import { permitsFor, type Permit, type Source } from './permits.js';
import type { Action, Limits } from './schema.js';

/** What one rule or live entitlement lets this caller do: the raw material of a frontend's UI. */
export interface GrantOverview {
  readonly source: Source;
  readonly actions: Action[];
  /** Patterns with the caller's claims filled in; those the caller's claims cannot fill are left out (they grant nothing). */
  readonly resources: string[];
  readonly bundles: readonly string[];
  readonly limits: Limits;
  readonly conditions: EdgeConditions | undefined;
  readonly createOnly: boolean;
  readonly endsAt: Date | undefined;
}

/** Every rule and live entitlement that grants this caller something, in decision order, each with all its actions. */
export function overviewFor(principal: Principal, policy: Policy, entitlements: readonly Entitlement[], now: Date): GrantOverview[] {
  const bySource = new Map<string, GrantOverview>();
  for (const action of ['read', 'write'] as const) {
    for (const permit of permitsFor(principal, action, policy, entitlements, now)) {
      const id = `${permit.source.kind}:${permit.source.id}`;
      const known = bySource.get(id);
      if (known) known.actions.push(action);
      else if (grantsSomething(permit)) bySource.set(id, summaryOf(permit, action));
    }
  }
  // Decision order: rules in file order, then entitlements oldest first.
  const rank = new Map(
    [...policy.rules.map((rule) => `rule:${rule.id}`), ...entitlements.map((e) => `entitlement:${e.id}`)].map((id, i) => [id, i]),
  );
  const order = ({ source }: GrantOverview): number => rank.get(`${source.kind}:${source.id}`) ?? 0;
  return [...bySource.values()].sort((a, b) => order(a) - order(b));
}

const grantsSomething = (permit: Permit): boolean => permit.resources.length > 0 || permit.bundleIds.length > 0;

function summaryOf(permit: Permit, action: Action): GrantOverview {
  return {
    source: permit.source,
    actions: [action],
    resources: permit.resources.map((pattern) => pattern.chunks.join('*')),
    bundles: permit.bundleIds,
    limits: permit.limits,
    conditions: permit.conditions,
    createOnly: permit.createOnly,
    endsAt: permit.endsAt,
  };
}
