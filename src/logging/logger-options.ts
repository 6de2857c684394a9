import type { LoggerOptions } from 'pino';
import type { Config } from '../config/config.js';

/**
 * Never logged: tokens, cookies, signatures, policies. The serializers below
 * build every request and error line field by field, so nothing reaches the
 * logs by accident (a raw packet, a header, a query string); these paths
 * cover anything a log call adds itself.
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

interface LoggedRequest {
  readonly method?: string;
  readonly url?: string;
  readonly ip?: string;
  readonly socket?: { readonly remotePort?: number } | null;
}

/** Method, path (never the query string: a token or signature may ride in it), and peer. */
export function requestForLog(request: LoggedRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: (request.url ?? '').split('?')[0],
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** Type, message, code, status, stack and cause chain; none of an error's other properties (a raw packet, a request). */
export function errorForLog(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error) };
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  return {
    type: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof statusCode === 'number' ? { statusCode } : {}),
    stack: error.stack,
    ...(error.cause !== undefined && depth < 4 ? { cause: errorForLog(error.cause, depth + 1) } : {}),
  };
}

/** The broker's pino options, the same in the server, the tests that read logs, and the bench. */
export function loggerOptions(config: Pick<Config, 'logLevel'>): LoggerOptions {
  return {
    level: config.logLevel,
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    serializers: { req: requestForLog, err: errorForLog },
  };
}
