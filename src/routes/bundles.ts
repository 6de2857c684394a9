import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { Config } from '../config/config.js';
import { BrokerError } from '../errors/catalogue.js';
import { BundleCookiesSchema, BundleParamsSchema, problemResponses } from './schemas.js';
import { SIGV4_MAX_TTL_SECONDS } from '../policy/schema.js';

const CLOUDFRONT_COOKIES = ['CloudFront-Policy', 'CloudFront-Signature', 'CloudFront-Key-Pair-Id', 'CloudFront-Hash-Algorithm'] as const;

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
        querystring: Type.Object(
          {
            ttlSeconds: Type.Optional(
              Type.String({
                pattern: '^[1-9][0-9]{0,5}$',
                description: `Requested lifetime in seconds (at most ${SIGV4_MAX_TTL_SECONDS}), capped by the rule.`,
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: BundleCookiesSchema, ...problemResponses(400, 401, 403, 404, 501) },
      },
    },
    async (request, reply) => {
      // A body is refused rather than ignored: a caller sending {"ttlSeconds": 5} must not silently get 15 minutes.
      if (request.body !== undefined && request.body !== null) {
        throw new BrokerError('BROKER_VALIDATION', 'this route takes no body; pass ttlSeconds in the query string');
      }
      const ttl = request.query.ttlSeconds === undefined ? undefined : Math.min(Number(request.query.ttlSeconds), SIGV4_MAX_TTL_SECONDS);
      const grant = await app.grants.bundleCookies(request.principal, request.params.bundleId, ttl, request.log);
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
        response: { 204: Type.Null(), ...problemResponses(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const path = app.grants.bundleCookiePath(request.principal, request.params.bundleId);
      for (const name of CLOUDFRONT_COOKIES) reply.clearCookie(name, cookieOptions(config, path));
      return reply.code(204).send(null);
    },
  );
};
