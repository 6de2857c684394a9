/**
 * The one info line per request names the caller the token proved (principalOf), and only that
 * caller: a refused request, or one that needs no token, names nobody.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { capturedLogger, testApp } from '../../helpers/app.js';
import { testConfig } from '../../helpers/config.js';
import { token } from '../../helpers/tokens.js';

interface RequestLine {
  readonly msg: string;
  readonly route?: string;
  readonly status?: number;
  readonly sub?: string;
}

describe('the request log line', async () => {
  const config = testConfig({ overrides: { logLevel: 'info' } });
  const { logger, lines } = capturedLogger(config, 'info');
  const app = await testApp({ config, logger });
  after(() => app.close());
  const requestLines = (): RequestLine[] =>
    lines()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as RequestLine)
      .filter((line) => line.msg === 'request');
  const download = (authorization: string) =>
    app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: ['public/a'] }, headers: { authorization } });

  test('names the subject of a verified token, and nobody for a refused token or a request without one', async () => {
    assert.equal((await download(`Bearer ${token({ sub: 'alice' })}`)).statusCode, 200);
    assert.equal(
      (await download(`Bearer ${token({ sub: 'mallory' }, { key: 'another-secret-another-secret-another-secret' })}`)).statusCode,
      401,
    );
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    assert.deepEqual(
      requestLines().map(({ route, status, sub }) => ({ route, status, sub })),
      [
        { route: '/v1/downloads', status: 200, sub: 'alice' },
        { route: '/v1/downloads', status: 401, sub: undefined },
        { route: '/healthz', status: 200, sub: undefined },
      ],
    );
  });
});
