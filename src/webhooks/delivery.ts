import type { FastifyBaseLogger } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { retryDelayMs } from './backoff.js';
import type { AttemptOutcome, ClaimedDelivery, OutboxStore } from './outbox-queries.js';

export interface WebhookConfig {
  /** Every event goes to each of these, as a delivery of its own. */
  readonly urls: readonly string[];
  /** `whsec_` + base64 (validateWebhookSecret). */
  readonly secret: string;
  /** After this many failed attempts a delivery is failed, until replayed. */
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** For the whole exchange: connecting, the answer, and the start of its body. */
  readonly timeoutMs: number;
  readonly pollMs: number;
}

export interface WebhookDispatcherOptions {
  readonly store: OutboxStore;
  readonly config: WebhookConfig;
  readonly log: FastifyBaseLogger;
  readonly now?: (() => Date) | undefined;
  /** Told each recorded attempt's outcome: the metrics count them. */
  readonly onAttempt?: ((outcome: AttemptOutcome['state']) => void) | undefined;
}

const SECRET_PREFIX = 'whsec_';
const MIN_SECRET_BYTES = 24;
/** Deliveries claimed per round, and sent at most this many at a time: a few slow receivers do not hold up the rest. */
const CLAIM_BATCH = 16;
const CONCURRENCY = 4;
/** Beyond the sends themselves, for recording them: a lease that ran out would let another replica send again. */
const LEASE_MARGIN_MS = 30_000;
/** The longest error text kept (and logged): enough to tell a receiver's complaint, not its whole page. */
const MAX_ERROR_LENGTH = 200;

/** Why this secret cannot sign webhooks, or undefined. Never includes the secret. */
export function validateWebhookSecret(secret: string): string | undefined {
  if (!secret.startsWith(SECRET_PREFIX)) return `must start with "${SECRET_PREFIX}" (the Standard Webhooks secret format)`;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]*={0,2}$/u.test(encoded) || encoded.length % 4 !== 0)
    return `must be "${SECRET_PREFIX}" followed by base64 (the standard alphabet, padded)`;
  const bytes = Buffer.from(encoded, 'base64').length;
  if (bytes < MIN_SECRET_BYTES)
    return `holds ${bytes} bytes after "${SECRET_PREFIX}"; at least ${MIN_SECRET_BYTES} random bytes are needed`;
  return undefined;
}

/** The `webhook-signature` header's value (`v1,<base64>`) for this message, as a receiver's library computes it. */
export function signWebhook(secret: string, id: string, timestamp: Date, payload: string): string {
  return new Webhook(secret).sign(id, timestamp, payload);
}

/** A receiver's address without query string or credentials, which may carry a token: what logs, errors and admins see. */
export function receiverAddress(url: string): string {
  const parsed = URL.parse(url);
  return parsed === null ? '(not a URL)' : `${parsed.origin}${parsed.pathname}`;
}

const short = (text: string): string =>
  text
    .replace(/[\s\p{Cc}]+/gu, ' ')
    .trim()
    .slice(0, MAX_ERROR_LENGTH);

/** The start of a refusal's body, for the admin; what does not arrive in time is left out. */
async function bodyStart(response: Response, signature: string): Promise<string> {
  if (response.body === null) return '';
  // DOM typings leave the chunks untyped; fetch's are bytes.
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < 4 * MAX_ERROR_LENGTH) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // Timed out or cut off: what came is enough.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  // A receiver that echoes the request's headers back must not put the signature into the logs; reading well past
  // what is kept means a signature reaching into the kept part is read whole, and masked.
  return text.replaceAll(signature.slice(signature.indexOf(',') + 1), '[signature]');
}

/**
 * Why no answer came, briefly: the error's cause (ECONNREFUSED, a reset, an invalid URL) rather than undici's "fetch
 * failed" or "Failed to parse URL from <the whole URL>", which may hold a token.
 */
function failureOf(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (!(error instanceof Error)) return 'the request failed';
  const { cause } = error;
  if (!(cause instanceof Error)) return error.message;
  // A refusal on every address of a name comes as an AggregateError: a code, and no message.
  const { code } = cause as NodeJS.ErrnoException;
  if (code === undefined || cause.message.includes(code)) return cause.message || error.message;
  return cause.message === '' ? code : `${code}: ${cause.message}`;
}

interface Sent {
  readonly at: Date;
  readonly status: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

/**
 * Sends the outbox's deliveries: claims the due ones, POSTs each event's stored payload signed as Standard Webhooks
 * require, and records every attempt. A 2xx delivers; anything else is retried with backoff until maxAttempts, then
 * the delivery is failed until an admin replays it. Delivery is at least once: receivers deduplicate by webhook-id.
 */
export class WebhookDispatcher {
  private readonly store: OutboxStore;
  private readonly config: WebhookConfig;
  private readonly log: FastifyBaseLogger;
  private readonly now: () => Date;
  private readonly onAttempt: (outcome: AttemptOutcome['state']) => void;
  private readonly signer: Webhook;
  private readonly running = new Set<Promise<number>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor({ store, config, log, now = () => new Date(), onAttempt = () => undefined }: WebhookDispatcherOptions) {
    const problem = validateWebhookSecret(config.secret);
    if (problem !== undefined) throw new Error(`the webhook secret ${problem}`);
    this.store = store;
    this.config = config;
    this.log = log;
    this.now = now;
    this.onAttempt = onAttempt;
    this.signer = new Webhook(config.secret);
  }

  /** Polls every pollMs; a round starts only when the one before has ended. The timer does not keep the process alive. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** No more rounds; resolves when the sends under way are recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.running]);
  }

  /** One round: claims the due deliveries and sends them, a few at a time. Returns how many it claimed. */
  runOnce(): Promise<number> {
    const round = this.round();
    this.running.add(round);
    const done = (): void => void this.running.delete(round);
    round.then(done, done);
    return round;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    let claimed = 0;
    try {
      claimed = await this.runOnce();
    } catch (error) {
      this.log.error({ err: error }, 'webhook deliveries could not be claimed; trying again at the next poll');
    }
    // A full batch means more may be due: go on at once rather than a poll later.
    if (!this.stopped && this.timer === undefined) this.schedule(claimed >= CLAIM_BATCH ? 0 : this.config.pollMs);
  }

  private async round(): Promise<number> {
    const now = this.now();
    // Each worker sends its share one after another, each within timeoutMs.
    const sendsPerWorker = Math.ceil(CLAIM_BATCH / CONCURRENCY);
    const leaseUntil = new Date(now.getTime() + sendsPerWorker * this.config.timeoutMs + LEASE_MARGIN_MS);
    const queue = await this.store.claimDue(now, leaseUntil, CLAIM_BATCH);
    const count = queue.length;
    const worker = async (): Promise<void> => {
      for (let delivery = queue.shift(); delivery !== undefined; delivery = queue.shift()) await this.deliver(delivery);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
    return count;
  }

  private async deliver(delivery: ClaimedDelivery): Promise<void> {
    const attempt = delivery.attempts + 1;
    const context = { eventId: delivery.event.id, eventType: delivery.event.type, url: receiverAddress(delivery.url), attempt };
    try {
      const sent = await this.send(delivery);
      const outcome: AttemptOutcome =
        sent.error === null
          ? { state: 'delivered' }
          : attempt >= this.config.maxAttempts
            ? { state: 'failed' }
            : {
                state: 'pending',
                nextAttemptAt: new Date(
                  this.now().getTime() + retryDelayMs(attempt, { baseMs: this.config.retryBaseMs, maxMs: this.config.retryMaxMs }),
                ),
              };
      const recorded = await this.store.recordAttempt(
        { eventId: delivery.event.id, url: delivery.url, attempt, ...sent },
        outcome,
        this.now(),
      );
      const details = { ...context, status: sent.status, error: sent.error, durationMs: sent.durationMs };
      if (recorded) this.onAttempt(outcome.state);
      if (!recorded) this.log.warn(details, 'webhook attempt not recorded: the delivery changed while it was sent (its lease ran out)');
      else if (outcome.state === 'delivered') this.log.info(details, 'webhook delivered');
      else if (outcome.state === 'pending')
        this.log.info({ ...details, nextAttemptAt: outcome.nextAttemptAt }, 'webhook attempt failed; will retry');
      else this.log.warn(details, `webhook delivery failed after ${attempt} attempts; replay it once the receiver is fixed`);
    } catch (error) {
      // The claim's lease runs out and the delivery is tried again: at least once, never lost.
      this.log.error({ ...context, err: error }, 'webhook attempt could not be recorded; it will be tried again');
    }
  }

  private async send({ event, url }: ClaimedDelivery): Promise<Sent> {
    const at = this.now();
    const signature = this.signer.sign(event.id, at, event.payload);
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    try {
      const response = await fetch(url, {
        method: 'POST',
        body: event.payload,
        headers: {
          'content-type': 'application/json',
          'webhook-id': event.id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signature,
        },
        // A redirect is the receiver's misconfiguration: following it would send the signed event somewhere else.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      const { status } = response;
      if (status >= 200 && status < 300) {
        await response.body?.cancel().catch(() => undefined);
        return { at, status, error: null, durationMs: elapsed() };
      }
      const body = await bodyStart(response, signature);
      const error = status >= 300 && status < 400 ? `HTTP ${status}: redirects are not followed` : `HTTP ${status}: ${body}`;
      return { at, status, error: short(error), durationMs: elapsed() };
    } catch (error) {
      return { at, status: null, error: short(failureOf(error, this.config.timeoutMs)), durationMs: elapsed() };
    }
  }
}
