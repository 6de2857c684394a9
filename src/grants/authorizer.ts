import type { DecisionRecorder, GrantKind } from '../audit/decision-recorder.js';
import type { Principal } from '../auth/principal.js';
import { BrokerError } from '../errors/catalogue.js';
import type { Policy } from '../policy/compile.js';
import { decide, type Ask, type Decision } from '../policy/decide.js';
import type { Defaults } from '../policy/defaults.js';
import type { Entitlement } from '../policy/entitlement.js';
import { overviewFor, type GrantOverview } from '../policy/overview.js';
import { uploadPrefixes } from '../policy/upload-prefixes.js';
import type { EntitlementStore } from '../store/entitlement-store.js';

/** Who asks, as the authorizer records it. */
export interface Caller {
  readonly principal: Principal;
  readonly requestId: string;
  readonly clientAddress: string;
  /** Told after each decision is recorded: the request's log line and metrics sum them up. */
  readonly onDecision?: (decision: Decision) => void;
}

export type Allowed = Extract<Decision, { allow: true }>;

export interface AuthorizerDependencies {
  readonly policy: Policy;
  readonly defaults: Defaults;
  readonly store: EntitlementStore;
  readonly recorder: DecisionRecorder;
  readonly now: () => Date;
  /** Whether read grants go through CloudFront, and so can carry a rule's conditions. */
  readonly cloudfront: boolean;
}

/**
 * The one place where grants are decided: every grant kind opens an
 * Authorization, which loads the caller's entitlements once, decides with the
 * pure decide(), and records each decision it returns.
 */
export class Authorizer {
  constructor(private readonly deps: AuthorizerDependencies) {}

  /** The decision for one ask by these claims, as a grant route would make it, recorded nowhere and granting nothing. */
  async explain(principal: Principal, ask: Ask, clientAddress: string): Promise<Decision> {
    const now = this.clock();
    const entitlements = await this.deps.store.liveFor(principal.sub, now);
    const { policy, defaults, cloudfront } = this.deps;
    return decide({ principal, ask, policy, entitlements, now, defaults, edge: { cloudfront, clientAddress } });
  }

  /** What this caller may do: every rule and live entitlement that grants it something. */
  async overview(principal: Principal): Promise<GrantOverview[]> {
    const now = this.clock();
    return overviewFor(principal, this.deps.policy, await this.deps.store.liveFor(principal.sub, now), now);
  }

  // Whole seconds: SigV4 dates and CloudFront epochs have no fractions, so expiresAt says exactly when a grant ends.
  private clock(): Date {
    return new Date(Math.floor(this.deps.now().getTime() / 1000) * 1000);
  }

  async begin(caller: Caller, kind: GrantKind): Promise<Authorization> {
    const now = this.clock();
    const entitlements = await this.deps.store.liveFor(caller.principal.sub, now);
    return new Authorization(this.deps, caller, kind, now, entitlements);
  }
}

/** One request's decisions: its clock and the caller's live entitlements. */
export class Authorization {
  constructor(
    private readonly deps: AuthorizerDependencies,
    private readonly caller: Caller,
    private readonly kind: GrantKind,
    readonly now: Date,
    private readonly entitlements: readonly Entitlement[],
  ) {}

  /** Decides and records one ask. */
  check(ask: Ask): Decision {
    return this.first([ask]).decision;
  }

  /** The decision for one ask, or the denial as an error. */
  require(ask: Ask): Allowed {
    return this.requireFirst([ask]).decision;
  }

  /**
   * The first of several equivalent asks that is allowed (say, one generated
   * key per upload prefix), else the first denial as an error. Only the
   * outcome is recorded, not every candidate tried.
   */
  requireFirst<A extends Ask>(asks: readonly [A, ...A[]]): { ask: A; decision: Allowed } {
    const { ask, decision } = this.first(asks);
    if (!decision.allow) throw new BrokerError(decision.code, decision.reason);
    return { ask, decision };
  }

  /** Where the server may generate upload keys for this caller. */
  uploadPrefixes(): string[] {
    return uploadPrefixes(this.caller.principal, this.deps.policy, this.entitlements, this.now);
  }

  private first<A extends Ask>([head, ...rest]: readonly [A, ...A[]]): { ask: A; decision: Decision } {
    let chosen = { ask: head, decision: this.evaluate(head) };
    for (const ask of rest) {
      if (chosen.decision.allow) break;
      const decision = this.evaluate(ask);
      if (decision.allow) chosen = { ask, decision };
    }
    this.deps.recorder.record({
      at: this.now,
      requestId: this.caller.requestId,
      clientAddress: this.caller.clientAddress,
      subject: this.caller.principal.sub,
      kind: this.kind,
      action: chosen.ask.action,
      target: chosen.ask.target,
      decision: chosen.decision,
    });
    this.caller.onDecision?.(chosen.decision);
    return chosen;
  }

  private evaluate(ask: Ask): Decision {
    const { policy, defaults } = this.deps;
    const edge = { cloudfront: this.deps.cloudfront, clientAddress: this.caller.clientAddress };
    return decide({ principal: this.caller.principal, ask, policy, entitlements: this.entitlements, now: this.now, defaults, edge });
  }
}
