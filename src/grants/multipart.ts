import { BrokerError } from '../errors/catalogue.js';
import type { S3Objects } from '../objects/s3-objects.js';
import type { UploadLifecycle } from '../lifecycle/upload-lifecycle.js';
import type { S3Signer } from '../signing/s3-signer.js';
import type { MultipartStore, MultipartUpload } from '../store/multipart-store.js';
import type { Authorizer, Caller } from './authorizer.js';
import { credentialsDeadline, s3Expiry, secondsBetween } from './expiry.js';
import type { BodyChecksum } from '../signing/s3-signer.js';
import {
  CHECKSUM_BYTES,
  type ChecksumAlgorithm,
  type MultipartCompleted,
  type MultipartPartsGranted,
  type MultipartStarted,
  type MultipartStartRequest,
  type UploadedParts,
} from './schemas.js';
import { uploadAsks } from './upload-asks.js';

const MIB = 1024 * 1024;
/** S3's part rules: at least 5 MiB except the last part, at most 5 GiB a part, at most 10,000 parts. */
export const S3_MIN_PART_BYTES = 5 * MIB;
export const S3_MAX_PART_BYTES = 5 * 1024 * MIB;
export const S3_MAX_PARTS = 10_000;
/** Parts of 8 MiB when the caller names no size: few requests for phones, little to resend after a dropped part. */
export const DEFAULT_PART_BYTES = 8 * MIB;

export type PartPlan = { ok: true; partSize: number; partCount: number } | { ok: false; reason: string };

/** How `contentLength` bytes split into parts, by S3's rules; the last part takes the remainder. */
export function planParts(contentLength: number, partSize?: number): PartPlan {
  if (partSize !== undefined) {
    if (partSize < S3_MIN_PART_BYTES || partSize > S3_MAX_PART_BYTES) {
      return { ok: false, reason: `partSize must be between ${S3_MIN_PART_BYTES} and ${S3_MAX_PART_BYTES} bytes (S3's part rules)` };
    }
    const partCount = Math.max(1, Math.ceil(contentLength / partSize));
    if (partCount > S3_MAX_PARTS) return { ok: false, reason: `partSize ${partSize} makes ${partCount} parts; S3 allows ${S3_MAX_PARTS}` };
    return { ok: true, partSize, partCount };
  }
  // The smallest whole number of MiB that keeps the upload within 10,000 parts, and never under the default.
  const size = Math.max(DEFAULT_PART_BYTES, Math.ceil(contentLength / S3_MAX_PARTS / MIB) * MIB);
  return { ok: true, partSize: size, partCount: Math.max(1, Math.ceil(contentLength / size)) };
}

/** The exact length of one part: the plan's size, except the last part, which takes what remains. */
export const partLength = (upload: Pick<MultipartUpload, 'contentLength' | 'partSize' | 'partCount'>, partNumber: number): number =>
  partNumber < upload.partCount ? upload.partSize : upload.contentLength - upload.partSize * (upload.partCount - 1);

/**
 * Each part's checksum, when the upload has an algorithm: one per part asked for, of the right length.
 * Without an algorithm, checksums are refused rather than ignored.
 */
function partChecksums(
  upload: MultipartUpload,
  partNumbers: readonly number[],
  checksums: Readonly<Record<string, string>>,
): (partNumber: number) => BodyChecksum | undefined {
  const refuse = (reason: string): never => {
    throw new BrokerError('BROKER_VALIDATION', reason, { errors: [{ path: 'body/checksums', message: reason }] });
  };
  const algorithm = upload.checksumAlgorithm as ChecksumAlgorithm | null;
  if (algorithm === null) {
    if (Object.keys(checksums).length > 0) refuse('this upload was started without a checksumAlgorithm; its parts carry no checksum');
    return () => undefined;
  }
  const bytes = CHECKSUM_BYTES[algorithm];
  for (const partNumber of partNumbers) {
    const value = checksums[String(partNumber)];
    if (value === undefined) refuse(`this upload checks ${algorithm}: give part ${partNumber}'s checksum`);
    else if (Buffer.from(value, 'base64').toString('base64') !== value || Buffer.from(value, 'base64').length !== bytes) {
      refuse(`part ${partNumber}'s checksum is not a base64 ${algorithm} (${bytes} bytes)`);
    }
  }
  return (partNumber) => ({ algorithm, value: checksums[String(partNumber)] ?? '' });
}

/**
 * An upload by its id, or by its id and key: the protocols that name the key beside the id (Companion's,
 * Uppy 6's) get 404 for any other key, as for any other caller.
 */
export type UploadRef = string | { readonly uploadId: string; readonly key: string };

interface Dependencies {
  readonly authorizer: Authorizer;
  readonly s3: S3Signer;
  readonly objects: S3Objects;
  readonly store: MultipartStore;
  readonly lifecycle: UploadLifecycle;
}

/** S3's refusals the caller caused (wrong ETags, parts out of order, an upload S3 no longer knows), and S3's failures. */
function storageError(error: unknown, action: string): BrokerError {
  const name = (error as { name?: string }).name ?? '';
  if (name === 'NoSuchUpload') return new BrokerError('BROKER_UPLOAD_NOT_FOUND', `S3 no longer knows this upload (${action})`);
  if (['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall', 'InvalidRequest'].includes(name)) {
    return new BrokerError('BROKER_VALIDATION', `S3 refused to ${action}: ${name}; list the parts uploaded and send their ETags`);
  }
  return new BrokerError('BROKER_STORAGE_UNAVAILABLE', `S3 failed to ${action}`, { cause: error });
}

/** S3's answer to a conditional write whose condition failed: the key already holds an object. */
function isPreconditionFailed(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'PreconditionFailed' || $metadata?.httpStatusCode === 412;
}

const objectExists = (key: string): BrokerError =>
  new BrokerError('BROKER_OBJECT_EXISTS', `"${key}" already holds an object, and this grant may only create it`);

/**
 * Multipart uploads: the broker starts them, grants one URL per part (each
 * signing its exact length), lists what arrived so an interrupted client can
 * resume, and completes them, checking the object's size, which S3 cannot cap.
 * Each upload id is bound to its key and its caller; any other caller finds
 * nothing.
 */
export class MultipartGrants {
  constructor(private readonly deps: Dependencies) {}

  async start(caller: Caller, request: MultipartStartRequest): Promise<MultipartStarted> {
    const plan = planParts(request.contentLength, request.partSize);
    if (!plan.ok) throw new BrokerError('BROKER_VALIDATION', plan.reason, { errors: [{ path: 'body/partSize', message: plan.reason }] });
    const authorization = await this.deps.authorizer.begin(caller, 'upload');
    const { ask, decision } = authorization.requireFirst(uploadAsks(authorization, request));
    const { key } = ask.target;
    const { now } = authorization;
    const expiresAt = s3Expiry(now, decision.ttlSeconds, await credentialsDeadline(this.deps.s3));
    const { checksumAlgorithm } = request;
    // A create-only key that already holds an object would fail only at completion: say so before any byte is sent.
    if (decision.createOnly && (await this.existing(key)) !== undefined) throw objectExists(key);
    const uploadId = await this.deps.objects
      .createMultipart({ key, contentType: request.contentType, checksumAlgorithm })
      .catch((error: unknown) => {
        throw storageError(error, 'start the upload');
      });
    try {
      await this.deps.lifecycle.granted(
        {
          key,
          subject: caller.principal.sub,
          source: decision.source,
          kind: 'multipart',
          multipartUploadId: uploadId,
          contentType: request.contentType,
          maxBytes: request.contentLength,
          exactSize: true,
          // Parts carry their own checksums; the object's is a checksum of checksums S3 computes, not one the caller gave.
          checksum: null,
          expiresAt,
        },
        decision.quota,
      );
    } catch (error) {
      // A refused grant (a quota) leaves nothing behind on S3.
      await this.deps.objects.abortMultipart(key, uploadId).catch(() => undefined);
      throw error;
    }
    await this.deps.store.create({
      uploadId,
      key,
      subject: caller.principal.sub,
      contentType: request.contentType,
      contentLength: request.contentLength,
      partSize: plan.partSize,
      partCount: plan.partCount,
      checksumAlgorithm: checksumAlgorithm ?? null,
      expiresAt,
      createdAt: now,
    });
    return { uploadId, key, partSize: plan.partSize, partCount: plan.partCount, expiresAt: expiresAt.toISOString() };
  }

  /** URLs for some parts, each signing that part's exact length; the grant is decided again, so a revocation stops new parts. */
  async grantParts(
    caller: Caller,
    ref: UploadRef,
    partNumbers: readonly number[],
    checksums: Readonly<Record<string, string>> = {},
  ): Promise<MultipartPartsGranted> {
    const upload = await this.open(caller, ref);
    const { uploadId } = upload;
    const checksumFor = partChecksums(upload, partNumbers, checksums);
    const outside = partNumbers.filter((n) => n < 1 || n > upload.partCount);
    if (outside.length > 0) {
      const reason = `this upload has parts 1 to ${upload.partCount}; ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} outside`;
      throw new BrokerError('BROKER_VALIDATION', reason, { errors: [{ path: 'body/partNumbers', message: reason }] });
    }
    const authorization = await this.deps.authorizer.begin(caller, 'upload');
    const ask = {
      action: 'write',
      target: { kind: 'key', key: upload.key },
      contentType: upload.contentType,
      contentLength: upload.contentLength,
    } as const;
    const decision = authorization.require(ask);
    const { now } = authorization;
    const granted = s3Expiry(now, decision.ttlSeconds, await credentialsDeadline(this.deps.s3));
    const expiresAt = granted < upload.expiresAt ? granted : upload.expiresAt;
    const expiresInSeconds = secondsBetween(now, expiresAt);
    if (expiresInSeconds < 1) throw new BrokerError('BROKER_UPLOAD_CLOSED', 'the upload has expired; start a new one');
    const parts = await Promise.all(
      [...new Set(partNumbers)].map(async (partNumber) => {
        const contentLength = partLength(upload, partNumber);
        const { url, headers } = await this.deps.s3.presignPart({
          key: upload.key,
          uploadId,
          partNumber,
          contentLength,
          checksum: checksumFor(partNumber),
          signingDate: now,
          expiresInSeconds,
        });
        return { partNumber, url, headers, expiresAt: expiresAt.toISOString() };
      }),
    );
    return { parts };
  }

  /** What S3 holds so far, so a client that lost its connection uploads only the rest. */
  async uploadedParts(caller: Caller, ref: UploadRef): Promise<UploadedParts> {
    const upload = await this.open(caller, ref);
    const parts = await this.deps.objects.listParts(upload.key, upload.uploadId).catch((error: unknown) => {
      throw storageError(error, 'list the parts');
    });
    return { parts };
  }

  async complete(
    caller: Caller,
    ref: UploadRef,
    parts: readonly { partNumber: number; etag: string; checksum?: string | undefined }[],
  ): Promise<MultipartCompleted> {
    const upload = await this.open(caller, ref);
    const { uploadId } = upload;
    const numbers = parts.map((part) => part.partNumber);
    const complete = numbers.length === upload.partCount && numbers.every((n, i) => n === i + 1);
    if (!complete) {
      const reason = `list every part once, in order: 1 to ${upload.partCount}`;
      throw new BrokerError('BROKER_VALIDATION', reason, { errors: [{ path: 'body/parts', message: reason }] });
    }
    if (upload.checksumAlgorithm !== null && parts.some((part) => part.checksum === undefined)) {
      const reason = `this upload checks ${upload.checksumAlgorithm}: give every part's checksum`;
      throw new BrokerError('BROKER_VALIDATION', reason, { errors: [{ path: 'body/parts', message: reason }] });
    }
    const authorization = await this.deps.authorizer.begin(caller, 'upload');
    const decision = authorization.require({
      action: 'write',
      target: { kind: 'key', key: upload.key },
      contentType: upload.contentType,
      contentLength: upload.contentLength,
    });
    const algorithm = upload.checksumAlgorithm as ChecksumAlgorithm | null;
    const { createOnly } = decision;
    let location: string | undefined;
    try {
      ({ location } = await this.deps.objects.completeMultipart(upload.key, uploadId, parts, { checksumAlgorithm: algorithm, createOnly }));
    } catch (error) {
      if (!(createOnly && isPreconditionFailed(error))) throw storageError(error, 'complete the upload');
      // It can never complete now: free what S3 holds of it rather than leave it to the lifecycle rule.
      await this.deps.objects.abortMultipart(upload.key, uploadId).catch(() => undefined);
      await this.deps.store.close(uploadId, 'aborted', authorization.now);
      throw objectExists(upload.key);
    }
    // S3 cannot cap a multipart object's size: the broker verifies the object against its grant, as for every upload,
    // and an object that breaks it is removed.
    const settled = await this.deps.lifecycle.settleMultipart(uploadId, 'multipart').catch((error: unknown) => {
      throw error instanceof BrokerError ? error : storageError(error, 'check the completed object');
    });
    if (settled === undefined) {
      // Started before upload records existed: nothing says what it may hold, so it is not kept.
      await this.deps.objects.delete(upload.key).catch((error: unknown) => {
        throw storageError(error, 'delete an object that cannot be verified');
      });
      await this.deps.store.close(uploadId, 'aborted', authorization.now);
      throw new BrokerError('BROKER_UPLOAD_REJECTED', 'the upload has no record to verify it against, so it was deleted; start it again');
    }
    if (settled.state === 'uploaded') {
      await this.deps.store.close(uploadId, 'completed', authorization.now);
      throw new BrokerError('BROKER_UPLOAD_INCOMPLETE', 'the object is still being verified; ask GET /v1/uploads/status for the outcome');
    }
    if (settled.state !== 'verified') {
      await this.deps.store.close(uploadId, 'aborted', authorization.now);
      throw new BrokerError('BROKER_UPLOAD_REJECTED', `${settled.reason ?? 'the object breaks its grant'}; it was removed`);
    }
    await this.deps.store.close(uploadId, 'completed', authorization.now);
    return {
      key: upload.key,
      size: settled.size ?? upload.contentLength,
      etag: settled.etag ?? '',
      ...(location === undefined ? {} : { location }),
    };
  }

  /** Stops the upload and frees what S3 holds of it; always allowed to the caller who started it. */
  async abort(caller: Caller, ref: UploadRef): Promise<void> {
    const upload = await this.open(caller, ref);
    const { uploadId } = upload;
    await this.deps.objects.abortMultipart(upload.key, uploadId).catch((error: unknown) => {
      throw storageError(error, 'abort the upload');
    });
    await this.deps.store.close(uploadId, 'aborted', new Date());
  }

  private async existing(key: string) {
    return this.deps.objects.head(key).catch((error: unknown) => {
      throw storageError(error, 'check whether the key is free');
    });
  }

  /**
   * The caller's open upload; another caller's, or a made-up id, is not found (nothing on S3 is touched).
   * Named with its key, any other key is not found either.
   */
  private async open(caller: Caller, ref: UploadRef): Promise<MultipartUpload> {
    const { uploadId, key } = typeof ref === 'string' ? { uploadId: ref, key: undefined } : ref;
    const upload = await this.deps.store.find(uploadId, caller.principal.sub);
    if (upload === undefined) throw new BrokerError('BROKER_UPLOAD_NOT_FOUND', 'no multipart upload with this id was started by you');
    if (key !== undefined && upload.key !== key)
      throw new BrokerError('BROKER_UPLOAD_NOT_FOUND', 'no multipart upload with this id and key was started by you');
    if (upload.state !== 'open') throw new BrokerError('BROKER_UPLOAD_CLOSED', `the upload is already ${upload.state}`);
    return upload;
  }
}
