import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { capturedLogger, testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { token } from '../helpers/tokens.js';

/** Sends raw bytes over a real socket (what inject cannot do) and returns what came back. */
async function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

/**
 * Redaction by construction: at every level, whatever path a secret takes
 * into the server (header, query string, a request the HTTP parser refuses),
 * it never reaches the logs.
 */
for (const level of ['trace', 'debug', 'info', 'warn', 'error'] as const) {
  describe(`logs at level ${level}`, async () => {
    const config = testConfig({ cloudfront: true, overrides: { logLevel: level } });
    const { logger, lines } = capturedLogger(config, level);
    const app = await testApp({ config, logger });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    after(() => app.close());

    test('regression: a token in the query string is not logged with the URL', async () => {
      const secret = token({ sub: 'alice' });
      const response = await fetch(`http://127.0.0.1:${port}/v1/bundles/demo/cookies?token=${secret}&ttlSeconds=60`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}` },
      });
      assert.equal(response.status, 400, 'an unknown query parameter is refused');
      await fetch(`http://127.0.0.1:${port}/healthz?access_token=${secret}`);
      assert.ok(!lines().includes(secret), 'the token reached the logs');
      assert.ok(!lines().includes(secret.split('.')[2]!), "the token's signature reached the logs");
      if (level === 'info' || level === 'debug' || level === 'trace')
        assert.match(lines(), /"route":"\/healthz"/, 'the route is still logged');
    });

    test('regression: a request the HTTP parser refuses is answered as a problem, and its raw bytes are not logged', async () => {
      const secret = token({ sub: 'mallory' });
      const answer = await rawRequest(
        port,
        `POST /v1/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\nContent-Length: abc\r\n\r\n`,
      );
      assert.match(answer, /^HTTP\/1\.1 400 /);
      assert.match(answer, /content-type: application\/problem\+json/i);
      assert.match(answer, /"code":"BROKER_VALIDATION"/);
      const oversized = await rawRequest(
        port,
        `GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      );
      assert.match(oversized, /^HTTP\/1\.1 431 /);
      assert.match(oversized, /"code":"BROKER_HEADERS_TOO_LARGE"/);
      assert.ok(!lines().includes(secret), 'the raw request reached the logs');
      assert.ok(!lines().includes('rawPacket'));
    });
  });
}

describe('one info line per request', async () => {
  const lineCount = (text: string): number => text.split('\n').filter((line) => line.includes('"msg":"request"')).length;

  test('a grant logs one line: route, status, duration, subject and what decided', async () => {
    const config = testConfig({ overrides: { logLevel: 'info' } });
    const { logger, lines } = capturedLogger(config, 'info');
    const app = await testApp({ config, logger });
    try {
      await app.inject({
        method: 'POST',
        url: '/v1/downloads',
        payload: { keys: ['public/a', 'private/b'] },
        headers: { authorization: `Bearer ${token({ sub: 'alice' })}` },
      });
      const logged = lines()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.equal(logged.length, 1, lines());
      assert.deepEqual(
        { ...logged[0], time: undefined, pid: undefined, hostname: undefined, reqId: undefined, ms: undefined },
        {
          level: 30,
          msg: 'request',
          method: 'POST',
          route: '/v1/downloads',
          status: 200,
          sub: 'alice',
          granted: 1,
          denied: 1,
          decidedBy: 'BROKER_FORBIDDEN',
          time: undefined,
          pid: undefined,
          hostname: undefined,
          reqId: undefined,
          ms: undefined,
        },
      );
      assert.equal(typeof logged[0]?.ms, 'number');
    } finally {
      await app.close();
    }
  });

  test('LOG_REQUEST_SAMPLE_RATE=0 drops successful lines, never denials or errors', async () => {
    const config = testConfig({ overrides: { logLevel: 'info', logRequestSampleRate: 0 } });
    const { logger, lines } = capturedLogger(config, 'info');
    const app = await testApp({ config, logger });
    try {
      const alice = { authorization: `Bearer ${token({ sub: 'alice' })}` };
      await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/a'] }, headers: alice });
      await app.inject({ url: '/healthz' });
      assert.equal(lineCount(lines()), 0);
      await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['private/b'] }, headers: alice });
      await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: [] }, headers: alice });
      await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/a'] } });
      assert.equal(lineCount(lines()), 3);
    } finally {
      await app.close();
    }
  });
});
