import type { FastifyRequest } from 'fastify';
import type { Caller } from '../grants/authorizer.js';

/** The verified caller of an authenticated request, as decisions record it. */
export const callerOf = (request: FastifyRequest): Caller => ({
  principal: request.principal,
  requestId: request.id,
  clientAddress: request.ip,
  onDecision: (decision) => {
    if (decision.allow) request.decisionsAllowed += 1;
    else request.decisionsDenied += 1;
    const { source } = decision;
    request.decidedBy = source === undefined ? (decision.allow ? '' : decision.code) : `${source.kind}:${source.id}`;
  },
});

/** A signed request's headers as a browser is to send them: browsers set Content-Length themselves and refuse to be told it. */
export const browserHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'content-length'));
