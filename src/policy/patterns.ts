/**
 * Resource patterns: `uploads/{sub}/*`. `*` matches any run of characters
 * (including `/`); `{claim}` is replaced by that token claim, taken literally.
 * A claim value that could widen the pattern (a wildcard, a `/`, a dot segment)
 * makes the pattern unusable for that caller rather than being escaped, so a
 * crafted claim can never reach another caller's prefix.
 */
export type Claims = Readonly<Record<string, unknown>>;

type Part = { literal: string } | { claim: string } | { wildcard: true };

export interface CompiledPattern {
  readonly source: string;
  /** Never empty: an empty pattern is refused. */
  readonly parts: readonly [Part, ...Part[]];
}

export type Resolved = { ok: true; pattern: ResolvedPattern } | { ok: false; reason: string };

/** A pattern with claims substituted: literal chunks between `*` wildcards. */
export interface ResolvedPattern {
  readonly chunks: readonly [string, ...string[]];
}

const TOKEN = /\{([A-Za-z_][A-Za-z0-9_.:-]*)\}|\*/gu;

export function compilePattern(source: string): CompiledPattern {
  if (source === '') throw new Error('a resource pattern is empty');
  if (source.includes('?')) throw new Error(`pattern "${source}": "?" is not allowed; use "*"`);
  if (source.startsWith('/')) throw new Error(`pattern "${source}": must not start with "/"`);
  const parts: Part[] = [];
  let last = 0;
  for (const match of source.matchAll(TOKEN)) {
    if (match.index > last) parts.push({ literal: source.slice(last, match.index) });
    parts.push(match[1] === undefined ? { wildcard: true } : { claim: match[1] });
    last = match.index + match[0].length;
  }
  if (last < source.length) parts.push({ literal: source.slice(last) });
  const stray = parts.some((part) => 'literal' in part && /[{}]/u.test(part.literal));
  if (stray) throw new Error(`pattern "${source}": "{" and "}" only enclose a claim name`);
  // A non-empty source always makes at least one part.
  return { source, parts: parts as [Part, ...Part[]] };
}

const UNSAFE_CLAIM_VALUE = /[/*?{}\u0000-\u001f\u007f-\u009f]/u;

function claimText(claims: Claims, name: string): string | undefined {
  const value = claims[name];
  if (typeof value === 'string') return value;
  if (Number.isFinite(value)) return String(value); // false for anything but a finite number
  return undefined;
}

export function resolvePattern(pattern: CompiledPattern, claims: Claims): Resolved {
  const chunks: [string, ...string[]] = [''];
  for (const part of pattern.parts) {
    if ('wildcard' in part) {
      chunks.push('');
      continue;
    }
    let text: string;
    if ('literal' in part) {
      text = part.literal;
    } else {
      const value = claimText(claims, part.claim);
      if (value === undefined) return { ok: false, reason: `claim "${part.claim}" is missing or not a string` };
      if (value === '' || value === '.' || value === '..' || value.length > 256 || UNSAFE_CLAIM_VALUE.test(value)) {
        return { ok: false, reason: `claim "${part.claim}" cannot be used in a resource pattern` };
      }
      text = value;
    }
    chunks[chunks.length - 1] += text;
  }
  return { ok: true, pattern: { chunks } };
}

export function matchesResolved(pattern: ResolvedPattern, key: string): boolean {
  const [first, ...middle] = pattern.chunks;
  const lastChunk = middle.pop();
  if (lastChunk === undefined) return key === first;
  if (!key.startsWith(first) || key.length < first.length + lastChunk.length || !key.endsWith(lastChunk)) return false;
  let cursor = first.length;
  const end = key.length - lastChunk.length;
  for (const chunk of middle) {
    const found = key.indexOf(chunk, cursor);
    if (found === -1 || found + chunk.length > end) return false;
    cursor = found + chunk.length;
  }
  return true;
}

/** The fixed prefix under which the server may generate keys, if the pattern is `prefix*`. */
export function generationPrefix(pattern: ResolvedPattern): string | undefined {
  const [prefix, rest, ...more] = pattern.chunks;
  if (rest !== '' || more.length > 0) return undefined;
  return prefix;
}
