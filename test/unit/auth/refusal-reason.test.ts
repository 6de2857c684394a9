/**
 * reasonOf: what a refused caller is told for each kind of failure, including the ones no real
 * token produces (an error without a code, a code from elsewhere), which must say nothing more.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reasonOf } from '../../../src/auth/authenticate.js';
import { BrokerError } from '../../../src/errors/catalogue.js';

const coded = (code: string, message: string): Error => Object.assign(new Error(message), { code });

describe('reasonOf', () => {
  test("the broker's own refusals keep their sentence", () => {
    assert.equal(reasonOf(new BrokerError('BROKER_UNAUTHENTICATED', 'token header has no "kid"')), 'token header has no "kid"');
  });

  test("@fastify/jwt's wrapped fast-jwt message loses only its closing full stop", () => {
    const error = coded('FST_JWT_AUTHORIZATION_TOKEN_INVALID', 'Authorization token is invalid: The token is malformed.');
    assert.equal(reasonOf(error), 'Authorization token is invalid: The token is malformed');
  });

  test("fast-jwt's other codes describe the token's shape", () => {
    assert.equal(
      reasonOf(coded('FAST_JWT_CLAIM_TYPE', 'The aud claim must be a string.')),
      'token is not valid: The aud claim must be a string',
    );
  });

  test('an error from anywhere else says nothing more, whatever its message', () => {
    assert.equal(reasonOf(coded('ERR_SOCKET_CLOSED', 'secret detail')), 'token is not valid');
    assert.equal(reasonOf(new Error('secret detail')), 'token is not valid');
    assert.equal(reasonOf('a thrown string'), 'token is not valid');
  });
});
