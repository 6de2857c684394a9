import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand, S3ServiceException, type GetObjectOutput } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import type { S3Config } from '../config/config.js';
import { createS3Client } from '../signing/s3-signer.js';
import { READ_METHODS, verifyRequest, type TrustedKeyGroup } from './verify.js';

export interface EdgeOptions {
  /** The distribution's scheme and host as signed into grants (`https://<CLOUDFRONT_DOMAIN>`), whatever the edge listens on. */
  readonly origin: string;
  readonly keyGroup: TrustedKeyGroup;
  /** The bucket behind the distribution, read with the broker's own S3 credentials (CloudFront's Origin Access Control). */
  readonly s3: S3Config;
  readonly logger?: Logger | undefined;
}

/** The object headers CloudFront passes on from an S3 origin. */
type ObjectHeaders = Pick<
  GetObjectOutput,
  | 'ContentType'
  | 'ContentLength'
  | 'ETag'
  | 'LastModified'
  | 'ContentRange'
  | 'AcceptRanges'
  | 'CacheControl'
  | 'ContentDisposition'
  | 'ContentEncoding'
>;

const escapeXml = (text: string): string =>
  text.replace(/[<>&'"]/gu, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[char] ?? char);

function sendError(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: OutgoingHttpHeaders = {},
): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`;
  response.writeHead(status, { ...headers, 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) });
  response.end(request.method === 'HEAD' ? undefined : body);
}

/** Cookie header → name → value; the first of a repeated name wins, as browsers send the most specific path first. */
function parseCookies(header: string | undefined): Record<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    const name = part.slice(0, Math.max(at, 0)).trim();
    const value = part.slice(at + 1).trim();
    if (at > 0 && !cookies.has(name)) cookies.set(name, /^".*"$/u.test(value) ? value.slice(1, -1) : value);
  }
  return Object.fromEntries(cookies);
}

function objectHeaders(object: ObjectHeaders): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    'content-type': object.ContentType,
    'content-length': object.ContentLength,
    etag: object.ETag,
    'last-modified': object.LastModified?.toUTCString(),
    'content-range': object.ContentRange,
    'accept-ranges': object.AcceptRanges,
    'cache-control': object.CacheControl,
    'content-disposition': object.ContentDisposition,
    'content-encoding': object.ContentEncoding,
  };
  return Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined));
}

/** HTTP says a conditional date that does not parse is ignored. */
function dateHeader(value: string | undefined): Date | undefined {
  const date = value === undefined ? undefined : new Date(value);
  return date === undefined || Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * A local CloudFront edge: every GET or HEAD must carry a signed URL or signed cookies that verify against the
 * trusted key group (verify.ts); the object then comes from the S3 origin with its status and headers, Range and
 * conditional requests passed through. Refusals are 403 with CloudFront's XML error body.
 */
export function createEdgeServer(options: EdgeOptions): Server {
  const s3 = createS3Client(options.s3);

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? '';
    const target = request.url ?? '';
    const mark = target.indexOf('?');
    const path = mark < 0 ? target : target.slice(0, mark);
    const log = (status: number, reason?: string): void => options.logger?.info({ method, path, status, reason }, 'edge request');

    if (!READ_METHODS.has(method)) {
      log(405);
      return sendError(request, response, 405, 'MethodNotAllowed', 'only GET and HEAD are served', { allow: 'GET, HEAD' });
    }
    const verdict = verifyRequest(
      {
        method,
        path,
        query: mark < 0 ? '' : target.slice(mark + 1),
        cookies: parseCookies(request.headers.cookie),
        clientIp: request.socket.remoteAddress ?? '',
      },
      { origin: options.origin, keyGroup: options.keyGroup, now: new Date() },
    );
    if (!verdict.ok) {
      log(403, verdict.reason);
      return sendError(request, response, 403, 'AccessDenied', verdict.reason);
    }

    let key: string;
    try {
      key = decodeURIComponent(path.slice(1));
    } catch {
      log(400);
      return sendError(request, response, 400, 'InvalidURI', 'the path is not percent-encoded correctly');
    }
    if (key === '') {
      log(404);
      return sendError(request, response, 404, 'NoSuchKey', 'the path names no object');
    }
    const conditions = {
      Bucket: options.s3.bucket,
      Key: key,
      Range: request.headers.range,
      IfMatch: request.headers['if-match'],
      IfNoneMatch: request.headers['if-none-match'],
      IfModifiedSince: dateHeader(request.headers['if-modified-since']),
      IfUnmodifiedSince: dateHeader(request.headers['if-unmodified-since']),
    };
    // Forwarded to S3 as a distribution's origin request policy would (README): S3 then answers with that header.
    const disposition = new URLSearchParams(mark < 0 ? '' : target.slice(mark + 1)).get('response-content-disposition') ?? undefined;
    try {
      if (method === 'HEAD') {
        const head = await s3.send(new HeadObjectCommand(conditions));
        response.writeHead(head.$metadata.httpStatusCode ?? 200, objectHeaders(head));
        response.end();
      } else {
        const object = await s3.send(new GetObjectCommand({ ...conditions, ResponseContentDisposition: disposition }));
        response.writeHead(object.$metadata.httpStatusCode ?? 200, objectHeaders(object));
        await pipeline(object.Body as Readable, response);
      }
      log(response.statusCode);
    } catch (error) {
      const status = error instanceof S3ServiceException ? (error.$metadata.httpStatusCode ?? 0) : 0;
      if (response.headersSent) {
        // The body broke off half way (client gone, or the origin dropped): nothing can be said any more.
        options.logger?.warn({ method, path, err: error }, 'edge response cut short');
        response.destroy();
      } else if (status === 304) {
        const headers = (error as S3ServiceException).$response?.headers ?? {};
        response.writeHead(304, {
          ...(headers.etag ? { etag: headers.etag } : {}),
          ...(headers['last-modified'] ? { 'last-modified': headers['last-modified'] } : {}),
        });
        response.end();
        log(304);
      } else if (status >= 400 && status < 500) {
        // The origin's own refusal (NoSuchKey, InvalidRange, PreconditionFailed, ...), passed on as CloudFront does.
        log(status, (error as S3ServiceException).name);
        sendError(request, response, status, (error as S3ServiceException).name, 'the origin refused the request');
      } else {
        options.logger?.error({ method, path, err: error }, 'edge origin failed');
        sendError(request, response, 502, 'BadGateway', 'the origin did not answer');
      }
    }
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.logger?.error({ err: error }, 'edge request failed');
      response.destroy();
    });
  });
  server.on('close', () => s3.destroy());
  server.on('close', () => s3.destroy());
  return server;
}
