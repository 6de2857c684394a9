import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { BrokerError } from '../errors/catalogue.js';
import type { S3Signer } from '../signing/s3-signer.js';
import type { EntitlementStore } from '../store/entitlement-store.js';
import { problemResponses } from './schemas.js';

const Status = Type.Object({ status: Type.Literal('ok') });

export const operationRoutes: FastifyPluginAsyncTypebox<{ store: EntitlementStore; s3: S3Signer }> = async (app, { store, s3 }) => {
  app.get(
    '/healthz',
    {
      config: { operation: 'healthz' },
      schema: { operationId: 'healthz', tags: ['operations'], summary: 'The process is up', response: { 200: Status } },
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
        response: { 200: Status, ...problemResponses(503) },
      },
    },
    async () => {
      try {
        await store.ping();
      } catch {
        throw new BrokerError('BROKER_NOT_READY', 'the entitlement store does not answer');
      }
      try {
        await s3.credentialsExpireAt();
      } catch {
        throw new BrokerError('BROKER_NOT_READY', 'S3 signing credentials could not be loaded');
      }
      return { status: 'ok' as const };
    },
  );
};
