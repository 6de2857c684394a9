import { checkObjectKey } from '../keys/object-key.js';

/**
 * Reading S3 event notifications off an SQS message body. What they say is only a trigger: whoever acts on an event
 * looks at the object itself, so nothing here is trusted beyond "this key may have changed".
 */

/** An object created in our bucket, as one record reported it. */
export interface S3ObjectEvent {
  /** The object key, decoded and accepted by checkObjectKey. */
  readonly key: string;
  /** S3's name for what happened: `ObjectCreated:Put`, `:Post`, `:Copy` or `:CompleteMultipartUpload`. */
  readonly eventName: string;
  readonly eTag?: string;
  readonly size?: number;
  /** Orders events for one key (hexadecimal, compared after padding to the same length). */
  readonly sequencer?: string;
}

/** A record for our bucket that names no key we could have granted, or none at all: dropped, the reason logged. */
export interface DroppedRecord {
  /** The key as the message gave it (still URL-encoded in S3's own format), when it gave one. */
  readonly rawKey?: string;
  readonly reason: string;
}

export type ParsedMessage =
  | { readonly kind: 'malformed'; readonly reason: string }
  | {
      readonly kind: 'events';
      readonly objects: readonly S3ObjectEvent[];
      readonly dropped: readonly DroppedRecord[];
      /**
       * What was left alone, and why: the TestEvent S3 sends when a notification is configured, other buckets,
       * and events that are not a creation (ObjectRemoved:*, restores, tagging): a removal needs no trigger, since
       * whoever settles an upload finds the object gone when it looks.
       */
      readonly ignored: readonly string[];
    };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
function stringAt(value: unknown, name: string): string | undefined {
  const field = isObject(value) ? value[name] : undefined;
  return typeof field === 'string' ? field : undefined;
}
function objectAt(value: unknown, name: string): Json | undefined {
  const field = isObject(value) ? value[name] : undefined;
  return isObject(field) ? field : undefined;
}

/** S3 encodes keys in notifications as a form value: `+` for a space, `%2B` for a plus, UTF-8 percent-escapes. */
function decodeS3Key(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/** Only what the settle logic may use as a hint; a field of the wrong type is left out rather than trusted. */
function details(object: Json, eTagField: string): Pick<S3ObjectEvent, 'eTag' | 'size' | 'sequencer'> {
  const eTag = stringAt(object, eTagField);
  const size = object.size;
  const sequencer = stringAt(object, 'sequencer');
  return {
    ...(eTag ? { eTag } : {}),
    ...(typeof size === 'number' && Number.isSafeInteger(size) && size >= 0 ? { size } : {}),
    ...(sequencer ? { sequencer } : {}),
  };
}

class Collected {
  readonly objects: S3ObjectEvent[] = [];
  readonly dropped: DroppedRecord[] = [];
  readonly ignored: string[] = [];

  add(rawKey: string, key: string | undefined, event: Omit<S3ObjectEvent, 'key'>): void {
    if (key === undefined) {
      this.dropped.push({ rawKey, reason: 'key is not valid percent-encoded UTF-8' });
      return;
    }
    const check = checkObjectKey(key);
    if (check.ok) this.objects.push({ key, ...event });
    else this.dropped.push({ rawKey, reason: check.reason });
  }

  result(): ParsedMessage {
    return { kind: 'events', objects: this.objects, dropped: this.dropped, ignored: this.ignored };
  }
}

/** S3's own format (event version 2.x): every record, straight from S3 or after SNS. */
function s3Records(records: unknown[], bucket: string): ParsedMessage {
  const collected = new Collected();
  for (const [index, record] of records.entries()) {
    const at = `Records[${index}]`;
    const source = stringAt(record, 'eventSource');
    if (source !== 'aws:s3') {
      collected.ignored.push(`${at}: event source ${source ?? '(none)'} is not aws:s3`);
      continue;
    }
    const s3 = objectAt(record, 's3');
    const object = objectAt(s3, 'object');
    const rawKey = stringAt(object, 'key');
    const bucketName = stringAt(objectAt(s3, 'bucket'), 'name');
    const eventName = stringAt(record, 'eventName');
    // One broken record does not cost the others in the message their trigger.
    if (!object || rawKey === undefined || bucketName === undefined || eventName === undefined) {
      collected.dropped.push({
        ...(rawKey === undefined ? {} : { rawKey }),
        reason: `${at} has no eventName, s3.bucket.name or s3.object.key`,
      });
    } else if (bucketName !== bucket) collected.ignored.push(`${at}: bucket ${bucketName} is not ours`);
    else if (!eventName.startsWith('ObjectCreated:')) collected.ignored.push(`${at}: ${eventName} is not a creation`);
    else collected.add(rawKey, decodeS3Key(rawKey), { eventName, ...details(object, 'eTag') });
  }
  return collected.result();
}

/** EventBridge's `reason` for an Object Created event, as S3's own eventName. */
const EVENTBRIDGE_REASONS: Readonly<Record<string, string>> = {
  PutObject: 'ObjectCreated:Put',
  'POST Object': 'ObjectCreated:Post',
  CopyObject: 'ObjectCreated:Copy',
  CompleteMultipartUpload: 'ObjectCreated:CompleteMultipartUpload',
};

/** An S3 event through EventBridge: one object per event, its key not URL-encoded. */
function eventBridgeEvent(event: Json, bucket: string): ParsedMessage {
  const collected = new Collected();
  const detailType = stringAt(event, 'detail-type');
  const detail = objectAt(event, 'detail');
  const object = objectAt(detail, 'object');
  const key = stringAt(object, 'key');
  const bucketName = stringAt(objectAt(detail, 'bucket'), 'name');
  if (!object || key === undefined || bucketName === undefined) {
    return { kind: 'malformed', reason: 'EventBridge event has no detail.bucket.name or detail.object.key' };
  }
  if (bucketName !== bucket) collected.ignored.push(`bucket ${bucketName} is not ours`);
  else if (detailType !== 'Object Created') collected.ignored.push(`EventBridge ${detailType ?? '(no detail-type)'} is not a creation`);
  else {
    const reason = stringAt(detail, 'reason') ?? '';
    collected.add(key, key, { eventName: EVENTBRIDGE_REASONS[reason] ?? 'ObjectCreated', ...details(object, 'etag') });
  }
  return collected.result();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function parseValue(message: unknown, bucket: string, wrapped: boolean): ParsedMessage {
  if (!isObject(message)) return { kind: 'malformed', reason: 'not a JSON object' };
  if (message.Event === 's3:TestEvent') return { kind: 'events', objects: [], dropped: [], ignored: ['s3:TestEvent'] };
  if ('Records' in message) {
    if (!Array.isArray(message.Records)) return { kind: 'malformed', reason: 'Records is not an array' };
    return s3Records(message.Records, bucket);
  }
  if (stringAt(message, 'source') === 'aws.s3' && 'detail-type' in message) return eventBridgeEvent(message, bucket);
  // SNS without raw message delivery: S3's (or EventBridge's) JSON, as a string, in Message. Only one level.
  const inner = stringAt(message, 'Message');
  if (!wrapped && message.Type === 'Notification' && inner !== undefined) {
    const parsed = parseValue(parseJson(inner), bucket, true);
    return parsed.kind === 'malformed' ? { kind: 'malformed', reason: `SNS Message: ${parsed.reason}` } : parsed;
  }
  return { kind: 'malformed', reason: 'neither an S3 event (Records, s3:TestEvent) nor an SNS or EventBridge envelope' };
}

/**
 * The objects created in `bucket` that an SQS message body reports: S3's event notification JSON, as S3 sends it,
 * wrapped by SNS, or as EventBridge delivers it. Keys are decoded and checked as a grant's key would be; a record
 * whose key fails is dropped with the reason. A body that is none of these is `malformed` (the reason never quotes
 * the body).
 */
export function parseS3EventMessage(body: string, bucket: string): ParsedMessage {
  const message = parseJson(body);
  if (message === undefined) return { kind: 'malformed', reason: 'body is not JSON' };
  return parseValue(message, bucket, false);
}
