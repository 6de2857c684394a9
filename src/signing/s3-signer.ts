import { S3Client } from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { S3Config } from '../config/config.js';
import { ownedPort } from '../plugins/owned-port.js';
import { createPresignTemplate, type PresignTemplate } from './s3-presign-template.js';

export interface PresignedPut {
  readonly url: string;
  /** Headers the client must send exactly; they are part of the signature. */
  readonly headers: Record<string, string>;
}

export interface BodyChecksum {
  readonly algorithm: string;
  /** Base64, as S3 writes it. */
  readonly value: string;
}

/** S3's header for a checksum: `x-amz-checksum-sha256`, `-crc32`, `-crc32c`, `-crc64nvme`. */
const checksumHeader = (checksum: BodyChecksum | undefined): Record<string, string> =>
  checksum === undefined ? {} : { [`x-amz-checksum-${checksum.algorithm.toLowerCase()}`]: checksum.value };

export interface PresignedPost {
  readonly url: string;
  readonly fields: Record<string, string>;
}

export interface S3Signer {
  presignPut(input: {
    key: string;
    contentType: string;
    contentLength: number;
    /** Signed as S3's `x-amz-checksum-*` header: S3 computes it over the body and refuses a mismatch. */
    checksum?: BodyChecksum | undefined;
    /** Signs `If-None-Match: *`: S3 refuses the PUT (412) when the key already holds an object. */
    createOnly?: boolean | undefined;
    signingDate: Date;
    expiresInSeconds: number;
  }): Promise<PresignedPut>;
  presignPost(input: {
    key: string;
    contentType: string;
    maxBytes: number;
    signingDate: Date;
    expiresInSeconds: number;
  }): Promise<PresignedPost>;
  /** One part of a multipart upload, its exact length signed. */
  presignPart(input: {
    key: string;
    uploadId: string;
    partNumber: number;
    contentLength: number;
    checksum?: BodyChecksum | undefined;
    signingDate: Date;
    expiresInSeconds: number;
  }): Promise<PresignedPut>;
  /** `disposition`: the Content-Disposition S3 answers with (signed as `response-content-disposition`). */
  presignGet(input: { key: string; signingDate: Date; expiresInSeconds: number; disposition?: string | undefined }): Promise<string>;
  /** When the signing credentials expire (role sessions), or undefined for long-lived keys. */
  credentialsExpireAt(): Promise<Date | undefined>;
  /** Does the start-up work (resolving the endpoint and signing scope) before the first grant needs it. */
  prepare(): Promise<void>;
  close(): void;
}

export function createS3Client(config: S3Config): S3Client {
  return new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    ...(config.credentials ? { credentials: config.credentials } : {}),
    // Since early 2025 the SDK adds a CRC32 of the (empty) presign-time body to
    // PUT URLs by default, and every real upload then fails its checksum.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function createS3Signer(config: S3Config, client: S3Client = createS3Client(config)): S3Signer {
  const bucket = config.bucket;
  let template: Promise<PresignTemplate> | undefined;
  const presigner = (): Promise<PresignTemplate> => {
    template ??= createPresignTemplate(client, bucket).catch((error: unknown) => {
      template = undefined; // e.g. credentials not there yet: try again on the next grant
      throw error;
    });
    return template;
  };
  return {
    async presignPut({ key, contentType, contentLength, checksum, createOnly, signingDate, expiresInSeconds }) {
      // All signed: without them a PUT URL signs only `host`, and the client could send any type and any size.
      const headers = {
        'content-type': contentType,
        'content-length': String(contentLength),
        ...checksumHeader(checksum),
        ...(createOnly ? { 'if-none-match': '*' } : {}),
      };
      const url = await (await presigner()).presign({ command: 'PutObject', key, headers, signingDate, expiresInSeconds });
      return { url, headers };
    },
    async presignPart({ key, uploadId, partNumber, contentLength, checksum, signingDate, expiresInSeconds }) {
      // The exact length of this part is signed: S3 cannot cap a multipart object's size, the broker does, part by part.
      const headers = { 'content-length': String(contentLength), ...checksumHeader(checksum) };
      const query = { partNumber: String(partNumber), uploadId };
      const url = await (await presigner()).presign({ command: 'UploadPart', key, headers, query, signingDate, expiresInSeconds });
      return { url, headers };
    },
    async presignPost(input) {
      return (await presigner()).post(input);
    },
    async presignGet({ key, signingDate, expiresInSeconds, disposition }) {
      const query: Record<string, string> = disposition === undefined ? {} : { 'response-content-disposition': disposition };
      return (await presigner()).presign({ command: 'GetObject', key, headers: {}, query, signingDate, expiresInSeconds });
    },
    async prepare() {
      await presigner();
    },
    async credentialsExpireAt() {
      const credentials = await client.config.credentials();
      return credentials.expiration;
    },
    close() {
      client.destroy();
    },
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    s3Signer: S3Signer;
  }
}

/** Creates the S3 signer from configuration and closes it with the app; a signer passed in belongs to the caller. */
export const s3SignerPlugin = fp(
  async (app: FastifyInstance, options: { config: S3Config; signer?: S3Signer | undefined }) => {
    const signer = await ownedPort(
      app,
      options.signer,
      () => createS3Signer(options.config),
      (port) => port.close(),
    );
    app.decorate('s3Signer', signer);
    app.addHook('onReady', async () => {
      // Not fatal: credentials may appear later (a role being attached); /readyz reports it, and the first grant retries.
      await signer.prepare().catch((error: unknown) => app.log.warn({ err: error }, 'S3 presigning could not be prepared at start-up'));
    });
  },
  { name: 'access-broker-s3-signer' },
);
