import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import fp from 'fastify-plugin';
import { BrokerError, type ErrorCode, type FieldError } from './catalogue.js';
import { problemFormatter, ProblemSchema, type ErrorFormatter, type ErrorOutcome } from './problem.js';

function fieldErrors(error: FastifyError): FieldError[] {
  return (error.validation ?? []).map((item) => {
    const missing = item.keyword === 'required' ? `/${String((item.params as { missingProperty?: string }).missingProperty)}` : '';
    const extra =
      item.keyword === 'additionalProperties' ? `/${String((item.params as { additionalProperty?: string }).additionalProperty)}` : '';
    const path = `${error.validationContext ?? 'body'}${item.instancePath}${missing}${extra}`;
    return { path, message: extra ? 'is not a known property' : (item.message ?? 'is not valid') };
  });
}

// Fastify's own 4xx codes that callers can cause; everything else unknown is a 500.
const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BROKER_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'BROKER_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BROKER_VALIDATION',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BROKER_VALIDATION',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BROKER_VALIDATION',
};

/** What the caller may be told about an error; 5xx details stay in the logs. */
export function classify(error: FastifyError, request: FastifyRequest): ErrorOutcome {
  if (error instanceof BrokerError) {
    // A dependency's failure is logged once, with its cause; the caller only sees the catalogue's detail.
    if (error.status >= 500) request.log.warn({ code: error.code, detail: error.message, err: error.cause }, 'request failed');
    return { code: error.code, detail: error.message, errors: error.errors, headers: error.headers };
  }
  if (error.validation) {
    const errors = fieldErrors(error);
    return { code: 'BROKER_VALIDATION', detail: errors.map((item) => `${item.path} ${item.message}`).join('; '), errors };
  }
  const frameworkCode = error.code ? FRAMEWORK_CODES[error.code] : undefined;
  if (frameworkCode) return { code: frameworkCode, detail: error.message };
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    request.log.info({ err: error }, 'client error without a catalogue code');
    // Fastify's own 4xx messages describe the request, never server state, so they are safe to show.
    return { code: 'BROKER_VALIDATION', detail: error.code?.startsWith('FST_') ? error.message : 'the request could not be processed' };
  }
  request.log.error({ err: error }, 'unhandled error');
  return { code: 'BROKER_INTERNAL', detail: `internal error; quote request id ${request.id} when reporting it` };
}

/** The error handler of a context that writes its errors with `formatter`. */
export const errorHandlerFor =
  (formatter: ErrorFormatter) =>
  (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply =>
    formatter.send(request, reply, classify(error, request));

// OPTIONS (CORS preflight on every path) and HEAD (implied by GET) say nothing about what a path serves.
const ROUTABLE_METHODS: readonly HTTPMethods[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * 404, or 405 with Allow when the path exists with other methods. The router
 * itself is asked, so parameters, wildcards and registration order are
 * matched exactly as for a real request.
 */
export function notFoundHandlerFor(app: FastifyInstance, formatter: ErrorFormatter) {
  return (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = ROUTABLE_METHODS.filter((method) => method !== request.method && app.findRoute({ method, url: path }) !== null);
    if (allowed.length > 0) {
      return formatter.send(request, reply, {
        code: 'BROKER_METHOD_NOT_ALLOWED',
        detail: `${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`,
        headers: { allow: allowed.join(', ') },
      });
    }
    return formatter.send(request, reply, { code: 'BROKER_NOT_FOUND', detail: `no route ${request.method} ${path}` });
  };
}

/** The root context answers every error as an RFC 9457 problem. */
export const problemPlugin = fp(
  async (app: FastifyInstance) => {
    app.addSchema(ProblemSchema);
    app.setErrorHandler(errorHandlerFor(problemFormatter));
    app.setNotFoundHandler(notFoundHandlerFor(app, problemFormatter));
  },
  { name: 'access-broker-problems' },
);
