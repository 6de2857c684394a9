import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { principalFromClaims, type Principal } from '../auth/principal.js';
import { BrokerError } from '../errors/catalogue.js';
import type { Authorizer } from '../grants/authorizer.js';
import type { Policy } from '../policy/compile.js';
import type { Ask } from '../policy/decide.js';
import {
  entitlementProblems,
  InvalidEntitlementError,
  isLive,
  type EntitlementRecord,
  type NewEntitlement,
} from '../policy/entitlement.js';
import type { GrantOverview } from '../policy/overview.js';
import { IdempotencyConflictError, type EntitlementStore } from '../store/entitlement-store.js';
import type { AuditStore } from '../audit/audit-record.js';
import {
  MAX_PAGE,
  type AuditQueryRequest,
  type AuditRecordView,
  type EntitlementView,
  type ExplainRequest,
  type GrantSummary,
  type ListQuery,
  type NewEntitlementRequest,
} from './schemas.js';

const DEFAULT_PAGE = 50;

const iso = (date: Date | null | undefined): string | null => (date == null ? null : date.toISOString());

function entitlementView(record: EntitlementRecord, now: Date): EntitlementView {
  return {
    id: record.id,
    subject: record.subject,
    bundleId: record.bundleId,
    resources: [...record.resources],
    actions: [...record.actions],
    notBefore: iso(record.notBefore),
    expiresAt: iso(record.expiresAt),
    revokedAt: iso(record.revokedAt),
    revokedBy: record.revokedBy,
    createOnly: record.createOnly,
    grantedBy: record.grantedBy,
    reason: record.reason,
    createdAt: record.createdAt.toISOString(),
    live: isLive(record, now),
  };
}

/** Opaque to clients: base64url of where the page stopped, the last row's instant (epoch ms) and id. */
const toCursor = (at: Date, id: string | number): string => Buffer.from(JSON.stringify([at.getTime(), id])).toString('base64url');

/** A cursor back as the instant and the id (a string for entitlements, a number for audit records); 400 when it is none. */
function fromCursor(text: string, idType: 'string'): { at: Date; id: string };
function fromCursor(text: string, idType: 'number'): { at: Date; id: number };
function fromCursor(text: string, idType: 'string' | 'number'): { at: Date; id: string | number } {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === idType) {
      return { at: new Date(value[0] as number), id: value[1] as string | number };
    }
  } catch {
    // refused below
  }
  throw new BrokerError('BROKER_VALIDATION', 'querystring/cursor is not a cursor this API gave out', {
    errors: [{ path: 'querystring/cursor', message: 'is not a cursor this API gave out' }],
  });
}

const toEntitlementCursor = ({ at, id }: { at: Date; id: string }) => ({ createdAt: at, id });

function pageSize(limit: string | undefined): number {
  const size = Number(limit ?? DEFAULT_PAGE);
  if (size <= MAX_PAGE) return size;
  const message = `must be at most ${MAX_PAGE}`;
  throw new BrokerError('BROKER_VALIDATION', `querystring/limit ${message}`, { errors: [{ path: 'querystring/limit', message }] });
}

/**
 * What an Idempotency-Key is bound to: the entitlement asked for, not the bytes that asked. Key order, an omitted
 * default (`createOnly`), the spelling of an instant and the order of actions or patterns do not make another request.
 */
function fingerprintOf(input: NewEntitlement): string {
  const canonical = JSON.stringify([
    input.subject,
    input.bundleId ?? null,
    [...(input.resources ?? [])].sort(),
    [...input.actions].sort(),
    input.notBefore?.toISOString() ?? null,
    input.expiresAt?.toISOString() ?? null,
    input.createOnly ?? false,
    input.reason,
  ]);
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * The admin API's logic: entitlements granted, listed and revoked on behalf of an admin (recorded by its
 * token's `sub`), and decisions explained. Thin routes call it; it speaks in BrokerErrors.
 */
export class AdminService {
  constructor(
    private readonly deps: {
      readonly store: EntitlementStore;
      readonly auditStore: AuditStore | undefined;
      readonly policy: Policy;
      readonly authorizer: Authorizer;
      readonly now: () => Date;
      /** Where admin writes are told, beside the rows that record who made them. */
      readonly log: FastifyBaseLogger;
    },
  ) {}

  async create(
    admin: Principal,
    body: NewEntitlementRequest,
    idempotencyKey: string | undefined,
  ): Promise<{ entitlement: EntitlementView; replayed: boolean }> {
    const now = this.deps.now();
    const input: NewEntitlement = {
      subject: body.subject,
      bundleId: body.bundleId ?? null,
      resources: body.resources ?? [],
      actions: body.actions,
      notBefore: body.notBefore === undefined ? null : new Date(body.notBefore),
      expiresAt: body.expiresAt === undefined ? null : new Date(body.expiresAt),
      createOnly: body.createOnly ?? false,
      grantedBy: admin.sub,
      reason: body.reason,
    };
    // The store checks everything but bundles, which only the policy knows.
    const problems = entitlementProblems(input, { now, bundles: new Set(this.deps.policy.bundles.keys()) });
    if (problems.length > 0) throw invalid(problems);
    try {
      const { entitlement, replayed } =
        idempotencyKey === undefined
          ? { entitlement: await this.deps.store.create(input, now), replayed: false }
          : await this.deps.store.createOnce(input, now, { scope: admin.sub, key: idempotencyKey, fingerprint: fingerprintOf(input) });
      if (!replayed)
        this.deps.log.info(
          { admin: { by: admin.sub, granted: entitlement.id, subject: entitlement.subject } },
          'admin granted an entitlement',
        );
      return { entitlement: entitlementView(entitlement, now), replayed };
    } catch (error) {
      if (error instanceof InvalidEntitlementError) throw invalid(error.problems);
      if (error instanceof IdempotencyConflictError) {
        throw new BrokerError('BROKER_IDEMPOTENCY_CONFLICT', 'this Idempotency-Key was used with another request body; use a new key');
      }
      throw error;
    }
  }

  async list(query: ListQuery): Promise<{ entitlements: EntitlementView[]; next: string | null }> {
    const now = this.deps.now();
    const limit = pageSize(query.limit);
    const page = await this.deps.store.list({
      subject: query.subject,
      bundleId: query.bundleId,
      resource: query.resource,
      live: query.live === undefined ? undefined : query.live === 'true',
      now,
      after: query.cursor === undefined ? undefined : toEntitlementCursor(fromCursor(query.cursor, 'string')),
      limit,
    });
    return {
      entitlements: page.records.map((record) => entitlementView(record, now)),
      next: page.next === undefined ? null : toCursor(page.next.createdAt, page.next.id),
    };
  }

  async get(id: string): Promise<EntitlementView> {
    const record = await this.deps.store.find(id);
    if (record === undefined) throw new BrokerError('BROKER_NOT_FOUND', `no entitlement ${id}`);
    return entitlementView(record, this.deps.now());
  }

  /** Revokes now; the row stays, saying who. Revoking an entitlement that is already revoked changes nothing. */
  async revoke(admin: Principal, id: string): Promise<void> {
    const record = await this.deps.store.find(id);
    if (record === undefined) throw new BrokerError('BROKER_NOT_FOUND', `no entitlement ${id}`);
    if (await this.deps.store.revoke(id, this.deps.now(), admin.sub)) {
      this.deps.log.info({ admin: { by: admin.sub, revoked: id, subject: record.subject } }, 'admin revoked an entitlement');
    }
  }

  async explain(body: ExplainRequest): Promise<{
    allow: boolean;
    code?: string;
    reason: string;
    source?: { kind: 'rule' | 'entitlement'; id: string };
    ttlSeconds?: number;
  }> {
    const principal = principalFromClaims(body.claims);
    if (principal === undefined)
      throw new BrokerError('BROKER_VALIDATION', 'claims.sub must be a non-empty string', {
        errors: [{ path: 'body/claims/sub', message: 'must be a non-empty string' }],
      });
    if ((body.key === undefined) === (body.bundleId === undefined)) {
      throw new BrokerError('BROKER_VALIDATION', 'give exactly one of key and bundleId', {
        errors: [{ path: 'body', message: 'give exactly one of key and bundleId' }],
      });
    }
    const ask: Ask = {
      action: body.action,
      target: body.key === undefined ? { kind: 'bundle', bundleId: body.bundleId ?? '' } : { kind: 'key', key: body.key },
      ...(body.contentType === undefined ? {} : { contentType: body.contentType }),
      ...(body.contentLength === undefined ? {} : { contentLength: body.contentLength }),
    };
    const decision = await this.deps.authorizer.explain(principal, ask, body.clientAddress ?? 'unknown');
    if (!decision.allow)
      return { allow: false, code: decision.code, reason: decision.reason, ...(decision.source ? { source: decision.source } : {}) };
    const { source, ttlSeconds } = decision;
    return { allow: true, reason: `${source.kind} "${source.id}" allows it`, source, ttlSeconds };
  }

  async audit(query: AuditQueryRequest): Promise<{ records: AuditRecordView[]; next: string | null }> {
    const { auditStore } = this.deps;
    if (auditStore === undefined)
      throw new BrokerError('BROKER_AUDIT_NOT_CONFIGURED', 'set AUDIT_DATABASE=true to keep the audit trail in the database');
    const page = await auditStore.query({
      subject: query.subject,
      allow: query.allow === undefined ? undefined : query.allow === 'true',
      from: query.from === undefined ? undefined : new Date(query.from),
      to: query.to === undefined ? undefined : new Date(query.to),
      before: query.cursor === undefined ? undefined : fromCursor(query.cursor, 'number'),
      limit: pageSize(query.limit),
    });
    return {
      records: page.records.map((record) => ({
        ...record,
        at: record.at.toISOString(),
        action: record.action === 'write' ? 'write' : 'read',
        expiresAt: iso(record.expiresAt),
      })),
      next: page.next === undefined ? null : toCursor(page.next.at, page.next.id),
    };
  }

  async mine(principal: Principal): Promise<{ grants: GrantSummary[] }> {
    return { grants: (await this.deps.authorizer.overview(principal)).map(summaryView) };
  }
}

const invalid = (problems: readonly string[]): BrokerError =>
  new BrokerError('BROKER_VALIDATION', problems.join('; '), { errors: problems.map((message) => ({ path: 'body', message })) });

function summaryView(overview: GrantOverview): GrantSummary {
  const { conditions } = overview;
  return {
    source: overview.source,
    actions: overview.actions,
    resources: overview.resources,
    bundles: [...overview.bundles],
    limits: { ...overview.limits, ...(overview.limits.contentTypes ? { contentTypes: [...overview.limits.contentTypes] } : {}) },
    ...(conditions === undefined
      ? {}
      : {
          conditions: {
            ...(conditions.notBefore ? { notBefore: conditions.notBefore.toISOString() } : {}),
            ...(conditions.sourceIp ? { sourceIp: conditions.sourceIp } : {}),
            ...(conditions.bindToCallerIp ? { bindToCallerIp: true } : {}),
          },
        }),
    createOnly: overview.createOnly,
    endsAt: iso(overview.endsAt),
  };
}
