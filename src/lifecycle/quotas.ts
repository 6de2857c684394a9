import type { Source } from '../policy/permits.js';
import type { Quota } from '../policy/schema.js';
import { QuotaRefusal, type QuotaUsage } from './upload-records.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The start of the UTC day holding `now`: daily quotas count from it, and reset a day later. */
export const utcDayStart = (now: Date): Date => new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);

/**
 * The check a grant of `bytes` must pass against a rule's quota, given what the subject already holds under it.
 * It throws the first quota the grant would exceed, with when it resets; a grant that fits passes silently.
 */
export function quotaCheck(quota: Quota, source: Source, bytes: number, now: Date): (usage: QuotaUsage) => void {
  const tomorrow = new Date(utcDayStart(now).getTime() + DAY_MS);
  const of = `${source.kind} "${source.id}"`;
  return (usage) => {
    if (quota.concurrentUploads !== undefined && usage.inFlight + 1 > quota.concurrentUploads) {
      // An upload past its grace but still being verified has no end to promise: a second from now, then ask again.
      const resetsAt = new Date(Math.max(usage.firstInFlightEndsAt?.getTime() ?? 0, now.getTime() + 1000));
      throw new QuotaRefusal(
        'concurrentUploads',
        `${of} allows ${quota.concurrentUploads} unfinished uploads at once and ${usage.inFlight} are in flight; ` +
          `one frees up when it is verified, rejected or expired, at the latest ${resetsAt.toISOString()}`,
        resetsAt,
      );
    }
    if (quota.objectsPerDay !== undefined && usage.objectsToday + 1 > quota.objectsPerDay) {
      throw new QuotaRefusal(
        'objectsPerDay',
        `${of} allows ${quota.objectsPerDay} uploads a day and ${usage.objectsToday} were granted today; it resets at ${tomorrow.toISOString()}`,
        tomorrow,
      );
    }
    if (quota.bytesPerDay !== undefined && usage.bytesToday + bytes > quota.bytesPerDay) {
      throw new QuotaRefusal(
        'bytesPerDay',
        `${of} allows ${quota.bytesPerDay} bytes a day; ${usage.bytesToday} are verified or in flight today and this upload asks for ${bytes}; ` +
          `it resets at ${tomorrow.toISOString()}`,
        tomorrow,
      );
    }
  };
}
