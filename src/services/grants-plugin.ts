import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { GrantService, type GrantDependencies } from './grants.js';

declare module 'fastify' {
  interface FastifyInstance {
    grants: GrantService;
  }
}

export const grantsPlugin = fp(
  async (app: FastifyInstance, dependencies: GrantDependencies) => {
    app.decorate('grants', new GrantService(dependencies));
  },
  { name: 'access-broker-grants' },
);
