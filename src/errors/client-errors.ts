import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { errorCatalogue, problemType, type ErrorCode } from './catalogue.js';
import type { Problem } from './problem.js';

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers too
 * large, malformed, too slow) still get a problem+json answer. Unlike
 * Fastify's default handler, this one never logs the error's raw packet:
 * it holds the request bytes, Authorization header included.
 */
export function clientErrorHandler(log: FastifyBaseLogger) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const code: ErrorCode =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'BROKER_REQUEST_TIMEOUT'
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? 'BROKER_HEADERS_TOO_LARGE'
          : 'BROKER_VALIDATION';
    const requestId = randomUUID();
    log.debug({ reqId: requestId, err: error }, 'request refused by the HTTP parser');
    const { status, title } = errorCatalogue[code];
    const problem: Problem = {
      type: problemType(code),
      title,
      status,
      detail: code === 'BROKER_VALIDATION' ? 'the request is not valid HTTP/1.1' : title,
      code,
      instance: `urn:uuid:${requestId}`,
      requestId,
    };
    const body = JSON.stringify(problem);
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}
