import type { FastifyRequest } from 'fastify';
import type { Caller } from '../grants/authorizer.js';

/** The verified caller of an authenticated request, as decisions record it. */
export const callerOf = (request: FastifyRequest): Caller => ({
  principal: request.principal,
  requestId: request.id,
  clientAddress: request.ip,
  onDecision: () => {
    request.grantDecisions += 1;
  },
});
