import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import fp from 'fastify-plugin';
import { BrokerError, errorCatalogue, problemType, type ErrorCode, type FieldError } from './catalogue.js';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URN naming the problem; one per code.' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String({ description: 'What went wrong, for a person. Never holds a secret or a stack trace.' }),
    code: Type.Unsafe<ErrorCode>({ type: 'string', enum: Object.keys(errorCatalogue), description: 'Stable machine-readable code.' }),
    instance: Type.String({ description: 'The request path.' }),
    requestId: Type.String({ description: 'Quote it when reporting a problem; it is in the logs.' }),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', title: 'Problem', description: 'RFC 9457 problem details, the body of every error.' },
);
export type Problem = Static<typeof ProblemSchema>;

export const problemRef = Type.Ref(ProblemSchema);

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  code: ErrorCode,
  detail: string,
  errors?: FieldError[],
): FastifyReply {
  const { status, title } = errorCatalogue[code];
  const body: Problem = {
    type: problemType(code),
    title,
    status,
    detail,
    code,
    instance: request.url.split('?')[0] ?? '/',
    requestId: request.id,
    ...(errors ? { errors } : {}),
  };
  return reply.code(status).type('application/problem+json').send(body);
}

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

/** One error shape everywhere; 5xx details stay in the logs. */
export const problemPlugin = fp(
  async (app: FastifyInstance) => {
    app.addSchema(ProblemSchema);
    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error instanceof BrokerError) {
        if (error.status >= 500) request.log.warn({ code: error.code, detail: error.message }, 'request failed');
        return sendProblem(request, reply, error.code, error.message, error.errors);
      }
      if (error.validation) {
        const errors = fieldErrors(error);
        return sendProblem(request, reply, 'BROKER_VALIDATION', errors.map((item) => `${item.path} ${item.message}`).join('; '), errors);
      }
      const frameworkCode = error.code ? FRAMEWORK_CODES[error.code] : undefined;
      if (frameworkCode) return sendProblem(request, reply, frameworkCode, error.message);
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        request.log.info({ err: error }, 'client error without a catalogue code');
        // Fastify's own 4xx messages describe the request, never server state, so they are safe to show.
        const detail = error.code?.startsWith('FST_') ? error.message : 'the request could not be processed';
        return sendProblem(request, reply, 'BROKER_VALIDATION', detail);
      }
      request.log.error({ err: error }, 'unhandled error');
      return sendProblem(request, reply, 'BROKER_INTERNAL', `internal error; quote request id ${request.id} when reporting it`);
    });
    // Paths the app serves, so a known path with the wrong method answers 405 with Allow, not 404.
    const routes: { pattern: RegExp; methods: string[] }[] = [];
    app.addHook('onRoute', (route) => {
      const pattern = new RegExp(
        `^${route.url
          .replace(/[.+?^${}()|[\]\\]/gu, '\\$&')
          .replace(/:[A-Za-z0-9_]+/gu, '[^/]+')
          .replace(/\*/gu, '.*')}$`,
        'u',
      );
      // OPTIONS (CORS preflight on every path) and HEAD (implied by GET) say nothing about what a path serves.
      const methods = [route.method].flat().filter((method) => method !== 'OPTIONS' && method !== 'HEAD');
      if (methods.length > 0) routes.push({ pattern, methods });
    });
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0] ?? '/';
      const allowed = [...new Set(routes.filter((route) => route.pattern.test(path)).flatMap((route) => route.methods))];
      if (allowed.length > 0) {
        reply.header('allow', allowed.join(', '));
        return sendProblem(
          request,
          reply,
          'BROKER_METHOD_NOT_ALLOWED',
          `${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}`,
        );
      }
      return sendProblem(request, reply, 'BROKER_NOT_FOUND', `no route ${request.method} ${path}`);
    });
  },
  { name: 'access-broker-problems' },
);
