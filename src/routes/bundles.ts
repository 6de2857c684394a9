import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Config } from '../config/config.js';
import { BrokerError, type ErrorCode } from '../errors/catalogue.js';
import { GRANT_PROBLEMS, problemResponses } from '../errors/problem.js';
import { BundleCookiesQuerySchema, BundleCookiesSchema, BundleParamsSchema, refTo } from '../grants/schemas.js';
import { SIGV4_MAX_TTL_SECONDS } from '../policy/defaults.js';
import { callerOf } from './caller.js';

const CLOUDFRONT_COOKIES = ['CloudFront-Policy', 'CloudFront-Signature', 'CloudFront-Key-Pair-Id', 'CloudFront-Hash-Algorithm'] as const;

const BUNDLE_PATH_EXAMPLE = '/v1/bundles/demo/cookies';
// Both routes resolve the bundle for the caller (unknown bundle, claims that cannot fill its pattern) after the token check.
const BUNDLE_PROBLEMS = [
  'BROKER_VALIDATION',
  'BROKER_UNAUTHENTICATED',
  'BROKER_FORBIDDEN',
  'BROKER_BUNDLE_NOT_FOUND',
  'BROKER_AUTH_UNAVAILABLE',
] as const satisfies readonly ErrorCode[];

const cookieOptions = (config: Config, path: string): CookieSerializeOptions => ({
  path,
  httpOnly: true,
  secure: config.cookies.secure,
  sameSite: config.cookies.sameSite,
  ...(config.cookies.domain === undefined ? {} : { domain: config.cookies.domain }),
});

export const bundleRoutes: FastifyPluginAsyncTypebox<{ config: Config }> = async (app, { config }) => {
  app.post(
    '/v1/bundles/:bundleId/cookies',
    {
      config: { operation: 'createBundleCookies', grantKind: 'bundle' },
      schema: {
        operationId: 'createBundleCookies',
        tags: ['grants'],
        summary: 'Set CloudFront signed cookies for a bundle of files',
        description:
          "Answers with Set-Cookie headers (CloudFront-Policy, CloudFront-Signature, CloudFront-Key-Pair-Id) scoped by the bundle's cookie path " +
          'and COOKIE_DOMAIN. Browsers must call it with `credentials: "include"` for the cookies to be stored cross-origin.',
        security: [{ bearerAuth: [] }],
        params: BundleParamsSchema,
        querystring: BundleCookiesQuerySchema,
        response: {
          200: {
            ...refTo(BundleCookiesSchema),
            description: 'The cookies are set (Set-Cookie); this summary names them and says when they expire.',
          },
          ...problemResponses(
            BUNDLE_PATH_EXAMPLE,
            ...BUNDLE_PROBLEMS,
            ...GRANT_PROBLEMS,
            'BROKER_COOKIE_TOO_LARGE',
            'BROKER_CDN_NOT_CONFIGURED',
          ),
        },
      },
    },
    async (request, reply) => {
      // A body is refused rather than ignored: a caller sending {"ttlSeconds": 5} must not silently get 15 minutes.
      if (request.body !== undefined && request.body !== null) {
        throw new BrokerError('BROKER_VALIDATION', 'this route takes no body; pass ttlSeconds in the query string');
      }
      const ttl = request.query.ttlSeconds === undefined ? undefined : Number(request.query.ttlSeconds);
      // The same rule as ttlSeconds in a body: refused above the maximum, never silently capped.
      if (ttl !== undefined && ttl > SIGV4_MAX_TTL_SECONDS) {
        const message = `must be <= ${SIGV4_MAX_TTL_SECONDS}`;
        throw new BrokerError('BROKER_VALIDATION', `querystring/ttlSeconds ${message}`, {
          errors: [{ path: 'querystring/ttlSeconds', message }],
        });
      }
      const grant = await app.bundleGrants.cookies(callerOf(request), request.params.bundleId, ttl);
      const options = { ...cookieOptions(config, grant.cookiePath), expires: grant.expiresAt };
      for (const [name, value] of Object.entries<string | undefined>(grant.cookies))
        if (value !== undefined) reply.setCookie(name, value, options);
      return {
        bundleId: grant.bundleId,
        resource: grant.resource,
        expiresAt: grant.expiresAt.toISOString(),
        cookies: Object.keys(grant.cookies),
      };
    },
  );

  app.delete(
    '/v1/bundles/:bundleId/cookies',
    {
      config: { operation: 'deleteBundleCookies' },
      schema: {
        operationId: 'deleteBundleCookies',
        tags: ['grants'],
        summary: 'Clear the CloudFront cookies of a bundle (sign out of it)',
        security: [{ bearerAuth: [] }],
        params: BundleParamsSchema,
        response: {
          204: Type.Null({ description: 'The cookies are cleared (Set-Cookie with a past expiry).' }),
          ...problemResponses(BUNDLE_PATH_EXAMPLE, ...BUNDLE_PROBLEMS),
        },
      },
    },
    async (request, reply) => {
      const path = app.bundleGrants.cookiePath(request.principal, request.params.bundleId);
      for (const name of CLOUDFRONT_COOKIES) reply.clearCookie(name, cookieOptions(config, path));
      return reply.code(204).send(null);
    },
  );
};
