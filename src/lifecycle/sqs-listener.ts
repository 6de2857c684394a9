import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { FastifyBaseLogger } from 'fastify';
import type { S3Config } from '../config/config.js';
import { parseS3EventMessage, type S3ObjectEvent } from './s3-events.js';

export interface S3EventListenerOptions {
  readonly queueUrl: string;
  /** Only this bucket's objects reach onObject. */
  readonly bucket: string;
  readonly client: SQSClient;
  /** Called once per created object a message reports; it must be idempotent (delivery is at least once). */
  readonly onObject: (event: S3ObjectEvent) => Promise<void>;
  readonly log: FastifyBaseLogger;
  /** Each ReceiveMessage's long poll, in seconds, 1 to 20 (default 20, the fewest empty receives). */
  readonly waitTimeSeconds?: number;
  /** How long a received message stays hidden before it is delivered again, in seconds; default: the queue's own. */
  readonly visibilityTimeoutSeconds?: number;
}

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;

/**
 * Long-polls the queue S3 notifies and hands each created object to onObject. A message is deleted only once every
 * object in it was handled; when a handler fails the message stays, and SQS delivers it again after its visibility
 * timeout (a queue with a redrive policy moves it aside after maxReceiveCount). Malformed messages are logged and
 * deleted: delivering them again would change nothing.
 */
export class S3EventListener {
  private abort: AbortController | undefined;
  private polling: Promise<void> | undefined;

  constructor(private readonly options: S3EventListenerOptions) {
    const { waitTimeSeconds = 20 } = options;
    if (!Number.isInteger(waitTimeSeconds) || waitTimeSeconds < 1 || waitTimeSeconds > 20) {
      throw new RangeError(`waitTimeSeconds must be an integer from 1 to 20 (got ${waitTimeSeconds})`);
    }
  }

  start(): void {
    if (this.polling) throw new Error('S3EventListener is already started');
    this.abort = new AbortController();
    this.polling = this.poll(this.abort.signal);
  }

  /**
   * Ends the long poll in flight at once, then waits for the handlers already running (and their deletes). SQS (and
   * LocalStack) may still complete the abandoned poll on its side: a message it takes then stays hidden for one
   * visibility timeout before another consumer gets it.
   */
  async stop(): Promise<void> {
    this.abort?.abort();
    await this.polling;
    this.polling = undefined;
  }

  private async poll(signal: AbortSignal): Promise<void> {
    const { client, queueUrl, waitTimeSeconds = 20, visibilityTimeoutSeconds, log } = this.options;
    log.info({ queue: queueUrl, bucket: this.options.bucket }, 'listening for S3 events');
    let failures = 0;
    while (!signal.aborted) {
      let messages: Message[];
      try {
        const received = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: waitTimeSeconds,
            ...(visibilityTimeoutSeconds === undefined ? {} : { VisibilityTimeout: visibilityTimeoutSeconds }),
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
          { abortSignal: signal },
        );
        messages = received.Messages ?? [];
        failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        failures += 1;
        const retryInMs = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (failures - 1));
        log.warn({ err: error, failures, retryInMs }, 'receiving S3 events failed; retrying');
        await sleep(retryInMs, undefined, { signal }).catch(() => undefined); // stop() cuts the wait short
        continue;
      }
      // Not under the signal: what was received is finished, so stop() leaves nothing half done.
      await this.handleBatch(messages);
    }
  }

  private async handleBatch(messages: readonly Message[]): Promise<void> {
    const handled = await Promise.all(messages.map(async (message) => ((await this.handle(message)) ? message : undefined)));
    const entries = handled.flatMap((message, index) =>
      message?.ReceiptHandle ? [{ Id: String(index), ReceiptHandle: message.ReceiptHandle }] : [],
    );
    if (entries.length === 0) return;
    const { client, queueUrl, log } = this.options;
    try {
      const { Failed = [] } = await client.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      for (const failure of Failed) {
        const messageId = messages[Number(failure.Id)]?.MessageId;
        log.warn({ messageId, code: failure.Code }, 'an S3 event message could not be deleted; it will be handled again');
      }
    } catch (error) {
      log.warn({ err: error, messages: entries.length }, 'S3 event messages could not be deleted; they will be handled again');
    }
  }

  /** True when the message may be deleted: every object in it handled, or nothing in it to handle. */
  private async handle(message: Message): Promise<boolean> {
    const { bucket, onObject, log } = this.options;
    const messageId = message.MessageId;
    const parsed = parseS3EventMessage(message.Body ?? '', bucket);
    if (parsed.kind === 'malformed') {
      log.warn({ messageId, reason: parsed.reason }, 'deleting a malformed message from the S3 event queue');
      return true;
    }
    for (const { rawKey, reason } of parsed.dropped) log.warn({ messageId, rawKey, reason }, 'S3 event for a key we never grant: dropped');
    if (parsed.ignored.length > 0) log.debug({ messageId, ignored: parsed.ignored }, 'S3 event records ignored');
    let complete = true;
    // One object after another, all of them: a failure leaves the message for redelivery, not the rest unhandled.
    for (const event of parsed.objects) {
      try {
        await onObject(event);
      } catch (error) {
        complete = false;
        log.warn(
          { err: error, messageId, key: event.key, eventName: event.eventName, receiveCount: message.Attributes?.ApproximateReceiveCount },
          'handling an S3 event failed; the message comes back after its visibility timeout',
        );
      }
    }
    return complete;
  }
}

/** The S3 client's region and credentials; the endpoint is SQS's own (AWS_ENDPOINT_URL_SQS), undefined on AWS. */
export type SqsAccess = Pick<S3Config, 'region' | 'credentials'> & { readonly endpoint: string | undefined };

const AWS_QUEUE_HOST = /^sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/u;

/**
 * An SQS client for `queueUrl`. On AWS, the queue's own region (a queue URL names it; signing for another fails);
 * elsewhere (LocalStack, ElasticMQ) the configured endpoint, else the queue URL's origin: the SDK would otherwise
 * switch to that origin by itself, warning on the console at every call.
 */
export function sqsClientFor(queueUrl: string, access: SqsAccess): SQSClient {
  const { hostname, origin } = new URL(queueUrl);
  const awsRegion = AWS_QUEUE_HOST.exec(hostname)?.[1];
  const endpoint = access.endpoint ?? (awsRegion ? undefined : origin);
  return new SQSClient({
    region: awsRegion ?? access.region,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(access.credentials ? { credentials: access.credentials } : {}),
  });
}
