import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { trustedKeyProblem } from '../edge/verify.js';
import type { CloudFrontKey, HashAlgorithm } from './config.js';

/** CloudFront's public key ids (`K2JCJMDEHXQW5F`); also the shape of the development ids. */
export const KEY_PAIR_ID_PATTERN = '^[A-Z0-9]{8,64}$';

/** A CloudFront key group holds at most five public keys; a ring of more could not all be trusted. */
const KEY_GROUP_MAX_KEYS = 5;

const ALGORITHMS = ['RSA-SHA1', 'RSA-SHA256', 'ECDSA-SHA1', 'ECDSA-SHA256'] as const;
export type CloudFrontAlgorithm = (typeof ALGORITHMS)[number];

/** The key ring document, from CLOUDFRONT_KEY_RING, CLOUDFRONT_KEY_RING_FILE or a Secrets Manager secret (JSON or YAML). */
const KeyRingSchema = Type.Object(
  {
    signingKeyId: Type.Optional(Type.String({ pattern: KEY_PAIR_ID_PATTERN })),
    keys: Type.Array(
      Type.Object(
        {
          id: Type.String({ pattern: KEY_PAIR_ID_PATTERN }),
          algorithm: Type.Union(ALGORITHMS.map((algorithm) => Type.Literal(algorithm))),
          privateKey: Type.Optional(Type.String({ minLength: 1 })),
          privateKeyFile: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: KEY_GROUP_MAX_KEYS },
    ),
  },
  { additionalProperties: false },
);
type KeyRingDocument = Static<typeof KeyRingSchema>;

const uncapitalized = (text: string): string => text.charAt(0).toLowerCase() + text.slice(1);

export type KeyRingResult = { ok: true; keys: readonly [CloudFrontKey, ...CloudFrontKey[]] } | { ok: false; errors: string[] };

/**
 * A private key given as PEM (text before the armour, such as openssl's "Bag Attributes", allowed), or as
 * base64 of a PEM or of a DER key (PKCS#8, or PKCS#1 for RSA, SEC1 for EC): environment variables and
 * secrets stores mangle newlines, base64 has none. Throws when it is none of these.
 */
export function parsePrivateKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.includes('-----BEGIN')) return createPrivateKey(trimmed);
  if (!/^[A-Za-z0-9+/\s]+={0,2}$/u.test(trimmed)) throw new Error('neither PEM nor base64');
  const bytes = Buffer.from(trimmed, 'base64');
  const decoded = bytes.toString('utf8');
  if (decoded.includes('-----BEGIN')) return createPrivateKey(decoded.trim());
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      return createPrivateKey({ key: bytes, format: 'der', type });
    } catch {
      // the next encoding
    }
  }
  throw new Error('not a DER private key');
}

/** The key as PEM: what the rest of the broker (signer, edge) takes, whatever form it came in. */
const pemOf = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString();

/** CloudFront key groups take RSA 2048 and ECDSA P-256 keys; anything else would sign URLs no distribution accepts. */
function cloudfrontKeyProblem(key: KeyObject): string | undefined {
  if (key.type !== 'private') return 'is not a private key';
  return trustedKeyProblem(createPublicKey(key));
}

const familyOf = (key: KeyObject): 'RSA' | 'ECDSA' => (key.asymmetricKeyType === 'ec' ? 'ECDSA' : 'RSA');

/** The algorithm a key signs with: its own family, and the hash asked for. */
const algorithmOf = (key: KeyObject, hash: HashAlgorithm): CloudFrontAlgorithm => `${familyOf(key)}-${hash}`;

const hashOf = (algorithm: CloudFrontAlgorithm): HashAlgorithm => (algorithm.endsWith('SHA256') ? 'SHA256' : 'SHA1');

/** One key checked: it parses, CloudFront would accept it, and it is of the family its algorithm names. */
export function validateKey(
  id: string,
  text: string,
  algorithm: CloudFrontAlgorithm | undefined,
  hash: HashAlgorithm,
): { ok: true; key: CloudFrontKey } | { ok: false; problem: string } {
  let key: KeyObject;
  try {
    key = parsePrivateKey(text);
  } catch {
    return { ok: false, problem: 'not a PEM or base64 private key (the value is not shown)' };
  }
  const problem = cloudfrontKeyProblem(key);
  if (problem !== undefined) return { ok: false, problem };
  const actual = algorithmOf(key, algorithm === undefined ? hash : hashOf(algorithm));
  if (algorithm !== undefined && actual !== algorithm) {
    return { ok: false, problem: `its algorithm is ${algorithm}, but it holds an ${familyOf(key)} key` };
  }
  return { ok: true, key: { id, privateKey: pemOf(key), hashAlgorithm: hashOf(actual) } };
}

/**
 * Parses and checks a whole key ring, naming every bad key by its position and id. The signing key
 * (`signingKeyId`, else the first) comes first in the result; the others stay trusted for rotation.
 */
export async function parseKeyRing(text: string, source: string, read = readFile): Promise<KeyRingResult> {
  // YAML is a superset of JSON. Silent, and warnings count as errors: the yaml package prints a warning
  // with the offending source line to stderr, and that line may hold a private key.
  const parsed = parseDocument(text, { logLevel: 'silent', prettyErrors: false });
  if (parsed.errors.length > 0 || parsed.warnings.length > 0) {
    return { ok: false, errors: [`${source}: not JSON or YAML (the value is not shown)`] };
  }
  const document: unknown = parsed.toJS();
  if (!Value.Check(KeyRingSchema, document)) {
    const problems = [...Value.Errors(KeyRingSchema, document)].map(
      (error) => `${source}: ${error.path || '/'}: ${uncapitalized(error.message)}`,
    );
    return { ok: false, errors: [...new Set(problems)] };
  }
  const ring: KeyRingDocument = document;
  const errors: string[] = [];
  const keys: CloudFrontKey[] = [];
  const seen = new Set<string>();
  for (const [index, entry] of ring.keys.entries()) {
    const name = `${source}: keys[${index}] (${entry.id})`;
    if (seen.has(entry.id)) errors.push(`${name}: the id appears twice`);
    seen.add(entry.id);
    if ((entry.privateKey === undefined) === (entry.privateKeyFile === undefined)) {
      errors.push(`${name}: give exactly one of privateKey and privateKeyFile`);
      continue;
    }
    let text = entry.privateKey;
    if (entry.privateKeyFile !== undefined) {
      try {
        text = await read(entry.privateKeyFile, 'utf8');
      } catch (error) {
        errors.push(`${name}: cannot read privateKeyFile "${entry.privateKeyFile}" (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
        continue;
      }
    }
    const verdict = validateKey(entry.id, text ?? '', entry.algorithm, 'SHA1');
    if (verdict.ok) keys.push(verdict.key);
    else errors.push(`${name}: ${verdict.problem}`);
  }
  const signingId = ring.signingKeyId ?? ring.keys[0]?.id;
  if (ring.signingKeyId !== undefined && !seen.has(ring.signingKeyId)) {
    errors.push(`${source}: signingKeyId ${ring.signingKeyId} is not one of the ring's keys`);
  }
  const signing = keys.find((key) => key.id === signingId);
  if (errors.length > 0 || signing === undefined) return { ok: false, errors };
  return { ok: true, keys: [signing, ...keys.filter((key) => key !== signing)] };
}
