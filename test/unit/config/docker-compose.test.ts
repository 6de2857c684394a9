import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { DEFAULT_EDGE_PORT, loadConfig } from '../../../src/config/load.js';

interface ComposeService {
  environment?: Record<string, string>;
  ports?: string[];
  network_mode?: string;
}

/*
 * No Docker engine runs where CI does, so `docker compose up` itself is never run there. This checks what it
 * would do: the broker's compose environment, loaded as the broker loads it, runs the local edge where the host
 * can reach it, on a port the compose file publishes.
 */
test('docker compose: the broker runs the local CloudFront edge, published to the host', async () => {
  const compose = parse(await readFile(new URL('../../../docker-compose.yml', import.meta.url), 'utf8')) as {
    services: Record<string, ComposeService>;
  };
  const broker = compose.services.broker;
  assert.ok(broker?.environment);
  assert.equal(broker.network_mode, 'service:localstack');
  // The image's ENV (the runtime stage's, the last ENV block), then compose's environment over it.
  const dockerfile = await readFile(new URL('../../../Dockerfile', import.meta.url), 'utf8');
  const envBlock = /^ENV ((?:.*\\\n)*.*)$/mu.exec(dockerfile.slice(dockerfile.lastIndexOf('\nENV ')))?.[1] ?? '';
  const imageEnv: Record<string, string> = {};
  for (const [, name = '', value = ''] of envBlock.matchAll(/(\w+)=(\S+)/gu)) imageEnv[name] = value;
  assert.equal(imageEnv.HOST, '0.0.0.0', JSON.stringify(imageEnv));
  const result = await loadConfig({ ...imageEnv, ...broker.environment, DATA_DIR: await mkdtemp(join(tmpdir(), 'compose-')) });
  assert.equal(result.ok && result.config.host, '0.0.0.0', 'the broker listens where the published port reaches it');
  assert.ok(result.ok, JSON.stringify(result));
  const { cloudfront } = result.config;
  assert.deepEqual(cloudfront?.localEdge, { host: '0.0.0.0', port: DEFAULT_EDGE_PORT });
  assert.equal(cloudfront?.origin, `http://localhost:${DEFAULT_EDGE_PORT}`);
  const published = compose.services.localstack?.ports ?? [];
  assert.ok(published.includes(`127.0.0.1:${DEFAULT_EDGE_PORT}:${DEFAULT_EDGE_PORT}`), published.join(', '));
  assert.ok(published.includes(`127.0.0.1:${result.config.port}:${result.config.port}`), published.join(', '));
});
