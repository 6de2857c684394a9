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
  const compose = parse(await readFile(new URL('../../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
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

test('docker compose --profile scale-out: two replicas on one PostgreSQL and one Redis, on the published ports', async () => {
  const compose = parse(await readFile(new URL('../../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService & { profiles?: string[] }>;
  };
  const published = compose.services.localstack?.ports ?? [];
  const ports: number[] = [];
  for (const name of ['replica-1', 'replica-2']) {
    const replica = compose.services[name];
    assert.ok(replica?.environment, name);
    assert.deepEqual(replica.profiles, ['scale-out']);
    const result = await loadConfig({ HOST: '0.0.0.0', ...replica.environment, DATA_DIR: await mkdtemp(join(tmpdir(), 'compose-')) });
    assert.ok(result.ok, JSON.stringify(result));
    const { store, rateLimits, port, cloudfront } = result.config;
    assert.equal(store.kind, 'postgres');
    assert.equal(rateLimits.redisUrl, 'redis://redis:6379');
    assert.equal(cloudfront, undefined);
    assert.ok(published.includes(`127.0.0.1:${port}:${port}`), `${name} listens on ${port}, not published`);
    ports.push(port);
  }
  assert.equal(new Set(ports).size, 2, 'the replicas share a network namespace, so they need their own ports');
  assert.deepEqual(compose.services.postgres?.profiles, ['scale-out']);
  assert.deepEqual(compose.services.redis?.profiles, ['scale-out']);
});
