import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseS3EventMessage, type ParsedMessage } from '../../../src/lifecycle/s3-events.js';

const BUCKET = 'amzn-s3-demo-bucket';

/** One record as S3 sends it (event version 2.1, "Event message structure" in the S3 user guide). */
function s3Record(key: string, options: { eventName?: string; bucket?: string; object?: Record<string, unknown> } = {}) {
  const bucket = options.bucket ?? BUCKET;
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-west-2',
    eventTime: '1970-01-01T00:00:00.000Z',
    eventName: options.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: 'AIDAJDPLRKLG7UEXAMPLE' },
    requestParameters: { sourceIPAddress: '172.16.0.1' },
    responseElements: {
      'x-amz-request-id': 'C3D13FE58DE4C810',
      'x-amz-id-2': 'EXAMPLE-amz-id-2',
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'testConfigRule',
      bucket: { name: bucket, ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: `arn:aws:s3:::${bucket}` },
      object: options.object ?? {
        key,
        size: 1024,
        eTag: 'd41d8cd98f00b204e9800998ecf8427e',
        versionId: '096fKKXTRTtl3on89fVO.nfljtsv6qko',
        sequencer: '0055AED6DCD90281E5',
      },
    },
  };
}

const s3Message = (...records: unknown[]): string => JSON.stringify({ Records: records });

/** What SNS delivers to an SQS subscriber without raw message delivery. */
const snsWrapped = (message: string): string =>
  JSON.stringify({
    Type: 'Notification',
    MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
    TopicArn: 'arn:aws:sns:us-west-2:123456789012:s3-events',
    Subject: 'Amazon S3 Notification',
    Message: message,
    Timestamp: '2021-11-12T00:00:00.000Z',
    SignatureVersion: '1',
    Signature: 'EXAMPLE-sqs-receipt-handle',
    SigningCertURL: 'https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
    UnsubscribeURL:
      'https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:s3-events:c9135db0',
  });

/** An S3 event as EventBridge delivers it to an SQS target ("Amazon EventBridge event message structure"). */
function eventBridge(key: string, options: { detailType?: string; bucket?: string; reason?: string } = {}): string {
  const bucket = options.bucket ?? BUCKET;
  return JSON.stringify({
    version: '0',
    id: '17793124-05d4-b198-2fde-7ededc63b103',
    'detail-type': options.detailType ?? 'Object Created',
    source: 'aws.s3',
    account: '111122223333',
    time: '2021-11-12T00:00:00Z',
    region: 'ca-central-1',
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: {
        key,
        size: 5,
        etag: 'b1946ac92492d2347c6235b4d2611184',
        'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
        sequencer: '00617F08299329D189',
      },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '123456789012',
      'source-ip-address': '1.2.3.4',
      reason: options.reason ?? 'PutObject',
    },
  });
}

/** The message S3 sends to a destination when a notification is configured. */
const TEST_EVENT = JSON.stringify({
  Service: 'Amazon S3',
  Event: 's3:TestEvent',
  Time: '2014-10-13T15:57:02.089Z',
  Bucket: BUCKET,
  RequestId: '5582815E1AEA5ADF',
  HostId: 'EXAMPLE-host-id',
});

function events(parsed: ParsedMessage): Extract<ParsedMessage, { kind: 'events' }> {
  assert.equal(parsed.kind, 'events', JSON.stringify(parsed));
  return parsed;
}
const keysOf = (body: string): string[] => events(parseS3EventMessage(body, BUCKET)).objects.map(({ key }) => key);

describe('parseS3EventMessage: S3 event notifications', () => {
  test("the documentation's example: key, event name, ETag, size and sequencer", () => {
    const parsed = events(parseS3EventMessage(s3Message(s3Record('HappyFace.jpg')), BUCKET));
    assert.deepEqual(parsed.objects, [
      {
        key: 'HappyFace.jpg',
        eventName: 'ObjectCreated:Put',
        eTag: 'd41d8cd98f00b204e9800998ecf8427e',
        size: 1024,
        sequencer: '0055AED6DCD90281E5',
      },
    ]);
    assert.deepEqual(parsed.dropped, []);
    assert.deepEqual(parsed.ignored, []);
  });

  test('event version 2.2 reads the same', () => {
    const record = { ...s3Record('uploads/2.2.txt'), eventVersion: '2.2' };
    assert.deepEqual(keysOf(s3Message(record)), ['uploads/2.2.txt']);
  });

  test('keys are decoded as S3 encodes them: + is a space, %2B a plus, %25 a percent sign', () => {
    assert.deepEqual(keysOf(s3Message(s3Record('uploads/red+flower.jpg'))), ['uploads/red flower.jpg']);
    assert.deepEqual(keysOf(s3Message(s3Record('uploads/c%2B%2B+notes%2Bv2.txt'))), ['uploads/c++ notes+v2.txt']);
    assert.deepEqual(keysOf(s3Message(s3Record('uploads/100%25+done.txt'))), ['uploads/100% done.txt']);
    assert.deepEqual(keysOf(s3Message(s3Record('uploads/%252B.txt'))), ['uploads/%2B.txt'], 'decoded once, not twice');
    assert.deepEqual(keysOf(s3Message(s3Record('uploads/10%3A47%3A07.log'))), ['uploads/10:47:07.log']);
  });

  test('LocalStack spells a space %20; it decodes the same', () => {
    assert.deepEqual(keysOf(s3Message(s3Record('uploads/a%20b.txt'))), ['uploads/a b.txt']);
  });

  test('unicode keys: percent-escaped UTF-8', () => {
    assert.deepEqual(keysOf(s3Message(s3Record('uploads/caf%C3%A9.txt'))), ['uploads/café.txt']);
    assert.deepEqual(keysOf(s3Message(s3Record('uploads/%E6%97%A5%E6%9C%AC/%F0%9F%93%B7+1.jpg'))), ['uploads/日本/📷 1.jpg']);
  });

  test('every way of creating an object is reported, with its event name', () => {
    const names = ['ObjectCreated:Put', 'ObjectCreated:Post', 'ObjectCreated:Copy', 'ObjectCreated:CompleteMultipartUpload'];
    const parsed = events(parseS3EventMessage(s3Message(...names.map((eventName, i) => s3Record(`k/${i}`, { eventName }))), BUCKET));
    assert.deepEqual(
      parsed.objects.map(({ key, eventName }) => [key, eventName]),
      names.map((eventName, i) => [`k/${i}`, eventName]),
    );
  });

  test('several records in one message: all of them, in order', () => {
    assert.deepEqual(keysOf(s3Message(s3Record('a/1'), s3Record('a/2'), s3Record('a/3'))), ['a/1', 'a/2', 'a/3']);
  });

  test("another bucket's records are ignored; ours in the same message are kept", () => {
    const parsed = events(parseS3EventMessage(s3Message(s3Record('theirs', { bucket: 'someone-else' }), s3Record('ours')), BUCKET));
    assert.deepEqual(
      parsed.objects.map(({ key }) => key),
      ['ours'],
    );
    assert.deepEqual(parsed.ignored, ['Records[0]: bucket someone-else is not ours']);
  });

  test('ObjectRemoved and other events that create nothing are ignored', () => {
    const removed = { key: 'gone.txt', sequencer: '0055AED6DCD90281E5' };
    const parsed = events(
      parseS3EventMessage(
        s3Message(
          s3Record('gone.txt', { eventName: 'ObjectRemoved:Delete', object: removed }),
          s3Record('gone.txt', { eventName: 'ObjectRemoved:DeleteMarkerCreated', object: removed }),
          s3Record('tagged.txt', { eventName: 'ObjectTagging:Put' }),
        ),
        BUCKET,
      ),
    );
    assert.deepEqual(parsed.objects, []);
    assert.deepEqual(parsed.ignored, [
      'Records[0]: ObjectRemoved:Delete is not a creation',
      'Records[1]: ObjectRemoved:DeleteMarkerCreated is not a creation',
      'Records[2]: ObjectTagging:Put is not a creation',
    ]);
  });

  test('records from another event source are ignored', () => {
    const parsed = events(parseS3EventMessage(s3Message({ ...s3Record('x'), eventSource: 'aws:s3:replica' }), BUCKET));
    assert.deepEqual(parsed.objects, []);
    assert.deepEqual(parsed.ignored, ['Records[0]: event source aws:s3:replica is not aws:s3']);
  });

  test('the s3:TestEvent sent when a notification is configured is ignored', () => {
    assert.deepEqual(parseS3EventMessage(TEST_EVENT, BUCKET), { kind: 'events', objects: [], dropped: [], ignored: ['s3:TestEvent'] });
  });

  test('fields of the wrong type are left out; the key still counts', () => {
    const object = { key: 'uploads/odd.txt', size: 'object-size in bytes', eTag: 42 };
    assert.deepEqual(events(parseS3EventMessage(s3Message(s3Record('', { object })), BUCKET)).objects, [
      { key: 'uploads/odd.txt', eventName: 'ObjectCreated:Put' },
    ]);
  });
});

describe('parseS3EventMessage: keys the broker never grants are dropped, with the reason', () => {
  const dropped = (rawKey: string) => {
    const parsed = events(parseS3EventMessage(s3Message(s3Record(rawKey), s3Record('uploads/fine.txt')), BUCKET));
    assert.deepEqual(
      parsed.objects.map(({ key }) => key),
      ['uploads/fine.txt'],
      'the other record of the message is kept',
    );
    assert.equal(parsed.dropped.length, 1);
    assert.equal(parsed.dropped[0]?.rawKey, rawKey);
    return parsed.dropped[0]?.reason ?? '';
  };

  test('an empty segment, a ".." segment, a leading slash', () => {
    assert.match(dropped('uploads%2F%2Fx.txt'), /empty segment/u);
    assert.match(dropped('uploads/../etc/passwd'), /"\.\." segment/u);
    assert.match(dropped('%2Fuploads/x.txt'), /must not start with "\/"/u);
  });

  test('control, invisible and look-alike characters', () => {
    assert.match(dropped('uploads/a%00b'), /control character/u);
    assert.match(dropped('uploads/evil%E2%80%AEtxt.exe'), /U\+202E/u);
    assert.match(dropped('uploads/zero%E2%80%8Bwidth'), /U\+200B/u);
  });

  test('percent-escapes that are not UTF-8, or not escapes at all', () => {
    assert.match(dropped('uploads/%E9t%E9.txt'), /not valid percent-encoded UTF-8/u);
    assert.match(dropped('uploads/50%.txt'), /not valid percent-encoded UTF-8/u);
  });

  test('a key over 1024 bytes once decoded', () => {
    assert.match(dropped(`uploads/${'%C3%A9'.repeat(600)}`), /1208 bytes; the limit is 1024/u);
  });

  test('a record with no key at all', () => {
    const parsed = events(parseS3EventMessage(s3Message(s3Record('', { object: { size: 1 } }), s3Record('kept')), BUCKET));
    assert.deepEqual(
      parsed.objects.map(({ key }) => key),
      ['kept'],
    );
    assert.deepEqual(parsed.dropped, [{ reason: 'Records[0] has no eventName, s3.bucket.name or s3.object.key' }]);
  });
});

describe('parseS3EventMessage: through SNS and EventBridge', () => {
  test('wrapped by SNS: the same records', () => {
    const body = s3Message(s3Record('uploads/a+b%2B.txt'), s3Record('x', { bucket: 'other' }));
    assert.deepEqual(parseS3EventMessage(snsWrapped(body), BUCKET), parseS3EventMessage(body, BUCKET));
    assert.deepEqual(keysOf(snsWrapped(body)), ['uploads/a b+.txt']);
  });

  test("wrapped by SNS: S3's TestEvent is ignored too", () => {
    assert.deepEqual(events(parseS3EventMessage(snsWrapped(TEST_EVENT), BUCKET)).ignored, ['s3:TestEvent']);
  });

  test('wrapped by SNS around something else: malformed', () => {
    assert.deepEqual(parseS3EventMessage(snsWrapped('not json'), BUCKET), { kind: 'malformed', reason: 'SNS Message: not a JSON object' });
    assert.equal(parseS3EventMessage(snsWrapped(snsWrapped(TEST_EVENT)), BUCKET).kind, 'malformed', 'one level of SNS only');
  });

  test('EventBridge: Object Created, its key taken as it is (not URL-encoded there)', () => {
    assert.deepEqual(events(parseS3EventMessage(eventBridge('uploads/a+b %2B é.txt'), BUCKET)).objects, [
      {
        key: 'uploads/a+b %2B é.txt',
        eventName: 'ObjectCreated:Put',
        eTag: 'b1946ac92492d2347c6235b4d2611184',
        size: 5,
        sequencer: '00617F08299329D189',
      },
    ]);
  });

  test("EventBridge: the reason becomes S3's event name", () => {
    const nameOf = (reason: string) => events(parseS3EventMessage(eventBridge('k', { reason }), BUCKET)).objects[0]?.eventName;
    assert.equal(nameOf('POST Object'), 'ObjectCreated:Post');
    assert.equal(nameOf('CopyObject'), 'ObjectCreated:Copy');
    assert.equal(nameOf('CompleteMultipartUpload'), 'ObjectCreated:CompleteMultipartUpload');
    assert.equal(nameOf('SomethingNew'), 'ObjectCreated');
  });

  test("EventBridge: Object Deleted and another bucket's events are ignored", () => {
    assert.deepEqual(
      events(parseS3EventMessage(eventBridge('k', { detailType: 'Object Deleted', reason: 'DeleteObject' }), BUCKET)).ignored,
      ['EventBridge Object Deleted is not a creation'],
    );
    assert.deepEqual(events(parseS3EventMessage(eventBridge('k', { bucket: 'other' }), BUCKET)).ignored, ['bucket other is not ours']);
  });

  test('EventBridge: a key that is never granted is dropped', () => {
    const parsed = events(parseS3EventMessage(eventBridge('uploads/../x'), BUCKET));
    assert.deepEqual(parsed.objects, []);
    assert.deepEqual(parsed.dropped, [{ rawKey: 'uploads/../x', reason: 'key must not contain a ".." segment' }]);
  });
});

describe('parseS3EventMessage: malformed bodies', () => {
  const malformed: [string, string, string][] = [
    ['garbage', 'garbage {"Records": [', 'body is not JSON'],
    ['an empty body', '', 'body is not JSON'],
    ['a JSON array', '[1, 2]', 'not a JSON object'],
    ['a JSON string', '"Records"', 'not a JSON object'],
    ['JSON null', 'null', 'not a JSON object'],
    ['JSON without Records', '{"message": "hello"}', 'neither an S3 event (Records, s3:TestEvent) nor an SNS or EventBridge envelope'],
    ['Records that is not an array', '{"Records": {"0": {}}}', 'Records is not an array'],
    [
      'an SNS envelope without Message',
      '{"Type": "Notification"}',
      'neither an S3 event (Records, s3:TestEvent) nor an SNS or EventBridge envelope',
    ],
    [
      'an EventBridge event without detail',
      '{"source": "aws.s3", "detail-type": "Object Created"}',
      'EventBridge event has no detail.bucket.name or detail.object.key',
    ],
  ];
  for (const [name, body, reason] of malformed) {
    test(name, () => {
      assert.deepEqual(parseS3EventMessage(body, BUCKET), { kind: 'malformed', reason });
    });
  }

  test('the reason never quotes the body', () => {
    const secret = 'do-not-log-me';
    for (const body of [`${secret} {`, `{"${secret}": 1}`, JSON.stringify({ Type: 'Notification', Message: secret })]) {
      const parsed = parseS3EventMessage(body, BUCKET);
      assert.equal(parsed.kind, 'malformed');
      assert.ok(!JSON.stringify(parsed).includes(secret), JSON.stringify(parsed));
    }
  });

  test('records that are not objects are ignored, not fatal', () => {
    const parsed = events(parseS3EventMessage(s3Message(null, 7, s3Record('kept')), BUCKET));
    assert.deepEqual(
      parsed.objects.map(({ key }) => key),
      ['kept'],
    );
    assert.equal(parsed.ignored.length, 2);
  });
});
