import fastifyJwt, { type FastifyJWTOptions, type TokenOrHeader } from '@fastify/jwt';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/config.js';
import { BrokerError } from '../errors/catalogue.js';
import { createJwksKeys } from './jwks.js';
import { principalFromClaims, type Principal } from './principal.js';
import { tokenProblem } from './token-rules.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller. Only readable inside the authenticated context. */
    readonly principal: Principal;
  }
  interface FastifyInstance {
    authenticate(request: FastifyRequest): Promise<void>;
  }
}

const principals = new WeakMap<FastifyRequest, Principal>();

/** The verified caller, if this request was authenticated (for logs, which also see unauthenticated requests). */
export const principalOf = (request: FastifyRequest): Principal | undefined => principals.get(request);

// fast-jwt and @fastify/jwt codes, turned into details a caller can act on. None echoes the token.
// fast-jwt's MALFORMED and INVALID_TYPE reach reasonOf as FST_JWT_AUTHORIZATION_TOKEN_INVALID (@fastify/jwt
// decodes the token first and wraps them), and without a `trusted` option there is no ..._UNTRUSTED.
const DETAILS: Record<string, string> = {
  FST_JWT_NO_AUTHORIZATION_IN_HEADER: 'missing "Authorization: Bearer <token>" header',
  FST_JWT_BAD_REQUEST: 'the Authorization header must have the form "Bearer <token>"',
  FST_JWT_AUTHORIZATION_TOKEN_EXPIRED: 'token has expired',
  FAST_JWT_INACTIVE: 'token is not valid yet (nbf is in the future)',
  FAST_JWT_MISSING_SIGNATURE: 'token is not signed',
  FAST_JWT_INVALID_ALGORITHM: 'token is signed with an algorithm this broker does not accept',
};

const headerOf = (token: TokenOrHeader): { kid?: unknown; alg?: unknown } =>
  ('header' in token ? token.header : token) as { kid?: unknown; alg?: unknown };

/** Each token's key from the identity provider's JWKS; failed fetches and refused keys are logged. */
function jwksSecret(url: string, log: FastifyBaseLogger): FastifyJWTOptions['secret'] {
  const jwks = createJwksKeys({
    url,
    onError: (error) => log.warn({ err: error }, 'fetching JWKS_URL failed; keeping the last good keys'),
    onKeyRefused: (kid, reason) => log.warn({ kid, reason }, 'JWKS_URL publishes a key this broker refuses'),
  });
  return { public: async (_request: FastifyRequest, token: TokenOrHeader) => jwks.keyFor(headerOf(token)) };
}

/**
 * Algorithms are pinned by the kind of key, never taken from the token header:
 * accepting HS256 beside RS256 would let the public key be used as an HMAC secret.
 */
function algorithmsFor(verification: Config['jwt']['verification']): string[] {
  if (verification.kind === 'secret') return ['HS256'];
  if (verification.kind === 'public-key') return [verification.algorithm];
  // keyFor has already refused a token whose alg is not its JWKS key's own: this list is a second lock.
  // Stryker disable next-line ArrayDeclaration: no token tells this second lock from none, since keyFor holds every JWKS token to its key's one algorithm
  return ['RS256', 'ES256'];
}

function jwtOptions(config: Config, log: FastifyBaseLogger): FastifyJWTOptions {
  const { verification, issuer, audience, clockToleranceSeconds } = config.jwt;
  const secret: FastifyJWTOptions['secret'] =
    verification.kind === 'secret'
      ? verification.secret
      : verification.kind === 'public-key'
        ? { public: verification.publicKey }
        : jwksSecret(verification.url, log);
  return {
    secret,
    decode: { complete: true },
    verify: {
      complete: true, // the header too, for tokenProblem's `typ` check
      algorithms: algorithmsFor(verification),
      clockTolerance: clockToleranceSeconds * 1000,
      // A configured issuer or audience is required here as well as compared: fast-jwt only compares a claim that is present.
      requiredClaims: ['sub', 'exp', ...(issuer === undefined ? [] : ['iss']), ...(audience === undefined ? [] : ['aud'])],
      ...(issuer === undefined ? {} : { allowedIss: issuer }),
      ...(audience === undefined ? {} : { allowedAud: audience }),
    } as FastifyJWTOptions['verify'],
    messages: { authorizationTokenInvalid: (error: Error) => `token is not valid: ${error.message}` },
  };
}

/** A detail does not end with fast-jwt's full stop. */
const withoutFullStop = (message: string): string => message.replace(/\.$/u, '');

/** What a caller is told about a refused token: the broker's sentence, or fast-jwt's description of the token's shape. */
export function reasonOf(error: unknown): string {
  if (error instanceof BrokerError) return error.message;
  // @fastify/jwt and fast-jwt throw Errors with a code; anything else falls through to the last line.
  const { code, message } = error as Error & { code?: string };
  // @fastify/jwt builds this message from a template once, so its `messages` function never sees fast-jwt's full stop.
  if (code === 'FST_JWT_AUTHORIZATION_TOKEN_INVALID') return withoutFullStop(message);
  if (code && DETAILS[code]) return DETAILS[code];
  // fast-jwt's own messages describe the token's shape ("The aud claim must be a string…"), never a secret or the token.
  if (code?.startsWith('FAST_JWT_')) return `token is not valid: ${withoutFullStop(message)}`;
  // Anything else is not the caller's to read.
  return 'token is not valid';
}

// RFC 6750 §3: error_description is a quoted string of printable ASCII without `"` or `\`.
const quotable = (text: string): string => text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/gu, "'");

/** 401 with the reason, and the WWW-Authenticate challenge RFC 6750 asks for. */
function refusal(request: FastifyRequest, reason: string, tokenPresent: boolean): BrokerError {
  request.log.info({ reason }, 'token refused');
  const challenge = tokenPresent
    ? `Bearer realm="access-broker", error="invalid_token", error_description="${quotable(reason)}"`
    : 'Bearer realm="access-broker"';
  return new BrokerError('BROKER_UNAUTHENTICATED', reason, { headers: { 'www-authenticate': challenge } });
}

interface VerifiedToken {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
}

/** Registers JWT verification and `authenticate`, used as an onRequest hook by the authenticated context. */
export const authenticationPlugin = fp(
  async (app: FastifyInstance, options: { config: Config }) => {
    await app.register(fastifyJwt, jwtOptions(options.config, app.log));
    app.decorateRequest('principal', {
      getter(this: FastifyRequest): Principal {
        const principal = principals.get(this);
        if (!principal) throw new Error('request.principal read outside the authenticated context');
        return principal;
      },
    });
    const rules = options.config.jwt;
    app.decorate('authenticate', async (request: FastifyRequest) => {
      // RFC 6750: an error in the challenge only when a bearer token was sent; another scheme gets the bare challenge.
      // Stryker disable next-line StringLiteral: without the header, '' and any other text that is not "Bearer ..." test alike
      const tokenPresent = /^Bearer\s/iu.test(request.headers.authorization ?? '');
      let token: VerifiedToken;
      try {
        token = await request.jwtVerify<VerifiedToken>();
      } catch (error) {
        // The identity provider is down: 503, not 401. (keyFor throws only 401s and 503s, so no status is exactly 500.)
        // Stryker disable next-line EqualityOperator: no BrokerError with status 500 reaches here, so > and >= agree
        if (error instanceof BrokerError && error.status >= 500) throw error;
        throw refusal(request, reasonOf(error), tokenPresent);
      }
      const problem = tokenProblem(token.header, token.payload, Math.floor(Date.now() / 1000), rules);
      if (problem !== undefined) throw refusal(request, problem, true);
      const principal = principalFromClaims(token.payload);
      if (!principal) throw refusal(request, 'token has no usable "sub" claim', true);
      principals.set(request, principal);
    });
  },
  { name: 'access-broker-authentication' },
);
