import { BrokerError } from '../errors/catalogue.js';
import { InvalidEntitlementError } from '../policy/entitlement.js';
import { IdempotencyConflictError, type EntitlementStore } from './entitlement-store.js';
import type { MultipartStore } from './multipart-store.js';

/** A store failure (a database down or too slow: the pool's bounded waits) as what the caller sees: 503, no grant. */
function asUnavailable(error: unknown): unknown {
  if (error instanceof BrokerError || error instanceof InvalidEntitlementError || error instanceof IdempotencyConflictError) return error;
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
