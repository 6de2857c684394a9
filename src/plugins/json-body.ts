import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { BrokerError } from '../errors/catalogue.js';

/**
 * Bodies are JSON, and valid UTF-8. Fastify's parser decodes invalid bytes to
 * U+FFFD, so a mangled key would be signed instead of refused; this one
 * refuses them. Its own parser (prototype-poisoning checks) does the rest.
 * text/plain is not accepted at all: it is 415, not a schema error.
 */
export const jsonBodyPlugin = fp(
  async (app: FastifyInstance) => {
    const parseJson = app.getDefaultJsonParser('error', 'error');
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
      let text: string;
      try {
        text = utf8.decode(body);
      } catch {
        done(new BrokerError('BROKER_VALIDATION', 'the body is not valid UTF-8'), undefined);
        return;
      }
      void parseJson(request, text, done);
    });
  },
  { name: 'access-broker-json-body' },
);
