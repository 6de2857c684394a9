import type { DecisionRecord } from './decision-recorder.js';

/** One decision as the audit trail keeps it: who asked what from where, the answer, what decided it, until when. */
export interface AuditRecord {
  readonly at: Date;
  readonly requestId: string;
  readonly subject: string;
  readonly clientAddress: string;
  readonly kind: string;
  readonly action: string;
  readonly targetKind: 'key' | 'bundle';
  readonly target: string;
  readonly allow: boolean;
  /** The denial's code; null when allowed. */
  readonly code: string | null;
  /** Why it was denied; null when allowed. */
  readonly reason: string | null;
  /** `rule:<id>` or `entitlement:<id>`: what decided (allowed, or denied by a limit or a condition). */
  readonly decidedBy: string | null;
  /** When the grant ends (the decision's instant plus its TTL); null when denied. */
  readonly expiresAt: Date | null;
}

export function auditRecordOf({ at, requestId, subject, clientAddress, kind, action, target, decision }: DecisionRecord): AuditRecord {
  const { source } = decision;
  return {
    at,
    requestId,
    subject,
    clientAddress,
    kind,
    action,
    targetKind: target.kind,
    target: target.kind === 'key' ? target.key : target.bundleId,
    allow: decision.allow,
    code: decision.allow ? null : decision.code,
    reason: decision.allow ? null : decision.reason,
    decidedBy: source === undefined ? null : `${source.kind}:${source.id}`,
    expiresAt: decision.allow ? new Date(at.getTime() + decision.ttlSeconds * 1000) : null,
  };
}

/** Where an admin's audit query starts: after this record, newest first. */
export interface AuditCursor {
  readonly at: Date;
  readonly id: number;
}

export interface AuditQuery {
  readonly subject?: string | undefined;
  readonly allow?: boolean | undefined;
  readonly from?: Date | undefined;
  readonly to?: Date | undefined;
  readonly before?: AuditCursor | undefined;
  readonly limit: number;
}

/** The audit store port: batches written off the request path, pages read by the admin API. */
export interface AuditStore {
  append(records: readonly AuditRecord[]): Promise<void>;
  /** Newest first. */
  query(query: AuditQuery): Promise<{ records: (AuditRecord & { id: number })[]; next: AuditCursor | undefined }>;
  close(): Promise<void>;
}
