import { BrokerError } from '../errors/catalogue.js';
import { InvalidEntitlementError } from '../policy/entitlement.js';
import { IdempotencyConflictError, type EntitlementStore } from './entitlement-store.js';
import type { MultipartStore } from './multipart-store.js';
import type { UploadRecordStore } from '../lifecycle/upload-records.js';

/** Network errors of the socket under the driver. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** PostgreSQL's: shutting down, cannot connect now, too many connections, a statement cancelled by its timeout. */
const POSTGRES_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300', '57014']);

/**
 * Whether an error means the database is away or too slow (a later retry may work), as opposed to a fault in the
 * broker or a broken database, which must stay a 500 and be logged as an error rather than look like a blip.
 */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || POSTGRES_UNAVAILABLE.has(code) || code.startsWith('08')) return true; // 08: connection exceptions
    // SQLITE_BUSY_SNAPSHOT and the other extended codes too: another connection wrote first, a retry will do.
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return true;
  }
  // node-postgres's own: its connection and query timeouts, a connection that ended under a query.
  return /timeout exceeded when trying to connect|Query read timeout|Connection terminated/u.test(error.message);
}

/** A store that is away or too slow as what the caller sees: 503, no grant. Anything else passes unchanged (a 500). */
function asUnavailable(error: unknown): unknown {
  if (error instanceof BrokerError || error instanceof InvalidEntitlementError || error instanceof IdempotencyConflictError) return error;
  if (!isUnavailable(error)) return error;
  return new BrokerError('BROKER_STORE_UNAVAILABLE', 'the entitlement store does not answer; retry shortly', { cause: error });
}

async function guarded<R>(operation: () => Promise<R>): Promise<R> {
  try {
    return await operation();
  } catch (error) {
    throw asUnavailable(error);
  }
}

/** The store with its failures answered as 503 BROKER_STORE_UNAVAILABLE; its own refusals pass unchanged. */
export function failingAsUnavailable(store: EntitlementStore): EntitlementStore {
  return {
    ...store,
    liveFor: (subject, now) => guarded(() => store.liveFor(subject, now)),
    historyFor: (subject) => guarded(() => store.historyFor(subject)),
    create: (entitlement, now) => guarded(() => store.create(entitlement, now)),
    createOnce: (entitlement, now, idempotency) => guarded(() => store.createOnce(entitlement, now, idempotency)),
    find: (id) => guarded(() => store.find(id)),
    list: (query) => guarded(() => store.list(query)),
    revoke: (id, now, revokedBy) => guarded(() => store.revoke(id, now, revokedBy)),
  };
}

export function multipartFailingAsUnavailable(store: MultipartStore): MultipartStore {
  return {
    ...store,
    create: (upload) => guarded(() => store.create(upload)),
    find: (uploadId, subject) => guarded(() => store.find(uploadId, subject)),
    close: (uploadId, state, now) => guarded(() => store.close(uploadId, state, now)),
    stale: (before) => guarded(() => store.stale(before)),
  };
}

export function recordsFailingAsUnavailable(store: UploadRecordStore): UploadRecordStore {
  return {
    ...store,
    create: (record, quotaCheck) => guarded(() => store.create(record, quotaCheck)),
    latestForKey: (key) => guarded(() => store.latestForKey(key)),
    latestForKeys: (keys) => guarded(() => store.latestForKeys(keys)),
    byId: (id) => guarded(() => store.byId(id)),
    byMultipartUpload: (uploadId) => guarded(() => store.byMultipartUpload(uploadId)),
    release: (id, etag, now) => guarded(() => store.release(id, etag, now)),
    claim: (id, from, found, now, leaseUntil) => guarded(() => store.claim(id, from, found, now, leaseUntil)),
    finish: (id, from, outcome, now, etag) => guarded(() => store.finish(id, from, outcome, now, etag)),
    due: (now, limit) => guarded(() => store.due(now, limit)),
    lookAgain: (id, at) => guarded(() => store.lookAgain(id, at)),
    grantedBy: (key, instant) => guarded(() => store.grantedBy(key, instant)),
  };
}
