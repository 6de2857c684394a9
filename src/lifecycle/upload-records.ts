import type { Source } from '../policy/permits.js';
import type { Quota } from '../policy/schema.js';
import type { UploadKind, UploadState } from './lifecycle-schema.js';

export type { UploadKind, UploadState } from './lifecycle-schema.js';

export type UploadEventType = 'upload.verified' | 'upload.rejected' | 'upload.expired';

/** What an upload grant allowed, and what became of it. */
export interface UploadRecord {
  readonly id: string;
  readonly key: string;
  readonly subject: string;
  readonly source: Source;
  readonly kind: UploadKind;
  readonly multipartUploadId: string | null;
  readonly contentType: string;
  readonly maxBytes: number;
  /** A PUT and a multipart upload sign their exact length; a POST form a range up to maxBytes. */
  readonly exactSize: boolean;
  readonly checksum: { readonly algorithm: string; readonly value: string } | null;
  readonly grantedAt: Date;
  readonly expiresAt: Date;
  readonly updatedAt: Date;
  readonly state: UploadState;
  readonly reason: string | null;
  readonly size: number | null;
  readonly etag: string | null;
}

export type NewUploadRecord = Omit<UploadRecord, 'updatedAt' | 'state' | 'reason' | 'size' | 'etag'> & {
  /** When the sweeper first looks at it: the grant's end plus the grace. */
  readonly nextLookAt: Date;
};

/** What one subject holds under one rule, as quotas count it. */
export interface QuotaUsage {
  /** Verified bytes plus the bytes granted to uploads in flight, granted since the start of the day. */
  readonly bytesToday: number;
  /** Uploads granted since the start of the day, neither rejected nor expired. */
  readonly objectsToday: number;
  /** Uploads granted and not yet verified, rejected or expired. */
  readonly inFlight: number;
  /** When the oldest upload in flight stops counting at the latest (its expiry plus the grace). */
  readonly firstInFlightEndsAt: Date | undefined;
}

/** The event written with a state change: the webhook body every receiver gets. */
export interface UploadEvent {
  readonly id: string;
  readonly type: UploadEventType;
  readonly payload: string;
}

export interface Outcome {
  readonly state: 'verified' | 'rejected' | 'expired';
  readonly reason: string | null;
  readonly event: UploadEvent;
  /** The webhook URLs to deliver the event to, each a pending delivery written with it. */
  readonly deliverTo: readonly string[];
  /** When the sweeper takes its last look (an upload settled while its grant can still be used), or null. */
  readonly nextLookAt: Date | null;
}

/** Thrown inside `create` when the quota check refuses: nothing is written. */
export class QuotaRefusal extends Error {
  constructor(
    readonly quota: keyof Quota,
    readonly detail: string,
    readonly resetsAt: Date,
  ) {
    super(detail);
    this.name = 'QuotaRefusal';
  }
}

/**
 * The upload records port. Writes that change a record's state are conditional
 * on the state read, so two replicas (or a client's confirmation racing an S3
 * event) never both act on one record.
 */
export interface UploadRecordStore {
  /**
   * Writes the record; with a quota, first counts the subject's usage under the source and lets `check` refuse
   * (by throwing), all under one lock per subject and source, so concurrent grants cannot share one remainder.
   */
  create(record: NewUploadRecord, quotaCheck?: { dayStart: Date; graceMs: number; check: (usage: QuotaUsage) => void }): Promise<void>;
  /** The newest record for a key, whoever holds it. */
  latestForKey(key: string): Promise<UploadRecord | undefined>;
  /** The newest record for a key granted at or before `instant`: the grant an object stored then came through. */
  grantedBy(key: string, instant: Date): Promise<UploadRecord | undefined>;
  /** For each key, its newest record that did not expire (an expired grant says nothing about what is there). */
  latestForKeys(keys: readonly string[]): Promise<Map<string, UploadRecord>>;
  byId(id: string): Promise<UploadRecord | undefined>;
  /** The record of a multipart upload, by S3's upload id. */
  byMultipartUpload(uploadId: string): Promise<UploadRecord | undefined>;
  /**
   * Moves a record from `from` to `uploaded`, noting what was found, and leases it until `leaseUntil`:
   * false when its state changed meanwhile or another verifier's lease is still running.
   */
  claim(id: string, from: UploadState, found: { size: number; etag: string }, now: Date, leaseUntil: Date): Promise<boolean>;
  /**
   * Ends a claimed (or, for `expired`, a granted) record and writes its event and deliveries in the same transaction;
   * with `etag`, only if the record's claim found that object (a verifier whose lease was taken over writes nothing).
   */
  finish(id: string, from: UploadState, outcome: Outcome, now: Date, etag?: string): Promise<boolean>;
  /** Ends a claim early (its verifier failed), so another path may claim the record at once. */
  release(id: string, etag: string, now: Date): Promise<void>;
  /** Records whose next look is due: what the sweeper settles, oldest due first. */
  due(now: Date, limit: number): Promise<UploadRecord[]>;
  /** Sets when the sweeper looks next (null: never): after a last look, or later after a failed one. */
  lookAgain(id: string, at: Date | null): Promise<void>;
  shutdown(): Promise<void>;
}
