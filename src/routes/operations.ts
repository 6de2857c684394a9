import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { BrokerError } from '../errors/catalogue.js';
import { problemResponses } from '../errors/problem.js';

const status = (description: string) => Type.Object({ status: Type.Literal('ok') }, { description });

export const operationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    {
      config: { operation: 'healthz' },
      schema: {
        operationId: 'healthz',
        tags: ['operations'],
        summary: 'The process is up',
        response: { 200: status('The process answers.') },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { operation: 'readyz' },
      schema: {
        operationId: 'readyz',
        tags: ['operations'],
        summary: 'The broker can decide and sign: the store answers and signing credentials load',
        response: { 200: status('Ready to grant.'), ...problemResponses('/readyz', 'BROKER_NOT_READY') },
      },
    },
    async () => {
      try {
        await app.entitlements.ping();
      } catch (cause) {
        throw new BrokerError('BROKER_NOT_READY', 'the entitlement store does not answer', { cause });
      }
      if (!(await app.rateLimitsReady())) {
        throw new BrokerError('BROKER_NOT_READY', 'Redis for the rate limits does not answer, and RATE_LIMIT_ON_STORE_FAILURE=closed');
      }
      try {
        await app.s3Signer.credentialsExpireAt();
      } catch (cause) {
        throw new BrokerError('BROKER_NOT_READY', 'S3 signing credentials could not be loaded', { cause });
      }
      return { status: 'ok' as const };
    },
  );
};
