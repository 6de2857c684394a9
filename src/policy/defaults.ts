/** SigV4's hard ceiling on a presigned URL's lifetime; no grant may exceed it. */
export const SIGV4_MAX_TTL_SECONDS = 604_800;

/** The largest object one S3 PUT (or POST form) may carry. */
export const S3_MAX_PUT_BYTES = 5 * 1024 ** 3;

/** The largest object S3 stores (multipart). */
export const S3_MAX_OBJECT_BYTES = 5 * 1024 ** 4;

/** The broker-wide caps every rule is held to (GRANT_DEFAULT_TTL_SECONDS, GRANT_MAX_TTL_SECONDS, UPLOAD_MAX_BYTES). */
export interface Defaults {
  readonly maxBytes: number;
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
}

export const GRANT_DEFAULTS: Defaults = { defaultTtlSeconds: 900, maxTtlSeconds: 86_400, maxBytes: S3_MAX_PUT_BYTES };
