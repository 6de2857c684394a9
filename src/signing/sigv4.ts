import { createHmac, hash } from 'node:crypto';

/**
 * AWS Signature Version 4 for query-string (presigned) requests, written out
 * because the SDK's presigner (an async, general-purpose signer over a request
 * object) costs several times the HMACs it computes. It follows the SDK's
 * S3RequestPresigner exactly: UNSIGNED-PAYLOAD, the path signed as given (S3
 * does not double-encode), query keys sorted, header values trimmed and their
 * inner runs of spaces collapsed. test/unit/signing/s3-signer.test.ts proves
 * its URLs equal to getSignedUrl's.
 */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

export interface QueryPresignInput {
  readonly method: string;
  /** `https:` or `http:`, as in a URL. */
  readonly protocol: string;
  /** Host and port, as sent in the Host header. */
  readonly host: string;
  /** The path as sent, already encoded. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Lower-case names; every one is signed, `host` among them. */
  readonly headers: Readonly<Record<string, string>>;
  readonly credentials: SigningCredentials;
  readonly region: string;
  readonly service: string;
  readonly signingDate: Date;
  readonly expiresInSeconds: number;
}

/** SigV4's hard limit for presigned URLs. */
export const SIGV4_MAX_EXPIRES_SECONDS = 604_800;

/** RFC 3986: unreserved characters pass, everything else is %XX (upper case), as SigV4 and S3 paths require. */
export function uriEscape(text: string): string {
  const encoded = encodeURIComponent(text);
  return RESERVED.test(encoded) ? encoded.replace(RESERVED_ALL, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`) : encoded;
}
// encodeURIComponent leaves these five, which RFC 3986 (and so SigV4) reserves.
const RESERVED = /[!'()*]/u;
const RESERVED_ALL = /[!'()*]/gu;

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

// The signing key changes once a day per secret, region and service: derive it once (four HMACs), not per URL.
const signingKeys = new Map<string, Buffer>();
function signingKey(secret: string, shortDate: string, region: string, service: string): Buffer {
  const id = `${shortDate}\n${region}\n${service}\n${secret}`;
  let key = signingKeys.get(id);
  if (key === undefined) {
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, shortDate), region), service), 'aws4_request');
    if (signingKeys.size >= 16) signingKeys.clear(); // a few keys are live at once (rotation, midnight); never many
    signingKeys.set(id, key);
  }
  return key;
}

/** `20260601T123456Z` and `20260601`, as SigV4 writes dates; grants in the same second share them. */
let lastDate: { time: number; long: string; short: string } = { time: Number.NaN, long: '', short: '' };
function dates(date: Date): { long: string; short: string } {
  const time = date.getTime();
  if (time !== lastDate.time) {
    const long = date
      .toISOString()
      .replace(/[-:]/gu, '')
      .replace(/\.\d{3}/u, '');
    lastDate = { time, long, short: long.slice(0, 8) };
  }
  return lastDate;
}

export function presignQuery(input: QueryPresignInput): string {
  if (!Number.isInteger(input.expiresInSeconds) || input.expiresInSeconds < 1 || input.expiresInSeconds > SIGV4_MAX_EXPIRES_SECONDS) {
    throw new RangeError(`presigned URLs must expire within 1 to ${SIGV4_MAX_EXPIRES_SECONDS} s (SigV4), not ${input.expiresInSeconds}`);
  }
  const { long, short } = dates(input.signingDate);
  const scope = `${short}/${input.region}/${input.service}/aws4_request`;
  const headerNames = Object.keys(input.headers).sort();
  const query: Record<string, string> = {
    ...input.query,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD',
    'X-Amz-Credential': `${input.credentials.accessKeyId}/${scope}`,
    'X-Amz-Date': long,
    'X-Amz-Expires': String(input.expiresInSeconds),
    'X-Amz-SignedHeaders': headerNames.join(';'),
    ...(input.credentials.sessionToken ? { 'X-Amz-Security-Token': input.credentials.sessionToken } : {}),
  };
  // Each name and value escaped once; the signature joins the sorted list afterwards, where it sorts.
  const pairs = Object.keys(query)
    .sort()
    .map((name) => [name, `${uriEscape(name)}=${uriEscape(query[name] ?? '')}`] as const);
  const canonicalQuery = pairs.map(([, pair]) => pair).join('&');
  const canonicalHeaders = headerNames.map((name) => `${name}:${(input.headers[name] ?? '').trim().replace(/\s+/gu, ' ')}\n`).join('');
  const canonicalRequest = `${input.method}\n${input.path}\n${canonicalQuery}\n${canonicalHeaders}\n${headerNames.join(';')}\nUNSIGNED-PAYLOAD`;
  const stringToSign = `AWS4-HMAC-SHA256\n${long}\n${scope}\n${hash('sha256', canonicalRequest)}`;
  const signature = createHmac('sha256', signingKey(input.credentials.secretAccessKey, short, input.region, input.service))
    .update(stringToSign)
    .digest('hex');
  // The SDK's URL lists every parameter, the signature too, in sorted order.
  const at = pairs.findIndex(([name]) => name > 'X-Amz-Signature');
  const signed = [...pairs.map(([, pair]) => pair)];
  signed.splice(at === -1 ? signed.length : at, 0, `X-Amz-Signature=${signature}`);
  const search = signed.join('&');
  return `${input.protocol}//${input.host}${input.path}?${search}`;
}

export interface PostPolicyInput {
  /** The form's action: the bucket's URL. */
  readonly url: string;
  readonly bucket: string;
  readonly key: string;
  /** Fields the form carries besides the signing ones (Content-Type), each also bound by an exact condition. */
  readonly fields: Readonly<Record<string, string>>;
  /** Further policy conditions, before the fields' own. */
  readonly conditions: readonly unknown[];
  readonly credentials: SigningCredentials;
  readonly region: string;
  readonly signingDate: Date;
  readonly expiresInSeconds: number;
}

/**
 * A presigned POST form: the policy lists every field with an exact value,
 * the key among them, so the form is good for that one key only. The same
 * fields, conditions and order as the SDK's createPresignedPost (proven in
 * tests), but signed at the broker's clock, so the policy's expiration is the
 * grant's expiresAt.
 */
export function presignPostPolicy(input: PostPolicyInput): { url: string; fields: Record<string, string> } {
  const { long, short } = dates(input.signingDate);
  const fields: Record<string, string> = {
    ...input.fields,
    bucket: input.bucket,
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${input.credentials.accessKeyId}/${short}/${input.region}/s3/aws4_request`,
    'X-Amz-Date': long,
    ...(input.credentials.sessionToken ? { 'X-Amz-Security-Token': input.credentials.sessionToken } : {}),
  };
  const conditions = [...input.conditions, ...Object.entries(fields).map(([name, value]) => ({ [name]: value })), { key: input.key }];
  const expiration = new Date(input.signingDate.getTime() + input.expiresInSeconds * 1000).toISOString().replace(/\.\d{3}Z$/u, 'Z');
  const policy = Buffer.from(JSON.stringify({ expiration, conditions })).toString('base64');
  const signature = createHmac('sha256', signingKey(input.credentials.secretAccessKey, short, input.region, 's3'))
    .update(policy)
    .digest('hex');
  return { url: input.url, fields: { ...fields, key: input.key, Policy: policy, 'X-Amz-Signature': signature } };
}
