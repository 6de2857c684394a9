import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { S3_MAX_OBJECT_BYTES, S3_MAX_PUT_BYTES, SIGV4_MAX_TTL_SECONDS } from '../../../src/policy/defaults.js';

// The limits S3 documents; the broker's caps and schemas are built on them, so a slip here widens or breaks every grant.
describe("S3's own limits", () => {
  test('an object is at most 5 TiB, a single PUT at most 5 GiB, a SigV4 presigned URL lives at most 7 days', () => {
    assert.equal(S3_MAX_OBJECT_BYTES, 5_497_558_138_880);
    assert.equal(S3_MAX_PUT_BYTES, 5_368_709_120);
    assert.equal(SIGV4_MAX_TTL_SECONDS, 604_800);
  });
});
