import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { BrokerError } from '../errors/catalogue.js';
import { MAX_KEY_BYTES } from '../keys/object-key.js';
import { timeOrderedUuid } from '../store/time-ordered-uuid.js';
import { isUnavailable } from '../store/unavailable.js';
import type { S3Objects, StoredObject } from '../objects/s3-objects.js';
import type { Quota } from '../policy/schema.js';
import { quotaCheck, utcDayStart } from './quotas.js';
import type { Verdict } from './verify-content.js';
import {
  QuotaRefusal,
  type NewUploadRecord,
  type UploadEventType,
  type UploadRecord,
  type UploadRecordStore,
  type UploadState,
} from './upload-records.js';

export interface LifecycleConfig {
  /** How long after its grant ends an upload may still arrive (a large PUT started just in time) before it is called expired. */
  readonly graceSeconds: number;
  /** How often the sweeper looks for overdue uploads (0: never, another replica or a job does it). */
  readonly sweepIntervalMs: number;
  /** Where rejected objects are moved (`<prefix><upload id>/<key>`); unset, they are deleted. */
  readonly quarantinePrefix: string | undefined;
  /** Where events are delivered; none, they are still recorded. */
  readonly webhookUrls: readonly string[];
}

/** What triggered a settlement: logged, so an operator sees which path found each upload. */
export type SettledBy = 'client' | 's3-event' | 'sweeper' | 'multipart';

const TERMINAL: ReadonlySet<UploadState> = new Set(['verified', 'rejected', 'expired']);
/** How long one verifier holds a record; past it, the sweeper may take the record over (its verifier died). */
const VERIFY_LEASE_MS = 60_000;
const SWEEP_BATCH = 100;
/** How long the sweeper waits before looking again at an upload it could not settle. */
const RETRY_LOOK_MS = 5 * 60_000;
/** How far S3's clock (LastModified) may lag the broker's before an object counts as older than the grant. */
const CLOCK_SKEW_MS = 15_000;
/** The largest object one CopyObject moves. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;

/** The record as clients and receivers see it: in status answers and in every event's `data`. */
export interface UploadStatus {
  id: string;
  key: string;
  state: UploadState;
  reason?: string;
  contentType: string;
  maxBytes: number;
  size?: number;
  etag?: string;
  grantedAt: string;
  expiresAt: string;
  updatedAt: string;
}

export const statusOf = (record: UploadRecord): UploadStatus => ({
  id: record.id,
  key: record.key,
  state: record.state,
  ...(record.reason === null ? {} : { reason: record.reason }),
  contentType: record.contentType,
  maxBytes: record.maxBytes,
  ...(record.size === null ? {} : { size: record.size }),
  ...(record.etag === null ? {} : { etag: record.etag }),
  grantedAt: record.grantedAt.toISOString(),
  expiresAt: record.expiresAt.toISOString(),
  updatedAt: record.updatedAt.toISOString(),
});

/** An error from the AWS SDK (it carries the response's metadata), or its network failure. */
const isS3Error = (error: unknown): boolean =>
  error instanceof Error && ('$metadata' in error || ['TimeoutError', 'AbortError'].includes(error.name) || isUnavailable(error));

const EVENT_TYPE: Record<'verified' | 'rejected' | 'expired', UploadEventType> = {
  verified: 'upload.verified',
  rejected: 'upload.rejected',
  expired: 'upload.expired',
};

/**
 * Where an upload becomes a fact. Every upload grant leaves a record; the client's confirmation, an S3 event
 * and the sweeper all end in `settle`, which looks at the object itself (never at what the caller says), checks
 * it against the grant, removes what breaks it, and writes the outcome with its event in one transaction.
 * Whichever path comes first decides; the others find the record settled for the same object and change nothing.
 */
export class UploadLifecycle {
  private sweeping: Promise<unknown> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: {
      readonly records: UploadRecordStore;
      readonly objects: S3Objects;
      readonly config: LifecycleConfig;
      readonly log: FastifyBaseLogger;
      readonly now?: () => Date;
      /** Told each outcome written and each quota refusal: the metrics count them. */
      readonly onSettled?: (state: 'verified' | 'rejected' | 'expired', by: SettledBy) => void;
      readonly onQuotaRefused?: (quota: string) => void;
    },
  ) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Records a grant before it leaves the broker; with a quota, refuses the grant that would exceed it (nothing is written). */
  async granted(record: Omit<NewUploadRecord, 'id' | 'grantedAt' | 'nextLookAt'>, quota: Quota | undefined): Promise<string> {
    // To the millisecond (grants sign whole seconds): the newest grant for a key is the one that decides it.
    const now = this.now();
    // Time-ordered: the records' primary key index grows at its end instead of taking a write in a random page.
    const id = `upl_${timeOrderedUuid(now.getTime())}`;
    const check =
      quota === undefined
        ? undefined
        : {
            dayStart: utcDayStart(now),
            graceMs: this.deps.config.graceSeconds * 1000,
            check: quotaCheck(quota, record.source, record.maxBytes, now),
          };
    try {
      await this.deps.records.create({ ...record, id, grantedAt: now, nextLookAt: this.usableUntil(record) }, check);
    } catch (error) {
      if (!(error instanceof QuotaRefusal)) throw error;
      this.deps.onQuotaRefused?.(error.quota);
      const retryAfter = Math.max(1, Math.ceil((error.resetsAt.getTime() - now.getTime()) / 1000));
      throw new BrokerError('BROKER_QUOTA_EXCEEDED', `quota ${error.quota}: ${error.detail}`, {
        headers: { 'retry-after': String(retryAfter) },
      });
    }
    return id;
  }

  /** The caller's latest upload to a key; another subject's is not found, as if there were none. */
  async status(key: string, subject: string | undefined): Promise<UploadRecord> {
    const record = await this.deps.records.latestForKey(key);
    if (record === undefined || (subject !== undefined && record.subject !== subject)) {
      throw new BrokerError('BROKER_NOT_FOUND', 'no upload of yours to this key is recorded');
    }
    return record;
  }

  /** The client says the upload is done: the broker checks for itself, now. */
  async confirm(key: string, subject: string): Promise<UploadRecord> {
    const record = await this.status(key, subject);
    const settled = await this.settleRecord(record, 'client').catch((error: unknown) => {
      // S3 failing (or the object changing) mid-check: the record is free again, and the client may confirm again.
      throw isS3Error(error)
        ? new BrokerError('BROKER_STORAGE_UNAVAILABLE', 'S3 failed while the upload was being checked; confirm again shortly', {
            cause: error,
          })
        : error;
    });
    if (settled.state === 'granted') {
      throw new BrokerError('BROKER_UPLOAD_INCOMPLETE', 'nothing has arrived at this key yet; confirm once S3 has answered the upload');
    }
    return settled;
  }

  /** The newest records for keys, for download checks (requireVerified). */
  latestForKeys(keys: readonly string[]): Promise<Map<string, UploadRecord>> {
    return this.deps.records.latestForKeys(keys);
  }

  /** Something happened at a key (an S3 event): settle its newest record, if the broker granted it. */
  async settle(key: string, by: SettledBy): Promise<UploadRecord | undefined> {
    const record = await this.deps.records.latestForKey(key);
    return record === undefined ? undefined : this.settleRecord(record, by);
  }

  /**
   * Settles a completed multipart upload's own record and, when another path is verifying it at that moment (an S3
   * event racing the completion), waits for that outcome: the caller learns what became of the object.
   */
  async settleMultipart(uploadId: string, by: SettledBy, timeoutMs = 10_000): Promise<UploadRecord | undefined> {
    const found = await this.deps.records.byMultipartUpload(uploadId);
    let record = found === undefined ? undefined : await this.settleRecord(found, by, true);
    const deadline = Date.now() + timeoutMs;
    while (record?.state === 'uploaded' && Date.now() < deadline) {
      await sleep(100);
      record = await this.deps.records.byId(record.id);
    }
    return record;
  }

  /**
   * Settles one record against what is at its key. The object is judged by the grant it came through: the newest
   * grant for the key issued before S3 stored it (allowing for S3's clock). An object stored before this grant
   * belongs to an earlier one (a key granted again, a create-only PUT S3 refused), one stored after a later grant
   * to that one: that grant is settled instead, and for this record nothing arrived. `own`: the caller knows the
   * object is this record's (the multipart upload it just completed).
   */
  async settleRecord(record: UploadRecord, by: SettledBy, own = false): Promise<UploadRecord> {
    const { objects, records } = this.deps;
    const found = await objects.head(record.key);
    if (found === undefined) return this.nothingFound(record, by);
    if (!own && found.lastModified !== undefined) {
      const owner = await records.grantedBy(record.key, new Date(found.lastModified.getTime() + CLOCK_SKEW_MS));
      if (owner?.id !== record.id) {
        if (owner !== undefined) await this.settleRecord(owner, by, true);
        return this.nothingFound(record, by);
      }
    }
    // The same object as last time (a duplicate or late event, a second confirmation): nothing to do.
    if (TERMINAL.has(record.state) && found.etag === record.etag) return record;
    const now = this.now();
    if (!(await records.claim(record.id, record.state, found, now, new Date(now.getTime() + VERIFY_LEASE_MS)))) {
      const current = (await records.byId(record.id)) ?? record;
      // Another verifier holds it for another object: this one must be checked after it, so the trigger is kept
      // (an S3 event goes back to the queue; a client confirms again).
      if (current.state === 'uploaded' && current.etag !== found.etag) {
        throw new BrokerError('BROKER_UPLOAD_INCOMPLETE', 'another object at this key is being verified; confirm again shortly');
      }
      return current;
    }
    try {
      const verdict = await this.verify(record, found);
      if (!verdict.ok) await this.remove(record, found);
      const outcome = verdict.ok ? { state: 'verified' as const, reason: null } : { state: 'rejected' as const, reason: verdict.reason };
      return await this.finish(record, 'uploaded', outcome, by, found);
    } catch (error) {
      // Free the record at once, rather than when the lease ends, so the next confirmation or event tries again.
      await records.release(record.id, found.etag, this.now()).catch(() => undefined);
      throw error;
    }
  }

  private async nothingFound(record: UploadRecord, by: SettledBy): Promise<UploadRecord> {
    const now = this.now();
    const overdue = this.usableUntil(record) < now;
    // A granted upload with nothing at its key is only given up once its grant and the grace are over.
    if (record.state === 'granted' && overdue) {
      return this.finish(record, 'granted', { state: 'expired', reason: 'nothing arrived before the grant ended' }, by, undefined);
    }
    // A verifier that died (its lease is over: the claim says so), and the object gone meanwhile.
    if (record.state === 'uploaded') {
      const gone = { size: record.size ?? 0, etag: record.etag ?? '' };
      if (!(await this.deps.records.claim(record.id, 'uploaded', gone, now, new Date(now.getTime() + VERIFY_LEASE_MS)))) return record;
      return this.finish(
        record,
        'uploaded',
        { state: 'expired', reason: 'the object it found is gone, or came through a later grant' },
        by,
        gone,
      );
    }
    return record;
  }

  private async verify(record: UploadRecord, found: StoredObject): Promise<Verdict> {
    const grant = { contentType: record.contentType, maxBytes: record.maxBytes, exactSize: record.exactSize, checksum: record.checksum };
    // Loaded at the first verification: file-type and its readers (1.8 MB of heap in use at idle) stay out of brokers that
    // never verify an upload, and out of the grant path's memory.
    const { bytesToRead, verifyUpload } = await import('./verify-content.js');
    // The bytes of the object HEAD described, not of one put there since: S3 answers 412 to any other.
    const start = await this.deps.objects.readStart(record.key, bytesToRead(grant), found.etag);
    // Gone, or replaced, between HEAD and GET: nothing is judged (or removed); the claim is released and the next look
    // sees what is there then.
    if (start === undefined)
      throw new BrokerError('BROKER_UPLOAD_INCOMPLETE', 'the object changed while it was being checked; confirm again');
    return verifyUpload(grant, found, start);
  }

  /** Rejected bytes never stay where the grant put them: quarantined for inspection, or deleted. */
  private async remove(record: UploadRecord, found: StoredObject): Promise<void> {
    const { quarantinePrefix } = this.deps.config;
    const quarantined = quarantinePrefix === undefined ? undefined : `${quarantinePrefix}${record.id}/${record.key}`;
    // A key near S3's limit has no room for the prefix, and one CopyObject moves at most 5 GiB: deleted instead.
    if (quarantined !== undefined && Buffer.byteLength(quarantined) <= MAX_KEY_BYTES && found.size <= MAX_COPY_BYTES) {
      await this.deps.objects.move(record.key, quarantined, found.etag);
    } else {
      await this.deps.objects.delete(record.key, found.etag);
    }
  }

  private async finish(
    record: UploadRecord,
    from: UploadState,
    outcome: { state: 'verified' | 'rejected' | 'expired'; reason: string | null },
    by: SettledBy,
    found: Pick<StoredObject, 'size' | 'etag'> | undefined,
  ): Promise<UploadRecord> {
    const now = this.now();
    const settled: UploadRecord = {
      ...record,
      ...outcome,
      updatedAt: now,
      size: found?.size ?? record.size,
      etag: found?.etag ?? record.etag,
    };
    const type = EVENT_TYPE[outcome.state];
    const event = {
      id: `msg_${randomUUID()}`,
      type,
      payload: JSON.stringify({ type, timestamp: now.toISOString(), data: statusOf(settled) }),
    };
    // Only the verifier whose claim found this object may write its outcome.
    const written = await this.deps.records.finish(
      record.id,
      from,
      { ...outcome, event, deliverTo: this.deps.config.webhookUrls, nextLookAt: this.lastLook(record, outcome.state, now) },
      now,
      found?.etag,
    );
    if (!written) return (await this.deps.records.byId(record.id)) ?? record;
    this.deps.onSettled?.(outcome.state, by);
    this.deps.log.info({ upload: record.id, state: outcome.state, by, reason: outcome.reason ?? undefined }, 'upload settled');
    return settled;
  }

  /** Until when an upload may still arrive through this grant: its end plus the grace for uploads started in time. */
  private usableUntil(record: Pick<UploadRecord, 'expiresAt'>): Date {
    return new Date(record.expiresAt.getTime() + this.deps.config.graceSeconds * 1000);
  }

  /**
   * A settled upload whose grant can still be used gets one more look once it cannot: a second PUT with the same URL
   * (or POST form) would otherwise go unseen without S3 events.
   */
  private lastLook(record: UploadRecord, state: 'verified' | 'rejected' | 'expired', now: Date): Date | null {
    const usableUntil = this.usableUntil(record);
    return state !== 'expired' && usableUntil > now ? usableUntil : null;
  }

  /** One pass over the uploads due a look: each is settled as any other path would, or expired if nothing came. */
  async sweep(): Promise<number> {
    const now = this.now();
    const due = await this.deps.records.due(now, SWEEP_BATCH);
    let settled = 0;
    for (const record of due) {
      try {
        const after = await this.settleRecord(record, 'sweeper');
        // Settled, or the last look taken: not due again (unless a verifier claimed it, which sets its own time).
        if (TERMINAL.has(after.state) && after.updatedAt.getTime() === record.updatedAt.getTime()) {
          await this.deps.records.lookAgain(record.id, null);
        }
        settled += 1;
      } catch (error) {
        // Later, not next pass: a record that fails every time must not hold the batch from the others.
        await this.deps.records.lookAgain(record.id, new Date(now.getTime() + RETRY_LOOK_MS)).catch(() => undefined);
        this.deps.log.warn({ err: error, upload: record.id }, 'the sweeper could not settle an upload; it will try again');
      }
    }
    return settled;
  }

  /** Sweeps every interval, one pass at a time. */
  start(): void {
    const { sweepIntervalMs } = this.deps.config;
    if (sweepIntervalMs <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep()
        .catch((error: unknown) => this.deps.log.warn({ err: error }, 'the upload sweeper failed; it will try again'))
        .finally(() => {
          this.sweeping = undefined;
        });
    }, sweepIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }
}
