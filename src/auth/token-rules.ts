/**
 * What a verified token must also satisfy, beyond its signature, `exp` and
 * `nbf` (checked by fast-jwt). Pure, so each rule is tested on its own.
 */
export interface TokenRules {
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly clockToleranceSeconds: number;
  /** The longest lifetime a token may claim, from `iat` (or from now, without one). */
  readonly maxTokenAgeSeconds: number;
}

/** JWT_MAX_TOKEN_AGE_SECONDS's default: a day, longer than any access token an identity provider issues by default. */
export const DEFAULT_MAX_TOKEN_AGE_SECONDS = 86_400;

// Access tokens only: `JWT` (RFC 7519) and `at+jwt` (RFC 9068). Refresh, ID or logout tokens of the same issuer are not grants.
const ACCESS_TOKEN_TYPES = new Set(['jwt', 'at+jwt']);

// Number.isFinite is false for anything but a finite number: no coercion, unlike the global isFinite.
const isNumber = (value: unknown): value is number => Number.isFinite(value);

const isAccessTokenType = (typ: unknown): boolean =>
  typeof typ === 'string' && ACCESS_TOKEN_TYPES.has(typ.toLowerCase().replace(/^application\//u, ''));

/** The reason a signature-verified token is still refused, or undefined. `now` in epoch seconds. */
export function tokenProblem(
  header: Readonly<Record<string, unknown>>,
  payload: Readonly<Record<string, unknown>>,
  now: number,
  rules: TokenRules,
): string | undefined {
  const { typ } = header;
  if (typ !== undefined && !isAccessTokenType(typ)) return `token type ${JSON.stringify(typ)} is not an access token (JWT or at+jwt)`;
  // A configured issuer or audience is required, not only compared when the token happens to carry it.
  if (rules.issuer !== undefined && payload.iss !== rules.issuer) {
    return payload.iss === undefined ? 'token has no "iss" claim; this broker requires its issuer' : 'token is from another issuer';
  }
  if (rules.audience !== undefined) {
    const { aud } = payload;
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (aud === undefined) return 'token has no "aud" claim; this broker requires its audience';
    if (!audiences.includes(rules.audience)) return 'token is for another audience';
  }
  const { iat, exp } = payload;
  if (iat !== undefined && !isNumber(iat)) return 'token "iat" is not a number';
  if (isNumber(iat) && iat > now + rules.clockToleranceSeconds) return 'token was issued in the future ("iat")';
  if (!isNumber(exp)) return 'token "exp" is not a number';
  const start = isNumber(iat) ? iat : now;
  if (exp - start > rules.maxTokenAgeSeconds) {
    return `token lifetime exceeds the ${rules.maxTokenAgeSeconds} s this broker accepts (JWT_MAX_TOKEN_AGE_SECONDS)`;
  }
  return undefined;
}
