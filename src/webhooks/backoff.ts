export interface BackoffOptions {
  /** The first retry waits up to this long; each later one up to twice the one before. */
  readonly baseMs: number;
  /** No retry waits longer than this. */
  readonly maxMs: number;
}

/**
 * How long to wait after failed attempt number `attempt` (1 for the first): exponential backoff with full jitter
 * (AWS's "Exponential Backoff And Jitter"), a whole number of milliseconds drawn from [0, min(maxMs, baseMs × 2^(attempt-1))).
 * Full jitter spreads the retries of many deliveries that failed together (a receiver's outage) instead of sending
 * them back in waves.
 */
export function retryDelayMs(attempt: number, { baseMs, maxMs }: BackoffOptions, random: () => number = Math.random): number {
  // 2 ** n is Infinity past n = 1023, and min() then caps it: no overflow however many attempts.
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
