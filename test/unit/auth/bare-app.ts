import Fastify, { type FastifyInstance } from 'fastify';
import { authenticationPlugin } from '../../../src/auth/authenticate.js';
import type { Config } from '../../../src/config/config.js';
import type { BrokerError } from '../../../src/errors/catalogue.js';
import { testConfig } from '../../helpers/config.js';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly reason?: string;
  readonly kid?: string;
  readonly err?: { message?: string };
}

/**
 * The authentication plugin alone on a Fastify instance, with every log line kept: `/who` is
 * authenticated and answers with the caller's `sub`; `/outside` is not. Refusals are answered
 * as { code, detail } with the error's own headers, as the broker's error handler does.
 */
export async function bareApp(verification?: Config['jwt']['verification']): Promise<{ app: FastifyInstance; logs: LogLine[] }> {
  const base = testConfig();
  const config: Config = verification === undefined ? base : { ...base, jwt: { ...base.jwt, verification } };
  const logs: LogLine[] = [];
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } } });
  await app.register(authenticationPlugin, { config });
  app.setErrorHandler((error: BrokerError, _request, reply) =>
    reply
      .status(error.status ?? 500)
      .headers(error.headers ?? {})
      .send({ code: error.code, detail: error.message }),
  );
  app.get('/who', { onRequest: async (request) => app.authenticate(request) }, async (request) => ({ sub: request.principal.sub }));
  app.get('/outside', async (request) => ({ sub: request.principal.sub }));
  return { app, logs };
}
