import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { errorCatalogue, problemType, type ErrorCode, type FieldError } from './catalogue.js';

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

/** An error as the error handler classified it, before any wire format. */
export interface ErrorOutcome {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly errors?: FieldError[] | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * How one context writes its errors. The broker's own routes answer RFC 9457
 * problems; a prefix speaking another protocol (Uppy Companion's `/s3`, say)
 * registers its own formatter and keeps the same classification.
 */
export interface ErrorFormatter {
  send(request: FastifyRequest, reply: FastifyReply, outcome: ErrorOutcome): FastifyReply;
}

function problemOf(request: FastifyRequest, { code, detail, errors }: ErrorOutcome): Problem {
  const { status, title } = errorCatalogue[code];
  return {
    type: problemType(code),
    title,
    status,
    detail,
    code,
    instance: request.url.split('?')[0] ?? '/',
    requestId: request.id,
    ...(errors ? { errors } : {}),
  };
}

export const problemFormatter: ErrorFormatter = {
  send(request, reply, outcome) {
    const problem = problemOf(request, outcome);
    if (outcome.headers) reply.headers(outcome.headers);
    return reply.code(problem.status).type('application/problem+json').send(problem);
  },
};

const exampleDetails: Partial<Record<ErrorCode, string>> = {
  BROKER_VALIDATION: 'body/contentLength must be integer',
  BROKER_UNAUTHENTICATED: 'token has expired',
  BROKER_FORBIDDEN: 'no rule or entitlement grants write on key "uploads/bob/x.png"',
  BROKER_LIMIT_EXCEEDED: 'rule "own-uploads": contentLength 209715200 exceeds the limit of 104857600 bytes',
  BROKER_INTERNAL: 'internal error; quote request id c0ffee00-0000-4000-8000-000000000000 when reporting it',
};

/** What any grant route may also answer: its rate limits, and a store that does not answer. */
export const GRANT_PROBLEMS = [
  'BROKER_RATE_LIMITED',
  'BROKER_RATE_LIMIT_UNAVAILABLE',
  'BROKER_STORE_UNAVAILABLE',
] as const satisfies readonly ErrorCode[];

/**
 * The error responses a route can give, as served and documented:
 * `application/problem+json`, grouped by status, with an example per code.
 */
export function problemResponses(path: string, ...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of [...codes, 'BROKER_INTERNAL' as const]) {
    const { status } = errorCatalogue[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const example = { url: path, id: 'c0ffee00-0000-4000-8000-000000000000' } as FastifyRequest;
  return Object.fromEntries(
    [...byStatus].map(([status, group]) => {
      const examples = Object.fromEntries(
        group.map((code) => [
          code,
          {
            summary: errorCatalogue[code].title,
            value: problemOf(example, { code, detail: exampleDetails[code] ?? errorCatalogue[code].title }),
          },
        ]),
      );
      const description = group.map((code) => `\`${code}\`: ${errorCatalogue[code].title}`).join('; ');
      return [status, { description, content: { 'application/problem+json': { schema: Type.Ref('Problem'), examples } } }];
    }),
  );
}
