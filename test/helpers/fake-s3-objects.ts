import type { S3Objects, StoredObject, UploadedPart } from '../../src/objects/s3-objects.js';

/** An S3 that keeps multipart uploads in memory and records every call: the API tests' fault-injection point. */
export interface FakeS3Objects extends S3Objects {
  readonly calls: string[];
  /** Parts "uploaded" to an upload, as S3 would list them. */
  addPart(uploadId: string, part: UploadedPart): void;
  /** The size the completed object will have (default: the sum of its parts). */
  completedSize?: number;
  readonly objects: Map<string, StoredObject>;
  /** Bytes of objects put with `put`; others read as zeros. */
  put(key: string, body: Uint8Array, contentType: string): void;
}

export function fakeS3Objects(): FakeS3Objects {
  const uploads = new Map<string, { key: string; contentType: string; parts: UploadedPart[] }>();
  const objects = new Map<string, StoredObject>();
  const bodies = new Map<string, Uint8Array>();
  let next = 0;
  const fake: FakeS3Objects = {
    calls: [],
    objects,
    addPart(uploadId, part) {
      uploads.get(uploadId)?.parts.push(part);
    },
    async createMultipart({ key, contentType }) {
      fake.calls.push(`create ${key}`);
      next += 1;
      const uploadId = `upload-${next}`;
      uploads.set(uploadId, { key, contentType, parts: [] });
      return uploadId;
    },
    async listParts(key, uploadId) {
      fake.calls.push(`list ${key} ${uploadId}`);
      const upload = uploads.get(uploadId);
      if (!upload) throw Object.assign(new Error('NoSuchUpload'), { name: 'NoSuchUpload' });
      return [...upload.parts].sort((a, b) => a.partNumber - b.partNumber);
    },
    async completeMultipart(key, uploadId, _parts, options) {
      fake.calls.push(`complete ${key} ${uploadId}${options?.createOnly ? ' if-none-match' : ''}`);
      const upload = uploads.get(uploadId);
      if (!upload) throw Object.assign(new Error('NoSuchUpload'), { name: 'NoSuchUpload' });
      if (options?.createOnly && objects.has(key)) {
        throw Object.assign(new Error('PreconditionFailed'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
      }
      const size = fake.completedSize ?? upload.parts.reduce((sum, part) => sum + part.size, 0);
      objects.set(key, { size, etag: '"multipart-etag-3"', contentType: upload.contentType, lastModified: new Date(), checksums: {} });
      uploads.delete(uploadId);
      return { location: `https://s3.example/bucket/${key}` };
    },
    async abortMultipart(key, uploadId) {
      fake.calls.push(`abort ${key} ${uploadId}`);
      uploads.delete(uploadId);
    },
    async head(key) {
      fake.calls.push(`head ${key}`);
      return objects.get(key);
    },
    async readStart(key, bytes, etag) {
      fake.calls.push(`read ${key}`);
      const object = objects.get(key);
      if (!object) return undefined;
      if (object.etag !== etag)
        throw Object.assign(new Error('PreconditionFailed'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
      return (bodies.get(key) ?? new Uint8Array(object.size)).slice(0, bytes);
    },
    async move(key, to) {
      fake.calls.push(`move ${key} ${to}`);
      const object = objects.get(key);
      if (object) objects.set(to, object);
      objects.delete(key);
    },
    async delete(key) {
      fake.calls.push(`delete ${key}`);
      objects.delete(key);
      bodies.delete(key);
    },
    put(key, body, contentType) {
      objects.set(key, { size: body.length, etag: `"etag-${next++}"`, contentType, lastModified: new Date(), checksums: {} });
      bodies.set(key, body);
    },
    close() {},
  };
  return fake;
}
