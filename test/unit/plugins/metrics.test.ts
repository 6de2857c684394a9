import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { deferredCounter } from '../../../src/plugins/metrics.js';

test('a deferred counter shows every increment at each scrape, and keeps counting across scrapes', async () => {
  const registry = new Registry();
  const counted = deferredCounter({ name: 'test_things_total', help: 'Things.', labelNames: ['kind', 'outcome'], registers: [registry] });
  const line = async (kind: string, outcome: string): Promise<string | undefined> =>
    (await registry.metrics()).split('\n').find((row) => row.startsWith(`test_things_total{kind="${kind}",outcome="${outcome}"}`));

  for (let i = 0; i < 3; i += 1) counted('upload', 'granted').inc();
  counted('download', 'denied').inc();
  assert.equal(await line('upload', 'granted'), 'test_things_total{kind="upload",outcome="granted"} 3');
  assert.equal(await line('download', 'denied'), 'test_things_total{kind="download",outcome="denied"} 1');

  counted('upload', 'granted').inc();
  counted('upload', 'granted').inc();
  assert.equal(await line('upload', 'granted'), 'test_things_total{kind="upload",outcome="granted"} 5', 'not reset by the last scrape');
  assert.equal(await line('upload', 'granted'), 'test_things_total{kind="upload",outcome="granted"} 5', 'a scrape adds nothing itself');
  assert.equal(await line('download', 'denied'), 'test_things_total{kind="download",outcome="denied"} 1');
  assert.equal(await line('bundle', 'granted'), undefined, 'no series before its first count');
});
