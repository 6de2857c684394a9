import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  NotFound,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { S3Config } from '../config/config.js';
import type { ChecksumAlgorithm } from '../grants/schemas.js';
import { ownedPort } from '../plugins/owned-port.js';
import { createS3Client } from '../signing/s3-signer.js';

export interface UploadedPart {
  readonly partNumber: number;
  readonly etag: string;
  readonly size: number;
}

export interface StoredObject {
  readonly size: number;
  readonly etag: string;
  readonly contentType: string | undefined;
  /** When S3 stored it (its clock, to the second). */
  readonly lastModified: Date | undefined;
  /** The full-object checksums S3 keeps (base64), by algorithm; a multipart object's composite ones end in `-<parts>`. */
  readonly checksums: Readonly<Partial<Record<ChecksumAlgorithm, string>>>;
}

/**
 * The S3 calls the broker itself makes, with its own credentials: the
 * multipart lifecycle and the checks S3 cannot make (an object's final size).
 * Everything else, the bytes above all, goes between the client and S3.
 */
export interface S3Objects {
  createMultipart(input: { key: string; contentType: string; checksumAlgorithm?: ChecksumAlgorithm | undefined }): Promise<string>;
  /** Every part uploaded so far, in part-number order. */
  listParts(key: string, uploadId: string): Promise<UploadedPart[]>;
  completeMultipart(
    key: string,
    uploadId: string,
    parts: readonly { partNumber: number; etag: string; checksum?: string | undefined }[],
    options?: {
      checksumAlgorithm?: ChecksumAlgorithm | null;
      /** Sends `If-None-Match: *`: S3 refuses (412 PreconditionFailed) when the key already holds an object. */
      createOnly?: boolean;
    },
  ): Promise<{ location: string | undefined }>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
  head(key: string): Promise<StoredObject | undefined>;
  /**
   * The first `bytes` bytes (fewer when it is shorter) of the object with this ETag, or undefined when the key holds
   * nothing; S3 answers 412 (thrown) when another object has replaced it.
   */
  readStart(key: string, bytes: number, etag: string): Promise<Uint8Array | undefined>;
  /** Copies the object with this ETag to `to`, then deletes it: quarantine keeps rejected bytes for inspection. */
  move(key: string, to: string, etag: string): Promise<void>;
  /**
   * Deletes the object; with `etag`, only that object (S3 answers 412, thrown, when another has replaced it), where
   * the S3 server supports conditional deletes (AWS does; one that answers NotImplemented gets a plain delete).
   */
  delete(key: string, etag?: string): Promise<void>;
  close(): void;
}

const isNotFound = (error: unknown): boolean => {
  const name = (error as { name?: string }).name;
  return error instanceof NotFound || name === 'NotFound' || name === 'NoSuchKey';
};

export function createS3Objects(config: S3Config, client: S3Client = createS3Client(config)): S3Objects {
  const Bucket = config.bucket;
  const deleteObject = async (key: string, etag: string | undefined): Promise<void> => {
    try {
      await client.send(new DeleteObjectCommand({ Bucket, Key: key, ...(etag === undefined ? {} : { IfMatch: etag }) }));
    } catch (error) {
      if (etag === undefined || (error as { name?: string }).name !== 'NotImplemented') throw error;
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    }
  };
  return {
    async createMultipart({ key, contentType, checksumAlgorithm }) {
      const { UploadId } = await client.send(
        new CreateMultipartUploadCommand({
          Bucket,
          Key: key,
          ContentType: contentType,
          ...(checksumAlgorithm ? { ChecksumAlgorithm: checksumAlgorithm } : {}),
        }),
      );
      if (!UploadId) throw new Error('S3 answered CreateMultipartUpload without an upload id');
      return UploadId;
    },
    async listParts(key, uploadId) {
      const parts: UploadedPart[] = [];
      let marker: string | undefined;
      do {
        const page = await client.send(
          new ListPartsCommand({ Bucket, Key: key, UploadId: uploadId, ...(marker ? { PartNumberMarker: marker } : {}) }),
        );
        for (const part of page.Parts ?? []) {
          if (part.PartNumber !== undefined && part.ETag !== undefined) {
            parts.push({ partNumber: part.PartNumber, etag: part.ETag, size: part.Size ?? 0 });
          }
        }
        marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
      } while (marker);
      return parts.sort((a, b) => a.partNumber - b.partNumber);
    },
    async completeMultipart(key, uploadId, parts, { checksumAlgorithm, createOnly } = {}) {
      // Each part's checksum goes in the member S3 names after its algorithm (ChecksumSHA256, ChecksumCRC32, ...).
      const member = checksumAlgorithm ? (`Checksum${checksumAlgorithm}` as const) : undefined;
      const completed = await client.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: key,
          UploadId: uploadId,
          ...(createOnly ? { IfNoneMatch: '*' } : {}),
          MultipartUpload: {
            Parts: parts.map(({ partNumber, etag, checksum }) => ({
              PartNumber: partNumber,
              ETag: etag,
              ...(member && checksum ? { [member]: checksum } : {}),
            })),
          },
        }),
      );
      return { location: completed.Location };
    },
    async abortMultipart(key, uploadId) {
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId: uploadId }));
    },
    async head(key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket, Key: key, ChecksumMode: 'ENABLED' }));
        const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
        if (head.ChecksumSHA256) checksums.SHA256 = head.ChecksumSHA256;
        if (head.ChecksumCRC32) checksums.CRC32 = head.ChecksumCRC32;
        if (head.ChecksumCRC32C) checksums.CRC32C = head.ChecksumCRC32C;
        if (head.ChecksumCRC64NVME) checksums.CRC64NVME = head.ChecksumCRC64NVME;
        return {
          size: head.ContentLength ?? 0,
          etag: head.ETag ?? '',
          contentType: head.ContentType,
          lastModified: head.LastModified,
          checksums,
        };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    async readStart(key, bytes, etag) {
      try {
        const object = await client.send(
          new GetObjectCommand({ Bucket, Key: key, IfMatch: etag, Range: `bytes=0-${Math.max(0, bytes - 1)}` }),
        );
        return object.Body ? await object.Body.transformToByteArray() : new Uint8Array();
      } catch (error) {
        if (isNotFound(error)) return undefined;
        // An empty object has no byte 0: S3 answers 416 to any range.
        if ((error as { name?: string }).name === 'InvalidRange') return new Uint8Array();
        throw error;
      }
    },
    async move(key, to, etag) {
      await client.send(
        new CopyObjectCommand({
          Bucket,
          Key: to,
          CopySourceIfMatch: etag,
          CopySource: `${Bucket}/${encodeURIComponent(key).replaceAll('%2F', '/')}`,
        }),
      );
      await deleteObject(key, etag);
    },
    async delete(key, etag) {
      await deleteObject(key, etag);
    },
    close() {
      client.destroy();
    },
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    s3Objects: S3Objects;
  }
}

/** Creates the S3 client for the broker's own calls and closes it with the app; one passed in belongs to the caller. */
export const s3ObjectsPlugin = fp(
  async (app: FastifyInstance, options: { config: S3Config; objects?: S3Objects | undefined }) => {
    app.decorate(
      's3Objects',
      await ownedPort(
        app,
        options.objects,
        () => createS3Objects(options.config),
        (objects) => objects.close(),
      ),
    );
  },
  { name: 'access-broker-s3-objects' },
);
