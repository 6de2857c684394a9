import { stdSerializers, type LoggerOptions } from 'pino';
import type { Config } from '../config/config.js';

/**
 * Never logged: tokens, cookies, signatures, policies. Fastify's request
 * serializer logs no headers; these paths cover anything that adds them.
 */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'token',
  'url',
  'fields',
  'cookies',
  'signature',
  'policy',
];

/** The broker's pino options, the same in the server, the tests that read logs, and the bench. */
export function loggerOptions(config: Pick<Config, 'logLevel'>): LoggerOptions {
  return {
    level: config.logLevel,
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    // Errors keep their type, message, stack and cause chain; nothing else of them is serialised.
    serializers: { err: stdSerializers.errWithCause },
  };
}
