/**
 * A reference model of the entitlement policy, written from README "Entitlement policy" and the
 * comments of src/policy/patterns.ts the slow, obvious way, sharing no code with src/policy:
 * a pattern becomes a regular expression with every literal (and every claim value) escaped and
 * each `*` as "any run of characters". Property tests hold decide() and its neighbours to it.
 */
import type { Principal } from '../../src/auth/principal.js';
import type { Ask } from '../../src/policy/decide.js';
import type { Defaults } from '../../src/policy/defaults.js';
import type { Action, Limits, Match } from '../../src/policy/schema.js';

export type Token = { kind: 'literal'; text: string } | { kind: 'claim'; name: string } | { kind: 'wildcard' };

const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/u;

/** The tokens of a pattern source, or undefined when the source is malformed (and so grants nothing). */
export function tokenize(source: string): Token[] | undefined {
  if (source === '' || source.startsWith('/') || source.includes('?')) return undefined;
  const tokens: Token[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal !== '') tokens.push({ kind: 'literal', text: literal });
    literal = '';
  };
  for (let i = 0; i < source.length; i += 1) {
    const char = source[i] ?? '';
    if (char === '*') {
      flush();
      tokens.push({ kind: 'wildcard' });
    } else if (char === '{') {
      const close = source.indexOf('}', i);
      const name = close === -1 ? '' : source.slice(i + 1, close);
      if (!CLAIM_NAME.test(name)) return undefined;
      flush();
      tokens.push({ kind: 'claim', name });
      i = close;
    } else if (char === '}') {
      return undefined;
    } else {
      literal += char;
    }
  }
  flush();
  return tokens;
}

/** The text a claim puts into a pattern, or undefined when it is missing or could widen the pattern. */
export function claimValueForPattern(claims: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = claims[name];
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else return undefined;
  if (text === '' || text === '.' || text === '..' || text.length > 256) return undefined;
  for (const char of text) {
    if ('/*?{}'.includes(char)) return undefined;
    const code = char.codePointAt(0) ?? 0;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return undefined;
  }
  return text;
}

/** A pattern with its claims filled in: literal text between wildcards. Undefined when it cannot be used by this caller. */
export function resolveTokens(tokens: readonly Token[], claims: Readonly<Record<string, unknown>>): string[] | undefined {
  const chunks = [''];
  for (const token of tokens) {
    if (token.kind === 'wildcard') {
      chunks.push('');
      continue;
    }
    const text = token.kind === 'literal' ? token.text : claimValueForPattern(claims, token.name);
    if (text === undefined) return undefined;
    chunks[chunks.length - 1] += text;
  }
  return chunks;
}

const escapeRegExp = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/-]/gu, (char) => `\\${char}`);

/**
 * Compared in UTF-16 code units (no `u` flag), as the broker compares strings; `[^]` is any
 * unit including line breaks.
 */
export const chunksRegExp = (chunks: readonly string[]): RegExp => new RegExp(`^${chunks.map(escapeRegExp).join('[^]*')}$`);

/** Does the pattern source, for this caller, cover the key? Malformed patterns and unusable claims cover nothing. */
export function patternCovers(source: string, claims: Readonly<Record<string, unknown>>, key: string): boolean {
  const tokens = tokenize(source);
  const chunks = tokens && resolveTokens(tokens, claims);
  return chunks !== undefined && chunksRegExp(chunks).test(key);
}

const sameValue = (actual: unknown, wanted: unknown): boolean =>
  Array.isArray(actual) ? actual.some((item) => item === wanted) : actual === wanted;

/** README: every condition named must hold; one match within a list is enough. */
export function whenHolds(when: Match | undefined, who: Principal): boolean {
  if (when === undefined) return true;
  if (when.subjects !== undefined && !when.subjects.some((subject) => subject === who.sub)) return false;
  if (when.scopes !== undefined && !when.scopes.some((scope) => who.scopes.some((held) => held === scope))) return false;
  if (when.roles !== undefined && !when.roles.some((role) => who.roles.some((held) => held === role))) return false;
  for (const name of Object.keys(when.claims ?? {})) {
    const wanted = when.claims?.[name];
    const options = Array.isArray(wanted) ? wanted : [wanted];
    if (!options.some((option) => sameValue(who.claims[name], option))) return false;
  }
  return true;
}

/** The plain data a test case is made of, before anything is compiled. */
export interface ModelRule {
  readonly id: string;
  readonly when?: Match;
  readonly actions: readonly Action[];
  readonly resources?: readonly string[];
  readonly bundles?: readonly string[];
  readonly limits?: Limits;
  readonly createOnly?: boolean;
}

export interface ModelEntitlement {
  readonly id: string;
  readonly subject: string;
  readonly bundleId: string | null;
  readonly resources: readonly string[];
  readonly actions: readonly Action[];
  readonly notBefore: Date | null;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly createOnly: boolean;
}

export interface ModelCase {
  readonly rules: readonly ModelRule[];
  readonly bundles: Readonly<Record<string, string>>;
  readonly entitlements: readonly ModelEntitlement[];
  readonly who: Principal;
  readonly ask: Ask;
  readonly now: Date;
  readonly defaults: Defaults;
}

/** Live at `now`: started, not expired, not revoked (each boundary instant belongs to the later state). */
export function liveAt(entitlement: ModelEntitlement, now: Date): boolean {
  const t = now.getTime();
  if (entitlement.notBefore !== null && entitlement.notBefore.getTime() > t) return false;
  if (entitlement.expiresAt !== null && entitlement.expiresAt.getTime() <= t) return false;
  if (entitlement.revokedAt !== null && entitlement.revokedAt.getTime() <= t) return false;
  return true;
}

/** Milliseconds left until the entitlement ends (expiry or scheduled revocation), or Infinity. */
export function millisecondsLeft(entitlement: ModelEntitlement, now: Date): number {
  const ends = [entitlement.expiresAt, entitlement.revokedAt]
    .filter((date): date is Date => date !== null)
    .map((date) => date.getTime() - now.getTime())
    .filter((left) => left > 0);
  return Math.min(Number.POSITIVE_INFINITY, ...ends);
}

/** Something that may back a grant: a rule or an entitlement, as the model sees it. */
export interface Candidate {
  readonly source: { kind: 'rule' | 'entitlement'; id: string };
  readonly resources: readonly string[];
  readonly bundles: readonly string[];
  readonly limits: Limits;
  readonly millisecondsLeft: number;
  readonly createOnly: boolean;
}

/** The rules and entitlements that apply to this caller and action, in decision order: rules in file order, then entitlements. */
export function candidates(c: ModelCase): Candidate[] {
  const { ask, who, now } = c;
  const fromRules = c.rules
    .filter((rule) => rule.actions.includes(ask.action) && whenHolds(rule.when, who))
    .map((rule) => ({
      source: { kind: 'rule' as const, id: rule.id },
      resources: rule.resources ?? [],
      bundles: rule.bundles ?? [],
      limits: rule.limits ?? {},
      millisecondsLeft: Number.POSITIVE_INFINITY,
      createOnly: rule.createOnly === true,
    }));
  const fromEntitlements = c.entitlements
    .filter((e) => e.subject === who.sub && e.actions.includes(ask.action) && liveAt(e, now))
    .map((e) => ({
      source: { kind: 'entitlement' as const, id: e.id },
      resources: e.resources,
      bundles: e.bundleId === null ? [] : [e.bundleId],
      limits: {},
      millisecondsLeft: millisecondsLeft(e, now),
      createOnly: e.createOnly,
    }));
  return [...fromRules, ...fromEntitlements];
}

/**
 * Does the candidate cover the ask's target? A key: one of its resource patterns, or, for a
 * read only, the resource of one of its bundles that the policy defines. A bundle: it names it,
 * and bundles are read-only.
 */
export function coversTarget(candidate: Candidate, c: ModelCase): boolean {
  const { ask, who } = c;
  if (ask.target.kind === 'bundle') return ask.action === 'read' && candidate.bundles.includes(ask.target.bundleId);
  const { key } = ask.target;
  if (candidate.resources.some((source) => patternCovers(source, who.claims, key))) return true;
  if (ask.action !== 'read') return false;
  return candidate.bundles.some((id) => {
    const resource = Object.hasOwn(c.bundles, id) ? c.bundles[id] : undefined;
    return resource !== undefined && patternCovers(resource, who.claims, key);
  });
}

export const maxBytesFor = (limits: Limits, defaults: Defaults): number =>
  Math.min(limits.maxBytes ?? defaults.maxBytes, defaults.maxBytes);

const mediaType = (contentType: string): string => (contentType.split(';')[0] ?? '').trim().toLowerCase();

function typeAllowed(ranges: readonly string[], type: string): boolean {
  return ranges.some((range) => (range.endsWith('/*') ? type.startsWith(range.slice(0, range.length - 1)) : type === range));
}

/** Content that runs script in a browser: HTML, SVG, XML (any `+xml`), JavaScript and their kin. */
export const ACTIVE_TYPES = [
  'text/html',
  'application/xhtml+xml',
  'image/svg+xml',
  'text/xml',
  'application/xml',
  'text/xsl',
  'application/xslt+xml',
  'text/javascript',
  'application/javascript',
  'application/x-javascript',
  'text/ecmascript',
  'application/ecmascript',
  'application/x-shockwave-flash',
  'multipart/x-mixed-replace',
  'message/rfc822',
  'application/x-mimearchive',
];
const isActive = (type: string): boolean => ACTIVE_TYPES.includes(type) || type.endsWith('+xml');

/**
 * Only uploads carry limits: size (never above the broker-wide cap) and content type, where
 * content that runs script needs the rule to name its type itself (a range or no list is not enough).
 */
export function limitsFit(limits: Limits, c: ModelCase): boolean {
  const { ask, defaults } = c;
  if (ask.action === 'read') return true;
  if (ask.contentLength !== undefined && ask.contentLength > maxBytesFor(limits, defaults)) return false;
  if (ask.contentType === undefined) return true;
  const type = mediaType(ask.contentType);
  if (limits.contentTypes !== undefined && !typeAllowed(limits.contentTypes, type)) return false;
  return !isActive(type) || (limits.contentTypes ?? []).includes(type);
}

export type Expected =
  | { allow: true; source: Candidate['source']; ttlSeconds: number; maxBytes: number; createOnly: boolean }
  | { allow: false; code: 'BROKER_FORBIDDEN' }
  | { allow: false; code: 'BROKER_LIMIT_EXCEEDED'; source: Candidate['source'] };

/** The TTL a grant backed by this candidate gets: as asked (or the default), capped by the rule, the broker and the candidate's end. */
export function ttlFor(candidate: Candidate, c: ModelCase): number {
  const { ask, defaults } = c;
  const cap = Math.min(candidate.limits.maxTtlSeconds ?? defaults.maxTtlSeconds, defaults.maxTtlSeconds);
  return Math.min(ask.ttlSeconds ?? defaults.defaultTtlSeconds, cap, Math.floor(candidate.millisecondsLeft / 1000));
}

/**
 * Deny by default; the first candidate that covers the target, lasts at least a second more
 * and whose limits fit decides. Failing that, the first covering one whose limits did not fit
 * is named in a BROKER_LIMIT_EXCEEDED.
 */
export function expectedDecision(c: ModelCase): Expected {
  const covering = candidates(c).filter((candidate) => coversTarget(candidate, c) && candidate.millisecondsLeft >= 1000);
  const fitting = covering.find((candidate) => limitsFit(candidate.limits, c));
  if (fitting !== undefined) {
    return {
      allow: true,
      source: fitting.source,
      ttlSeconds: ttlFor(fitting, c),
      maxBytes: maxBytesFor(fitting.limits, c.defaults),
      // The candidate that decides says whether the upload may replace a key: never one that did not fit.
      createOnly: fitting.createOnly,
    };
  }
  const first = covering[0];
  return first === undefined
    ? { allow: false, code: 'BROKER_FORBIDDEN' }
    : { allow: false, code: 'BROKER_LIMIT_EXCEEDED', source: first.source };
}
