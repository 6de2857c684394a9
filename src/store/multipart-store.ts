import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { StoreConfig } from '../config/config.js';
import { ownedPort } from '../plugins/owned-port.js';
import { openSqliteMultipartStore } from './sqlite-multipart-store.js';
import { multipartFailingAsUnavailable } from './unavailable.js';

export type MultipartState = 'open' | 'completed' | 'aborted';

/** A multipart upload the broker started: S3's upload id bound to one key and one caller. */
export interface MultipartUpload {
  readonly uploadId: string;
  readonly key: string;
  readonly subject: string;
  readonly contentType: string;
  readonly contentLength: number;
  readonly partSize: number;
  readonly partCount: number;
  /** SHA256, CRC32, CRC32C or CRC64NVME when every part carries a checksum. */
  readonly checksumAlgorithm: string | null;
  /** Part URLs are granted until then; after it the upload is stale. */
  readonly expiresAt: Date;
  readonly createdAt: Date;
  readonly state: MultipartState;
}

/**
 * The multipart store port: who started which upload. Another caller, or an
 * id the broker never issued, finds nothing, so nothing on S3 is touched.
 */
export interface MultipartStore {
  create(upload: Omit<MultipartUpload, 'state'>): Promise<void>;
  /** The upload, only for the subject who started it. */
  find(uploadId: string, subject: string): Promise<MultipartUpload | undefined>;
  /** Moves an open upload to completed or aborted; false if it was not open (a second completion, a race). */
  close(uploadId: string, state: 'completed' | 'aborted', now: Date): Promise<boolean>;
  /** Open uploads whose grant ended before `before`, oldest first: what the clean-up command aborts. */
  stale(before: Date): Promise<MultipartUpload[]>;
  shutdown(): Promise<void>;
}

export async function openMultipartStore(config: StoreConfig): Promise<MultipartStore> {
  if (config.kind === 'sqlite') return openSqliteMultipartStore(config.filename);
  const { openPostgresMultipartStore } = await import('./postgres-multipart-store.js'); // only when used, as openStore
  return openPostgresMultipartStore(config);
}

declare module 'fastify' {
  interface FastifyInstance {
    multipartUploads: MultipartStore;
  }
}

/** Opens the configured store and closes it with the app; a store passed in belongs to the caller. */
export const multipartStorePlugin = fp(
  async (app: FastifyInstance, options: { config: StoreConfig; store?: MultipartStore | undefined }) => {
    const store = await ownedPort(
      app,
      options.store,
      () => openMultipartStore(options.config),
      (opened) => opened.shutdown(),
    );
    app.decorate('multipartUploads', multipartFailingAsUnavailable(store));
  },
  { name: 'access-broker-multipart-store' },
);
