import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';

/*
 * What a CloudFront edge decides for a request to a cache behaviour that trusts a key group,
 * as the CloudFront Developer Guide documents it (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/ +):
 *   private-content-creating-signed-url-canned-policy.html   canned policy rebuilt from the URL and Expires
 *   private-content-creating-signed-url-custom-policy.html   custom policy: one statement, Resource wildcards, conditions
 *   private-content-setting-signed-cookie-canned-policy.html, private-content-setting-signed-cookie-custom-policy.html
 *   private-content-choosing-signed-urls-cookies.html         a URL with any signing parameter is a signed URL: cookies are ignored
 *   private-content-linux-openssl.html                        `openssl sha1|sha256 -sign key.pem`, the key RSA 2048 or ECDSA 256
 * Pure: no I/O, the clock comes in with the request.
 */

/** Key pair id → public key (a KeyObject, or PEM text). */
export type TrustedKeyGroup = ReadonlyMap<string, KeyObject | string>;

export interface EdgeRequest {
  readonly method: string;
  /** The path exactly as sent, percent-encoding included, starting with `/`. */
  readonly path: string;
  /** The query string exactly as sent, without its `?`; empty when there is none. */
  readonly query: string;
  readonly cookies: Readonly<Record<string, string>>;
  /** The client's address as the socket reports it: IPv4, or IPv4-mapped IPv6 (`::ffff:192.0.2.1`). */
  readonly clientIp: string;
}

export interface EdgeSettings {
  /** The distribution's scheme and host (`https://d111111abcdef8.cloudfront.net`): policies name URLs on it, not on the edge's own address. */
  readonly origin: string;
  readonly keyGroup: TrustedKeyGroup;
  readonly now: Date;
}

/** `reason` is for logs and the error body; it never repeats a signature, a policy or a key id. */
export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

type HashAlgorithm = 'SHA1' | 'SHA256';

interface Credentials {
  readonly policy: { readonly kind: 'canned'; readonly expires: string } | { readonly kind: 'custom'; readonly encoded: string };
  readonly signature: string;
  readonly keyPairId: string;
  readonly hashAlgorithm: HashAlgorithm;
  /** The name a parameter has where these came from: `Signature`, or `CloudFront-Signature` for cookies. */
  readonly name: (parameter: string) => string;
}

interface CustomPolicy {
  readonly resource: string | undefined;
  readonly dateLessThan: number;
  readonly dateGreaterThan: number | undefined;
  readonly sourceIp: string | undefined;
}

const deny = (reason: string): Verdict => ({ ok: false, reason });
const ALLOW: Verdict = { ok: true };

/** CloudFront treats a URL carrying any of these as a signed URL, and then never looks at cookies. */
const URL_SIGNING_PARAMETERS = new Set(['Expires', 'Policy', 'Signature', 'Key-Pair-Id', 'Hash-Algorithm']);
const COOKIE_PREFIX = 'CloudFront-';

export const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

export function verifyRequest(request: EdgeRequest, settings: EdgeSettings): Verdict {
  // Signatures are not bound to a method: a read grant must never carry a write.
  if (!READ_METHODS.has(request.method)) return deny('only GET and HEAD are served');
  // Printable ASCII without `"` or `\`: the canned policy is JSON built around the URL, and a URL never needs them raw.
  if (!/^[\x21\x23-\x5b\x5d-\x7e]*$/u.test(request.path + request.query) || !request.path.startsWith('/'))
    return deny('the request URL holds characters a URL cannot carry');

  const query = splitQuery(request.query);
  if ('reason' in query) return deny(query.reason);
  const credentials =
    query.signing.size > 0
      ? credentialsFrom(
          (name) => query.signing.get(name),
          (name) => name,
        )
      : credentialsFrom(
          (name) => (Object.hasOwn(request.cookies, `${COOKIE_PREFIX}${name}`) ? request.cookies[`${COOKIE_PREFIX}${name}`] : undefined),
          (name) => `${COOKIE_PREFIX}${name}`,
        );
  if ('reason' in credentials) return deny(credentials.reason);

  const entry = settings.keyGroup.get(credentials.keyPairId);
  if (entry === undefined) return deny(`the ${credentials.name('Key-Pair-Id')} is not in the trusted key group`);
  const key = publicKeyOf(entry);
  if (key === undefined) return deny('the trusted key for this key pair id is neither RSA 2048 nor ECDSA P-256');

  // The URL CloudFront matches: the distribution's, with the request's path and query less the signing parameters.
  const url = `${settings.origin}${request.path}${query.rest === '' ? '' : `?${query.rest}`}`;
  const signature = fromCloudFrontBase64(credentials.signature);
  if (signature === undefined) return deny(`${credentials.name('Signature')} is not CloudFront's URL-safe base64`);
  const { policy } = credentials;
  const signed =
    policy.kind === 'canned'
      ? Buffer.from(`{"Statement":[{"Resource":"${url}","Condition":{"DateLessThan":{"AWS:EpochTime":${policy.expires}}}}]}`)
      : fromCloudFrontBase64(policy.encoded);
  if (signed === undefined) return deny(`${credentials.name('Policy')} is not CloudFront's URL-safe base64`);
  if (!signatureMatches(signed, signature, key, credentials.hashAlgorithm))
    return deny(`the signature does not match the policy (key pair id, hash algorithm ${credentials.hashAlgorithm}, or the URL)`);

  const nowSeconds = settings.now.getTime() / 1000;
  if (policy.kind === 'canned')
    return nowSeconds < Number(policy.expires) ? ALLOW : deny(`the grant expired at ${isoTime(Number(policy.expires))}`);
  const custom = parseCustomPolicy(signed);
  if ('reason' in custom) return deny(custom.reason);
  const [protocol = '', domain = ''] = settings.origin.split('://');
  return checkConditions(custom, { protocol, domain, path: request.path, query: query.rest }, request.clientIp, nowSeconds);
}

/** The signing parameters of a query (values percent-decoded), and the rest of it as sent. */
function splitQuery(query: string): { signing: Map<string, string>; rest: string } | { reason: string } {
  const signing = new Map<string, string>();
  const rest: string[] = [];
  for (const pair of query === '' ? [] : query.split('&')) {
    const at = pair.indexOf('=');
    const name = at < 0 ? pair : pair.slice(0, at);
    if (!URL_SIGNING_PARAMETERS.has(name)) {
      rest.push(pair);
      continue;
    }
    // Two values would leave open which one was checked; CloudFront's own choice is not documented, so neither is used.
    if (signing.has(name)) return { reason: `${name} appears more than once in the query string` };
    try {
      signing.set(name, decodeURIComponent(at < 0 ? '' : pair.slice(at + 1)));
    } catch {
      return { reason: `${name} is not percent-encoded correctly` };
    }
  }
  return { signing, rest: rest.join('&') };
}

function credentialsFrom(
  value: (parameter: string) => string | undefined,
  name: (parameter: string) => string,
): Credentials | { reason: string } {
  const expires = value('Expires');
  const encodedPolicy = value('Policy');
  const signature = value('Signature');
  const keyPairId = value('Key-Pair-Id');
  const hashAlgorithm = value('Hash-Algorithm') ?? 'SHA1';
  if (expires === undefined && encodedPolicy === undefined && signature === undefined && keyPairId === undefined)
    return { reason: 'neither a signed URL nor signed cookies' };
  if (expires !== undefined && encodedPolicy !== undefined)
    return { reason: `${name('Expires')} (canned policy) and ${name('Policy')} (custom policy) cannot both be given` };
  if (signature === undefined) return { reason: `${name('Signature')} is missing` };
  if (keyPairId === undefined) return { reason: `${name('Key-Pair-Id')} is missing` };
  if (hashAlgorithm !== 'SHA1' && hashAlgorithm !== 'SHA256') return { reason: `${name('Hash-Algorithm')} must be SHA1 or SHA256` };
  if (encodedPolicy !== undefined) return { policy: { kind: 'custom', encoded: encodedPolicy }, signature, keyPairId, hashAlgorithm, name };
  if (expires === undefined) return { reason: `${name('Expires')} (canned policy) or ${name('Policy')} (custom policy) is missing` };
  // Digits only: the value goes into the rebuilt policy as written, as a JSON number.
  if (!/^[0-9]{1,12}$/u.test(expires)) return { reason: `${name('Expires')} is not a Unix time in seconds` };
  return { policy: { kind: 'canned', expires }, signature, keyPairId, hashAlgorithm, name };
}

/**
 * CloudFront's URL-safe base64 (`-` `_` `~` for `+` `=` `/`): only that alphabet, and only the canonical
 * encoding of the bytes, its padding given in full or left off, so one signature has one spelling.
 */
export function fromCloudFrontBase64(value: string): Buffer | undefined {
  if (!/^[A-Za-z0-9~-]+_{0,2}$/u.test(value)) return undefined;
  const bytes = Buffer.from(
    value.replace(/[-_~]/gu, (char) => ({ '-': '+', _: '=', '~': '/' })[char] ?? char),
    'base64',
  );
  const canonical = bytes.toString('base64').replace(/[+=/]/gu, (char) => ({ '+': '-', '=': '_', '/': '~' })[char] ?? char);
  const unpadded = value.replace(/_+$/u, '');
  return value === canonical || (value === unpadded && canonical.replace(/_+$/u, '') === unpadded) ? bytes : undefined;
}

/** Why a key cannot be in a CloudFront key group, or undefined when it can: CloudFront takes RSA 2048 and ECDSA P-256 public keys. */
export function trustedKeyProblem(key: KeyObject): string | undefined {
  if (key.asymmetricKeyType === 'rsa')
    return key.asymmetricKeyDetails?.modulusLength === 2048 ? undefined : 'an RSA key in a key group must have 2048 bits';
  if (key.asymmetricKeyType === 'ec')
    return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? undefined : 'an ECDSA key in a key group must be on P-256';
  return 'a key in a key group must be RSA 2048 or ECDSA P-256';
}

function publicKeyOf(entry: KeyObject | string): KeyObject | undefined {
  try {
    const key = typeof entry === 'string' || entry.type === 'private' ? createPublicKey(entry) : entry;
    return trustedKeyProblem(key) === undefined ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * RSA: PKCS#1 v1.5. ECDSA P-256: the DER (X9.62 ASN.1 SEQUENCE of r and s) signature that
 * `openssl sha1 -sign ecdsa.pem` writes, which is how AWS documents signing with either key type:
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-linux-openssl.html
 * The digest is the request's Hash-Algorithm for both key types, SHA-1 when absent.
 */
function signatureMatches(data: Buffer, signature: Buffer, key: KeyObject, hashAlgorithm: HashAlgorithm): boolean {
  const digest = hashAlgorithm === 'SHA256' ? 'sha256' : 'sha1';
  try {
    return key.asymmetricKeyType === 'rsa'
      ? verify(digest, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature)
      : verify(digest, data, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false; // a signature that is not even well-formed DER
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const onlyKeys = (value: Record<string, unknown>, allowed: readonly string[]): boolean =>
  Object.keys(value).every((key) => allowed.includes(key));

/** `{"AWS:EpochTime": <whole seconds>}`; AWS: "do not enclose the value in quotation marks". */
function epochTime(value: unknown): number | undefined {
  if (!isObject(value) || !onlyKeys(value, ['AWS:EpochTime'])) return undefined;
  const time = value['AWS:EpochTime'];
  return typeof time === 'number' && Number.isSafeInteger(time) && time >= 0 ? time : undefined;
}

/** The custom policy format, exactly: "Include all punctuation and parameter names exactly as specified". */
function parseCustomPolicy(bytes: Buffer): CustomPolicy | { reason: string } {
  let document: unknown;
  try {
    document = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { reason: 'the policy is not JSON' };
  }
  if (!isObject(document) || !onlyKeys(document, ['Statement']) || !Array.isArray(document.Statement))
    return { reason: 'the policy holds a Statement list and nothing else' };
  const [statement, ...others] = document.Statement as unknown[];
  if (statement === undefined || others.length > 0) return { reason: 'a policy holds exactly one statement' };
  if (!isObject(statement) || !onlyKeys(statement, ['Resource', 'Condition']) || !isObject(statement.Condition))
    return { reason: 'the policy statement needs a Condition, and holds only Resource and Condition' };
  const { Resource: resource, Condition: condition } = statement;
  if (resource !== undefined && typeof resource !== 'string') return { reason: 'the policy Resource is not a string' };
  if (!onlyKeys(condition, ['DateLessThan', 'DateGreaterThan', 'IpAddress']))
    return { reason: 'the policy Condition holds only DateLessThan, DateGreaterThan and IpAddress' };
  const dateLessThan = epochTime(condition.DateLessThan);
  if (dateLessThan === undefined) return { reason: 'the policy needs DateLessThan as {"AWS:EpochTime": <seconds>}' };
  const dateGreaterThan = condition.DateGreaterThan === undefined ? undefined : epochTime(condition.DateGreaterThan);
  if (condition.DateGreaterThan !== undefined && dateGreaterThan === undefined)
    return { reason: 'the policy DateGreaterThan is not {"AWS:EpochTime": <seconds>}' };
  const { IpAddress: ipAddress } = condition;
  const sourceIp = isObject(ipAddress) && onlyKeys(ipAddress, ['AWS:SourceIp']) ? ipAddress['AWS:SourceIp'] : undefined;
  if (ipAddress !== undefined && typeof sourceIp !== 'string')
    return { reason: 'the policy IpAddress is not {"AWS:SourceIp": "<IPv4 address or CIDR>"}' };
  return { resource, dateLessThan, dateGreaterThan, sourceIp: typeof sourceIp === 'string' ? sourceIp : undefined };
}

function checkConditions(policy: CustomPolicy, url: UrlSections, clientIp: string, nowSeconds: number): Verdict {
  // AWS: a policy without Resource grants every file of every distribution trusting the key.
  if (policy.resource !== undefined && !resourceMatches(policy.resource, url)) return deny('the URL is outside the policy Resource');
  if (!(nowSeconds < policy.dateLessThan)) return deny(`the grant expired at ${isoTime(policy.dateLessThan)}`);
  // AWS: "Users are not allowed to access the file on or before the specified date and time."
  if (policy.dateGreaterThan !== undefined && !(nowSeconds > policy.dateGreaterThan))
    return deny(`the grant is not valid until after ${isoTime(policy.dateGreaterThan)}`);
  if (policy.sourceIp !== undefined) {
    const range = ipv4Range(policy.sourceIp);
    if (range === undefined) return deny('the policy AWS:SourceIp is not an IPv4 address or CIDR range');
    const client = ipv4(clientIp.replace(/^::ffff:/iu, ''));
    // AWS: IP conditions are IPv4 only; an IPv6 client cannot meet one.
    if (client === undefined) return deny('an IpAddress condition needs an IPv4 client');
    if (Math.floor(client / range.size) !== Math.floor(range.address / range.size))
      return deny('the client address is outside the policy IpAddress');
  }
  return ALLOW;
}

const isoTime = (seconds: number): string => new Date(seconds * 1000).toISOString();

interface UrlSections {
  readonly protocol: string;
  readonly domain: string;
  readonly path: string;
  readonly query: string;
}

/**
 * AWS splits the policy URL into protocol, domain, path and query, and a wildcard (`*` any run, `?` one
 * character) matches only within its own section, except: a trailing `*` in the path also covers the query;
 * a trailing `*` in the domain covers path and query; a URL starting with `*` and no protocol has the protocol
 * `*`; `*` alone matches every URL. The first `?` after the domain starts the query section (AWS: it is not
 * escaped), so in the path `?` cannot be a wildcard.
 */
function resourceMatches(resource: string, target: UrlSections): boolean {
  const pattern = policySections(resource);
  return (
    pattern !== undefined &&
    globMatches(pattern.protocol, target.protocol) &&
    globMatches(pattern.domain, target.domain) &&
    globMatches(pattern.path, target.path) &&
    globMatches(pattern.query, target.query)
  );
}

function policySections(resource: string): UrlSections | undefined {
  if (resource === '*') return { protocol: '*', domain: '*', path: '*', query: '*' };
  const separator = resource.indexOf('://');
  if (separator < 0 && !resource.startsWith('*')) return undefined;
  const protocol = separator < 0 ? '*' : resource.slice(0, separator);
  const rest = separator < 0 ? resource : resource.slice(separator + 3);
  const slash = rest.indexOf('/');
  if (slash < 0)
    return rest.endsWith('*') ? { protocol, domain: rest, path: '/*', query: '*' } : { protocol, domain: rest, path: '/', query: '' };
  const pathAndQuery = rest.slice(slash);
  const mark = pathAndQuery.indexOf('?');
  if (mark < 0) return { protocol, domain: rest.slice(0, slash), path: pathAndQuery, query: pathAndQuery.endsWith('*') ? '*' : '' };
  return { protocol, domain: rest.slice(0, slash), path: pathAndQuery.slice(0, mark), query: pathAndQuery.slice(mark + 1) };
}

/** `*` any run of characters, `?` exactly one; linear backtracking to the last `*`, so no pattern can stall the edge. */
function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

// Written apart from the broker's own CIDR code (policy/conditions.ts) on purpose: the edge is the oracle the
// broker's grants are tested against, and a mistake shared by both would pass every test.
function ipv4(text: string): number | undefined {
  const octets = text.split('.');
  if (octets.length !== 4 || !octets.every((octet) => /^(0|[1-9][0-9]{0,2})$/u.test(octet) && Number(octet) <= 255)) return undefined;
  return octets.reduce((address, octet) => address * 256 + Number(octet), 0);
}

/** `192.0.2.10` (one address) or `192.0.2.0/24`. */
function ipv4Range(sourceIp: string): { address: number; size: number } | undefined {
  const [text = '', bits = '32', ...extra] = sourceIp.split('/');
  const address = ipv4(text);
  if (address === undefined || extra.length > 0 || !/^(0|[1-9][0-9]?)$/u.test(bits) || Number(bits) > 32) return undefined;
  return { address, size: 2 ** (32 - Number(bits)) };
}
