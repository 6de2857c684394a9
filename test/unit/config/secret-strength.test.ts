import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { MIN_SECRET_BITS, secretWeakness } from '../../../src/config/secret-strength.js';

describe('secretWeakness', () => {
  test('random secrets of 256 bits pass, in hex, base64 and base64url', () => {
    for (let i = 0; i < 2000; i += 1) {
      for (const secret of [randomBytes(32).toString('hex'), randomBytes(32).toString('base64'), randomBytes(32).toString('base64url')]) {
        assert.equal(secretWeakness(secret), undefined, secret);
      }
    }
  });

  test('other secrets count only their measured spread: 64 random printable characters pass, 40 do not', () => {
    const printable = (length: number): string => Array.from({ length }, () => String.fromCharCode(32 + randomInt(95))).join('');
    for (let i = 0; i < 200; i += 1) {
      assert.equal(secretWeakness(printable(64)), undefined);
      assert.match(secretWeakness(printable(40)) ?? 'accepted', /holds about \d+ bits/);
    }
  });

  test('random secrets of fewer bits are refused, naming how many they hold', () => {
    assert.match(secretWeakness(randomBytes(31).toString('hex')) ?? '', new RegExp(`holds about 248 bits; at least ${MIN_SECRET_BITS}`));
    assert.match(secretWeakness(randomBytes(16).toString('base64')) ?? '', /holds about 144 bits/);
  });

  test('a known public value is refused whatever its strength', () => {
    const published = randomBytes(32).toString('base64');
    assert.match(secretWeakness(published, new Set([published])) ?? '', /publicly known/);
  });

  test('length does not buy strength for words, repeats or patterns', () => {
    for (const secret of [
      'a'.repeat(500),
      'ab'.repeat(100),
      'password'.repeat(20),
      'the quick brown fox jumps over the lazy dog '.repeat(3),
      '0123456789abcdef'.repeat(8),
    ]) {
      assert.match(secretWeakness(secret) ?? 'accepted', /does not look random/, secret.slice(0, 20));
    }
  });

  test('no secret-length string written anywhere in the repository would be accepted as a production JWT_SECRET', () => {
    const files = execFileSync('git', ['ls-files'], { encoding: 'utf8' })
      .split('\n')
      // Lock files hold npm's integrity digests, which are public.
      .filter((file) => file !== '' && !/(^|\/)package-lock\.json$/u.test(file) && !/\.(png|jpg|ico)$/u.test(file));
    const accepted: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        continue; // deleted in the working tree
      }
      // Runs of 32+ characters without spaces or quotes: every literal, example or hint that could be pasted as a secret.
      for (const [candidate] of text.matchAll(/[^\s'"`=,;:()[\]{}<>]{32,}/gu)) {
        if (secretWeakness(candidate) === undefined) accepted.push(`${file}: ${candidate.slice(0, 16)}…`);
      }
    }
    assert.deepEqual(accepted, [], 'generate secrets at run time instead of writing them down');
  });
});
