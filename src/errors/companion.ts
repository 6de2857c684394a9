import { errorCatalogue } from './catalogue.js';
import type { ErrorFormatter } from './problem.js';

/** Where Companion's protocol is mounted; its errors, router errors included, take Companion's shape. */
export const COMPANION_PREFIX = '/s3';

export const isCompanionUrl = (url: string): boolean => url.startsWith(`${COMPANION_PREFIX}/`);

/**
 * Uppy Companion's error shape, for the `/s3` routes only: Uppy 5 shows
 * `message` to the user ("Failed to upload cat.png: …"); a problem+json body
 * has none, so it would show only "Could not POST <url>". The code and the
 * request id ride along for whoever reads the network log.
 */
export const companionFormatter: ErrorFormatter = {
  send(request, reply, { code, detail, headers }) {
    if (headers) reply.headers(headers);
    return reply.code(errorCatalogue[code].status).send({ message: detail, code, requestId: request.id });
  },
};
