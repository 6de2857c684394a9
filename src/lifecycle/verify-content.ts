import { fileTypeFromBuffer, supportedMimeTypes } from 'file-type';
import type { StoredObject } from '../objects/s3-objects.js';
import type { UploadRecord } from './upload-records.js';

/**
 * Whether an uploaded object is what its grant allowed: its size, Content-Type and checksum as S3 reports them, and
 * what its first bytes say it is. Pure: the broker brings HeadObject's answer and the object's first
 * `bytesToRead(grant)` bytes. Reasons are shown to API users and sent in webhook events, so they name sizes, types
 * and checksums, never the object's bytes.
 */

/** What the grant allowed, as its upload record keeps it. */
export type GrantedUpload = Pick<UploadRecord, 'contentType' | 'maxBytes' | 'exactSize' | 'checksum'>;

/** What HeadObject (with ChecksumMode ENABLED) found at the key. A multipart object's composite checksums are not comparable: its grant's checksum is passed as null. */
export type FoundObject = Pick<StoredObject, 'size' | 'contentType' | 'checksums'>;

export type RejectionCode = 'size' | 'content-type' | 'checksum' | 'content' | 'active-content';

export type Verdict =
  /** detectedType: what the bytes were recognised as, when that agrees with the grant. */
  | { readonly ok: true; readonly detectedType: string | undefined }
  | { readonly ok: false; readonly code: RejectionCode; readonly reason: string };

type Rejection = Extract<Verdict, { ok: false }>;

/** What file-type reads to recognise a format: its `reasonableDetectionSizeInBytes`, which its type declarations leave out. */
export const CONTENT_SNIFF_BYTES = 4100;

/** An SVG is read whole, as script can hide anywhere in it; a larger one is refused rather than half checked. */
export const SVG_MAX_BYTES = 256 * 1024;

const SVG = 'image/svg+xml';

/** How many of the object's first bytes `verifyUpload` needs (all of them when the object is shorter). */
export function bytesToRead(grant: Pick<GrantedUpload, 'contentType'>): number {
  return mediaType(grant.contentType) === SVG ? SVG_MAX_BYTES : CONTENT_SNIFF_BYTES;
}

/**
 * Checks, in order, the size, the Content-Type, the checksum and the content; the first failure is the verdict.
 * `head` is the object's first `bytesToRead(grant)` bytes, or all of it when shorter (an empty array for an empty object).
 */
export async function verifyUpload(grant: GrantedUpload, found: FoundObject, head: Uint8Array): Promise<Verdict> {
  const needed = Math.min(found.size, bytesToRead(grant));
  if (head.length < needed) throw new RangeError(`verifyUpload needs the object's first ${needed} bytes, and was given ${head.length}`);
  return (
    checkSize(grant, found.size) ??
    checkContentType(grant, found.contentType) ??
    checkChecksum(grant, found) ??
    checkContent(grant, found.size, head)
  );
}

function checkSize(grant: GrantedUpload, size: number): Rejection | undefined {
  if (grant.exactSize ? size === grant.maxBytes : size <= grant.maxBytes) return undefined;
  return reject(
    'size',
    `the object is ${bytes(size)}; the grant allowed ${grant.exactSize ? 'exactly' : 'at most'} ${count(grant.maxBytes)}`,
  );
}

function checkContentType(grant: GrantedUpload, contentType: string | undefined): Rejection | undefined {
  const signed = JSON.stringify(grant.contentType);
  if (contentType === undefined) return reject('content-type', `the object has no Content-Type; the grant signed ${signed}`);
  // SigV4 signs a header value trimmed with runs of spaces collapsed: S3 lets through exactly that much difference.
  const canonical = (value: string): string => value.trim().replace(/ +/g, ' ');
  if (canonical(contentType) === canonical(grant.contentType)) return undefined;
  return reject('content-type', `the object's Content-Type is ${JSON.stringify(contentType)}; the grant signed ${signed}`);
}

function checkChecksum(grant: GrantedUpload, found: FoundObject): Rejection | undefined {
  if (grant.checksum === null) return undefined;
  const { algorithm, value } = grant.checksum;
  const actual = Object.entries(found.checksums).find(([name]) => name === algorithm)?.[1];
  if (actual === value) return undefined;
  return reject(
    'checksum',
    actual === undefined
      ? `the object has no ${algorithm} checksum; the grant required ${value}`
      : `the object's ${algorithm} is ${actual}; the grant required ${value}`,
  );
}

async function checkContent(grant: GrantedUpload, size: number, head: Uint8Array): Promise<Verdict> {
  const declared = mediaType(grant.contentType);
  if (declared === SVG) return checkSvg(grant.contentType, size, head);
  const detection = await fileTypeFromBuffer(head);
  const detected = detection && mediaType(detection.mime);

  if (RECOGNISABLE.has(declared)) {
    if (size === 0) return reject('content', `the object is empty, so it is not a recognisable ${declared}`);
    if (detected === undefined ? !SIGNATURE_OPTIONAL.has(declared) : !sameFormat(declared, detected)) {
      return reject(
        'content',
        detected === undefined ? `the bytes are not a recognisable ${declared}` : `the bytes are ${detected}, not ${declared}`,
      );
    }
  }
  if (!isText(declared)) return { ok: true, detectedType: detected };

  const problem = textProblem(declared, charsetOf(grant.contentType), head, head.length >= size);
  const textual = detected === undefined || isTextFormat(detected);
  if (problem !== undefined) return reject('content', textual ? problem : `the bytes are ${detected}, not ${declared}`);
  // Clean text outweighs file-type here: some signatures are printable (`BM` is a bitmap's, and a CSV row's too).
  return { ok: true, detectedType: textual ? detected : undefined };
}

/** XML's declaration (file-type's signature for it) is optional: XML without one is unrecognised, not contradicted. */
const SIGNATURE_OPTIONAL: ReadonlySet<string> = new Set(['application/xml']);

/**
 * Names for one format besides the one file-type reports (IANA's, x- and browser spellings), and formats it reports
 * under several names by a brand or a first stream (an MP4's audio or video, an Ogg's codec), each to one of them.
 */
const SAME_FORMAT: ReadonlyMap<string, string> = new Map([
  ['image/jpg', 'image/jpeg'],
  ['image/pjpeg', 'image/jpeg'],
  // An APNG is a PNG with chunks a viewer without animation skips.
  ['image/apng', 'image/png'],
  ['image/x-ms-bmp', 'image/bmp'],
  ['image/vnd.microsoft.icon', 'image/x-icon'],
  ['image/heic', 'image/heif'],
  ['audio/x-wav', 'audio/wav'],
  ['audio/wave', 'audio/wav'],
  ['audio/vnd.wave', 'audio/wav'],
  ['audio/mp3', 'audio/mpeg'],
  ['audio/x-flac', 'audio/flac'],
  ['audio/x-aiff', 'audio/aiff'],
  ['audio/mp4', 'video/mp4'],
  ['audio/x-m4a', 'video/mp4'],
  ['video/x-m4v', 'video/mp4'],
  ['audio/webm', 'video/webm'],
  ['audio/x-matroska', 'video/matroska'],
  ['video/x-matroska', 'video/matroska'],
  ['video/avi', 'video/vnd.avi'],
  ['video/msvideo', 'video/vnd.avi'],
  ['video/x-msvideo', 'video/vnd.avi'],
  ['audio/ogg', 'application/ogg'],
  ['video/ogg', 'application/ogg'],
  ['audio/3gpp', 'video/3gpp'],
  ['audio/3gpp2', 'video/3gpp2'],
  ['application/x-zip-compressed', 'application/zip'],
  ['application/x-gzip', 'application/gzip'],
  ['application/vnd.rar', 'application/x-rar-compressed'],
  ['application/vnd.microsoft.portable-executable', 'application/x-msdownload'],
]);

/** The formats file-type recognises, by every name an upload may declare them under. */
const RECOGNISABLE: ReadonlySet<string> = new Set([...[...supportedMimeTypes].map(mediaType), ...SAME_FORMAT.keys()]);

/** The formats file-type finds inside a ZIP archive (by its entries). */
const IN_ZIP =
  /^(?:application\/(?:vnd\.openxmlformats-officedocument\..+|vnd\.oasis\.opendocument\..+|vnd\.ms-[a-z]+\.[a-z]+\.macroenabled\.12|vnd\.apple\.(?:keynote|numbers|pages)|vnd\.visio|vnd\.android\.package-archive|java-archive|epub\+zip|x-xpinstall)|model\/3mf)$/;

function sameFormat(declared: string, detected: string): boolean {
  const [expected, actual] = [SAME_FORMAT.get(declared) ?? declared, SAME_FORMAT.get(detected) ?? detected];
  if (expected === actual) return true;
  // A DOCX or JAR is a ZIP; and the entry that tells a DOCX from a ZIP may lie past the bytes read.
  return (expected === 'application/zip' && IN_ZIP.test(actual)) || (IN_ZIP.test(expected) && actual === 'application/zip');
}

function isText(type: string): boolean {
  return type.startsWith('text/') || type === 'application/json' || type.endsWith('+json');
}

/** Formats file-type recognises that are text themselves. */
function isTextFormat(type: string): boolean {
  return type.startsWith('text/') || type === 'application/xml';
}

const UTF8_CHARSETS: ReadonlySet<string> = new Set(['utf-8', 'utf8', 'us-ascii']);

/** Why the bytes are not text in the declared charset (UTF-8 when none is named), or undefined. */
function textProblem(declared: string, charset: string | undefined, head: Uint8Array, whole: boolean): string | undefined {
  // UTF-16 and UTF-32 spell ASCII with NUL bytes; checking those encodings is left to the reader.
  if (!(charset !== undefined && /^(?:utf-?(?:16|32)|ucs-?[24])/.test(charset)) && head.includes(0)) {
    return `the bytes contain NUL bytes, which ${declared} does not`;
  }
  if (charset !== undefined && !UTF8_CHARSETS.has(charset)) return undefined;
  try {
    // Streaming leaves a character cut at the end of a prefix undecided, rather than invalid.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: !whole });
    return undefined;
  } catch {
    return `the bytes are not valid UTF-8, ${charset === undefined ? `and ${declared} names no other charset` : `the charset the Content-Type names`}`;
  }
}

function checkSvg(contentType: string, size: number, head: Uint8Array): Verdict {
  if (size > SVG_MAX_BYTES) {
    return reject('content', `the object is ${bytes(size)}; an SVG is checked whole, and at most ${bytes(SVG_MAX_BYTES)} of one can be`);
  }
  // Only UTF-8 is checked: in another encoding (ISO-2022-JP's escapes, UTF-16) the browser reads other markup than this check.
  const charset = charsetOf(contentType);
  if (charset !== undefined && !UTF8_CHARSETS.has(charset)) {
    return reject('content', `an SVG is checked as UTF-8, and the grant's Content-Type names charset ${charset}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head);
  } catch {
    return reject('content', 'the SVG is not valid UTF-8 text');
  }
  const encoding = /^<\?xml\s[^>]*?\bencoding\s*=\s*["']\s*([^"'\s]*)/.exec(text)?.[1];
  if (encoding !== undefined && !UTF8_CHARSETS.has(encoding.toLowerCase())) {
    return reject('content', 'the SVG declares an encoding other than UTF-8, and an SVG is checked as UTF-8');
  }

  const danger = activeContent(text);
  if (danger !== undefined) return reject('active-content', `the SVG ${danger}`);

  let rest = text;
  for (let item = PROLOG_ITEM.exec(rest); item !== null; item = PROLOG_ITEM.exec(rest)) rest = rest.slice(item[0].length);
  if (/^\s*<!DOCTYPE/.test(rest)) {
    return reject(
      'active-content',
      'the SVG has a DTD internal subset (<!DOCTYPE … [ ]>), which can declare entities and attribute defaults',
    );
  }
  if (!/^\s*<(?:[^\s<>/="':!?]+:)?svg[\s/>]/.test(rest)) {
    return reject('content', 'the bytes are not an SVG document: its root element is not <svg>');
  }
  return { ok: true, detectedType: SVG };
}

/** What may come before the root element: the XML declaration, processing instructions, comments, a DOCTYPE without an internal subset. */
const PROLOG_ITEM = /^\s*(?:<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE\s[^[>]*>)/;

const SCRIPT = 'an SVG with script in it is not an image';

/** Elements that run script or hold a page, by lowercased name; with any namespace prefix (<svg:script>, <h:iframe>), and ending where a name character cannot follow. */
const ACTIVE_ELEMENTS: ReadonlyMap<string, string> = new Map([
  ['script', `has a <script> element; ${SCRIPT}`],
  ['foreignobject', 'has a <foreignObject> element, which can hold HTML and its script'],
  ['iframe', 'has an <iframe> element, which can load a page with script'],
  ['embed', 'has an <embed> element, which can load a page with script'],
  ['object', 'has an <object> element, which can load a page with script'],
]);
const ACTIVE_ELEMENT = new RegExp(`<(?:[^\\s<>/="':!?]*:)?(${[...ACTIVE_ELEMENTS.keys()].join('|')})(?![\\w.:-])`, 'i');

/**
 * What in an SVG's text can run script, or make an XML parser expand or fetch, described; undefined when none is.
 * Matched loosely and case-insensitively, anywhere (text and comments included): a false alarm costs an upload,
 * a miss a stored XSS. Element and attribute names cannot be written with character references; URLs can, and
 * browsers drop tabs and newlines inside them, so those are matched after decoding both away.
 */
function activeContent(text: string): string | undefined {
  if (/<!ENTITY/i.test(text)) return 'declares XML entities (<!ENTITY), which can expand without bound or read local files';
  if (/<\?xml-stylesheet/i.test(text)) {
    return 'has an <?xml-stylesheet?> instruction; an XSLT stylesheet can turn it into a page with script';
  }
  const element = ACTIVE_ELEMENT.exec(text)?.[1];
  if (element !== undefined) return ACTIVE_ELEMENTS.get(element.toLowerCase());
  // After whitespace, a quote (HTML reads `a="x"onload=` as two attributes) or a slash (`<svg/onload=`).
  if (/[\s"'/]on\w+\s*=/i.test(text)) return `has an event handler attribute (on…=); ${SCRIPT}`;
  if (/[\s"'/]attributeName\s*=\s*["']\s*on/i.test(text)) return `animates an event handler attribute; ${SCRIPT}`;

  const decoded = decodeReferences(text).replace(/[\t\n\r]/g, '');
  if (/javascript:/i.test(decoded)) return `has a javascript: URL; ${SCRIPT}`;
  if (/data:\s*(?:text\/html|application\/xhtml\+xml|image\/svg\+xml|(?:text|application)\/(?:xml|javascript|ecmascript))/i.test(decoded)) {
    return 'has a data: URL of HTML, XML, SVG or script, which can run script';
  }
  if (/http:\/\/www\.w3\.org\/1999\/xhtml/i.test(decoded)) return 'declares the XHTML namespace; HTML elements in an SVG can run script';
  return undefined;
}

/** The named references (HTML's) that spell URL syntax. */
const NAMED_REFERENCES = { colon: ':', tab: '\t', newline: '\n', sol: '/', plus: '+' } as const;
const REFERENCE = new RegExp(`&#x([0-9a-f]+);?|&#([0-9]+);?|&(${Object.keys(NAMED_REFERENCES).join('|')});`, 'gi');

/** Decodes numeric character references (HTML takes them without the semicolon too) and NAMED_REFERENCES, once. */
function decodeReferences(text: string): string {
  return text.replace(REFERENCE, (_, hex: string | undefined, decimal: string | undefined, name: string | undefined) => {
    if (name !== undefined) return NAMED_REFERENCES[name.toLowerCase() as keyof typeof NAMED_REFERENCES];
    const code = hex !== undefined ? parseInt(hex, 16) : Number(decimal);
    return code <= 0x10ffff ? String.fromCodePoint(code) : '\uFFFD';
  });
}

/** The type and subtype, lowercased, without parameters. */
function mediaType(contentType: string): string {
  return contentType.replace(/;.*$/s, '').trim().toLowerCase();
}

function charsetOf(contentType: string): string | undefined {
  return /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType)?.[1]?.toLowerCase();
}

function reject(code: RejectionCode, reason: string): Rejection {
  return { ok: false, code, reason };
}

/** Whole numbers with their thousands grouped (1,048,576). Not Intl.NumberFormat: making one faults about 5 MB of ICU data into every broker's memory. */
function count(value: number): string {
  return String(value).replace(/\B(?=(?:\d{3})+$)/gu, ',');
}

function bytes(value: number): string {
  return `${count(value)} ${value === 1 ? 'byte' : 'bytes'}`;
}
