/**
 * Every error a caller can see. Codes are stable API: clients branch on them,
 * so never rename one; add a new code instead. README's error table is checked
 * against this list by test/unit/errors/catalogue.test.ts.
 */
export const errorCatalogue = {
  BROKER_VALIDATION: { status: 400, title: 'Request is not valid' },
  BROKER_INVALID_KEY: { status: 400, title: 'Object key is not acceptable' },
  BROKER_UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  BROKER_FORBIDDEN: { status: 403, title: 'Not entitled' },
  BROKER_LIMIT_EXCEEDED: { status: 403, title: 'Request exceeds the limits of the matching entitlement' },
  BROKER_NOT_FOUND: { status: 404, title: 'Not found' },
  BROKER_BUNDLE_NOT_FOUND: { status: 404, title: 'Bundle not found' },
  BROKER_UPLOAD_NOT_FOUND: { status: 404, title: 'No such multipart upload of yours' },
  BROKER_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  BROKER_REQUEST_TIMEOUT: { status: 408, title: 'The request took too long to arrive' },
  BROKER_UPLOAD_CLOSED: { status: 409, title: 'The multipart upload is already completed, aborted or expired' },
  BROKER_IDEMPOTENCY_CONFLICT: { status: 409, title: 'The Idempotency-Key was used with another request' },
  BROKER_UPLOAD_INCOMPLETE: { status: 409, title: 'Nothing has arrived at the key yet' },
  BROKER_UPLOAD_NOT_VERIFIED: { status: 409, title: "The object's upload has not been verified" },
  BROKER_OBJECT_EXISTS: { status: 412, title: 'The key already holds an object, and the grant may only create it' },
  BROKER_PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  BROKER_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  BROKER_UPLOAD_REJECTED: { status: 422, title: 'The uploaded object breaks its grant and was deleted' },
  BROKER_COOKIE_TOO_LARGE: { status: 422, title: 'The bundle cookies would be too large for browsers to keep' },
  BROKER_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  BROKER_QUOTA_EXCEEDED: { status: 429, title: 'An upload quota would be exceeded' },
  BROKER_HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large' },
  BROKER_INTERNAL: { status: 500, title: 'Internal error' },
  BROKER_CDN_NOT_CONFIGURED: { status: 501, title: 'CloudFront is not configured on this broker' },
  BROKER_AUDIT_NOT_CONFIGURED: { status: 501, title: 'The audit trail is not kept in the database on this broker' },
  BROKER_STORAGE_UNAVAILABLE: { status: 502, title: 'S3 did not answer as expected' },
  BROKER_AUTH_UNAVAILABLE: { status: 503, title: 'Token verification keys are unavailable' },
  BROKER_SIGNING_UNAVAILABLE: { status: 503, title: 'Signing credentials are unavailable' },
  BROKER_NOT_READY: { status: 503, title: 'Not ready' },
  BROKER_STORE_UNAVAILABLE: { status: 503, title: 'The entitlement store does not answer' },
  BROKER_RATE_LIMIT_UNAVAILABLE: { status: 503, title: 'Rate limits cannot be checked' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export interface FieldError {
  path: string;
  message: string;
}

/** An error meant for the caller: its detail is safe to show and never holds a secret. */
export class BrokerError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly errors: FieldError[] | undefined;
  /** Response headers that belong to this error (`WWW-Authenticate`, `Allow`). */
  readonly headers: Readonly<Record<string, string>> | undefined;

  /** `cause` is for the logs (why a dependency failed); it never reaches the caller. */
  constructor(code: ErrorCode, detail: string, options: { errors?: FieldError[]; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrokerError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.title = errorCatalogue[code].title;
    this.errors = options.errors;
    this.headers = options.headers;
  }
}

export const problemType = (code: ErrorCode): string =>
  `urn:access-broker:problem:${code.slice('BROKER_'.length).toLowerCase().replaceAll('_', '-')}`;
