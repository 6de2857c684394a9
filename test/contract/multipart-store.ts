import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { MultipartStore, MultipartUpload } from '../../src/store/multipart-store.js';

const NOW = new Date('2025-06-01T12:00:00.123Z');

const upload = (overrides: Partial<MultipartUpload> = {}): Omit<MultipartUpload, 'state'> => ({
  uploadId: 'upload-1',
  key: 'uploads/alice/movie.mp4',
  subject: 'alice',
  contentType: 'video/mp4',
  // Past 2^32 and 2^53 / 1024: sizes S3 allows (up to 5 TiB) must come back exact.
  contentLength: 5 * 1024 ** 4,
  partSize: 5 * 1024 ** 3,
  partCount: 1024,
  checksumAlgorithm: 'CRC32C',
  expiresAt: new Date(NOW.getTime() + 3_600_000),
  createdAt: NOW,
  ...overrides,
});

/** What every multipart store does, run against each (test/contract/sqlite.test.ts, postgres.test.ts). */
export function multipartStoreContract(name: string, open: () => Promise<MultipartStore>): void {
  describe(name, () => {
    let store: MultipartStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.shutdown();
    });

    test('an upload is found, every field as written, only by the subject who started it', async () => {
      await store.create(upload());
      assert.deepEqual(await store.find('upload-1', 'alice'), { ...upload(), state: 'open' });
      assert.equal(await store.find('upload-1', 'bob'), undefined);
      assert.equal(await store.find('upload-2', 'alice'), undefined);
    });

    test('an open upload closes once; a second close, or closing a closed one, is refused', async () => {
      await store.create(upload());
      assert.equal(await store.close('upload-1', 'completed', NOW), true);
      assert.equal(await store.close('upload-1', 'aborted', NOW), false);
      assert.equal((await store.find('upload-1', 'alice'))?.state, 'completed');
      assert.equal(await store.close('never-started', 'aborted', NOW), false);
    });

    test('two closes at once: exactly one wins', async () => {
      await store.create(upload());
      const results = await Promise.all(
        ['completed', 'aborted', 'completed', 'aborted'].map((state) => store.close('upload-1', state as 'completed', NOW)),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test('stale uploads: open ones whose grant ended before the instant, oldest first', async () => {
      const at = (ms: number) => new Date(NOW.getTime() + ms);
      await store.create(upload({ uploadId: 'late', expiresAt: at(2000) }));
      await store.create(upload({ uploadId: 'early', expiresAt: at(1000) }));
      await store.create(upload({ uploadId: 'closed', expiresAt: at(500) }));
      await store.create(upload({ uploadId: 'fresh', expiresAt: at(10_000) }));
      await store.close('closed', 'aborted', NOW);
      assert.deepEqual(
        (await store.stale(at(5000))).map((stale) => stale.uploadId),
        ['early', 'late'],
      );
      assert.deepEqual(await store.stale(at(1000)), []);
    });

    test('a second upload with the same id is refused, the first kept', async () => {
      await store.create(upload());
      await assert.rejects(store.create(upload({ subject: 'mallory' })));
      assert.equal((await store.find('upload-1', 'alice'))?.subject, 'alice');
    });
  });
}
