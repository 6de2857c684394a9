import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { EntitlementView } from '../../src/admin/schemas.js';
import { capturedLogger, testApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { bearer } from '../helpers/tokens.js';

const now = new Date('2026-06-01T12:00:00Z');
const admin = bearer({ sub: 'billing-service', scope: 'broker:admin' });
const alice = bearer({ sub: 'alice' });
const policy = {
  version: 1 as const,
  rules: [
    { id: 'own', actions: ['read' as const, 'write' as const], resources: ['uploads/{sub}/*'], limits: { maxBytes: 1000 } },
    { id: 'embargo', actions: ['read' as const], resources: ['press/*'], conditions: { notBefore: '2026-07-01T00:00:00Z' } },
    { id: 'desk', when: { roles: ['desk'] }, actions: ['read' as const], resources: ['desk/*'], conditions: { bindToCallerIp: true } },
  ],
  bundles: { course: { resource: 'courses/rust/*' } },
};
const grant = { subject: 'alice', resources: ['shared/team/*'], actions: ['read'], reason: 'order 42' };

describe('the admin API', async () => {
  const app = await testApp({ config: testConfig({ policy, cloudfront: true }), now: () => now });
  after(() => app.close());

  const create = (payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/v1/admin/entitlements', payload, headers: { ...admin, ...headers } });
  const downloadCode = async (key: string): Promise<string> => {
    const response = await app.inject({ method: 'POST', url: '/v1/downloads', payload: { keys: [key] }, headers: alice });
    const [result] = response.json<{ results: { url?: string; error?: { code: string } }[] }>().results;
    return result?.error?.code ?? 'granted';
  };

  test('only tokens with the admin scope: others get 403, no token 401', async () => {
    for (const [method, url] of [
      ['POST', '/v1/admin/entitlements'],
      ['GET', '/v1/admin/entitlements'],
      ['GET', '/v1/admin/entitlements/x'],
      ['DELETE', '/v1/admin/entitlements/x'],
      ['GET', '/v1/admin/audit'],
      ['POST', '/v1/admin/explain'],
    ] as const) {
      const payload = method === 'POST' ? {} : undefined;
      const forbidden = await app.inject({ method, url, payload, headers: bearer({ sub: 'alice', scope: 'broker:read admin' }) });
      assert.equal(forbidden.statusCode, 403, `${method} ${url}: ${forbidden.body}`);
      assert.equal(forbidden.json<{ detail: string }>().detail, 'the admin API needs a token with the scope broker:admin');
      assert.equal((await app.inject({ method, url, payload })).statusCode, 401, `${method} ${url}`);
    }
  });

  test("a grant is recorded as the admin's, decides the subject's grants at once, and its revocation too", async () => {
    assert.equal(await downloadCode('shared/team/plan.pdf'), 'BROKER_FORBIDDEN');
    const created = await create(grant);
    assert.equal(created.statusCode, 201, created.body);
    const entitlement = created.json<EntitlementView>();
    assert.deepEqual(
      { ...entitlement, id: '' },
      {
        id: '',
        subject: 'alice',
        bundleId: null,
        resources: ['shared/team/*'],
        actions: ['read'],
        notBefore: null,
        expiresAt: null,
        revokedAt: null,
        revokedBy: null,
        createOnly: false,
        grantedBy: 'billing-service',
        reason: 'order 42',
        createdAt: now.toISOString(),
        live: true,
      },
    );
    assert.equal(await downloadCode('shared/team/plan.pdf'), 'granted');

    const revoked = await app.inject({ method: 'DELETE', url: `/v1/admin/entitlements/${entitlement.id}`, headers: admin });
    assert.equal(revoked.statusCode, 204, revoked.body);
    assert.equal(await downloadCode('shared/team/plan.pdf'), 'BROKER_FORBIDDEN');
    const kept = await app.inject({ method: 'GET', url: `/v1/admin/entitlements/${entitlement.id}`, headers: admin });
    assert.deepEqual(
      (({ revokedAt, revokedBy, live }) => ({ revokedAt, revokedBy, live }))(kept.json<EntitlementView>()),
      { revokedAt: now.toISOString(), revokedBy: 'billing-service', live: false },
      'the row stays, saying who revoked it',
    );
    assert.equal((await app.inject({ method: 'DELETE', url: `/v1/admin/entitlements/${entitlement.id}`, headers: admin })).statusCode, 204);
    for (const method of ['GET', 'DELETE'] as const) {
      const missing = await app.inject({ method, url: '/v1/admin/entitlements/no-such-id', headers: admin });
      assert.equal(missing.statusCode, 404, method);
      assert.equal(missing.json<{ code: string }>().code, 'BROKER_NOT_FOUND');
    }
  });

  test('Idempotency-Key: a retry (keys in any order) returns the same entitlement; another body with the key is 409', async () => {
    const headers = { 'idempotency-key': 'order-1001' };
    const first = await create({ ...grant, reason: 'order 1001' }, headers);
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    const reordered = Object.fromEntries(Object.entries({ ...grant, reason: 'order 1001' }).reverse());
    const retry = await create(reordered, headers);
    assert.equal(retry.statusCode, 200, retry.body);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(retry.json<EntitlementView>().id, first.json<EntitlementView>().id);
    const conflict = await create({ ...grant, reason: 'order 1002' }, headers);
    assert.equal(conflict.statusCode, 409, conflict.body);
    assert.equal(conflict.json<{ code: string }>().code, 'BROKER_IDEMPOTENCY_CONFLICT');
    const otherAdmin = await create(
      { ...grant, reason: 'order 1002' },
      { ...headers, authorization: bearer({ sub: 'shop', scp: ['broker:admin'] }).authorization },
    );
    assert.equal(otherAdmin.statusCode, 201, 'keys belong to the admin who sent them');
    const listed = await app.inject({ method: 'GET', url: '/v1/admin/entitlements?subject=alice&live=true', headers: admin });
    const reasons = listed.json<{ entitlements: EntitlementView[] }>().entitlements.map((entitlement) => entitlement.reason);
    assert.deepEqual(reasons.filter((reason) => reason.startsWith('order 100')).sort(), ['order 1001', 'order 1002']);
    const equivalent = { 'idempotency-key': 'order-2001' };
    const spelled = await create(
      { ...grant, actions: ['write', 'read'], expiresAt: '2026-07-01T00:00:00Z', reason: 'order 2001' },
      equivalent,
    );
    assert.equal(spelled.statusCode, 201, spelled.body);
    const respelled = await create(
      { ...grant, actions: ['read', 'write'], expiresAt: '2026-07-01T00:00:00.000Z', createOnly: false, reason: 'order 2001' },
      equivalent,
    );
    assert.equal(respelled.statusCode, 200, 'the same entitlement, spelled otherwise, is a retry');
    assert.equal(respelled.json<EntitlementView>().id, spelled.json<EntitlementView>().id);
    for (const bad of ['', 'has space', 'é', 'x'.repeat(256)]) {
      assert.equal((await create(grant, { 'idempotency-key': bad })).statusCode, 400, JSON.stringify(bad));
    }
  });

  test('what the store refuses, and a bundle the policy lacks, are 400s naming every problem', async () => {
    const unknownBundle = await create({ subject: 'bob', bundleId: 'nope', actions: ['read'], reason: 'x' });
    assert.equal(unknownBundle.statusCode, 400);
    assert.match(unknownBundle.json<{ detail: string }>().detail, /nope/u);
    const nothing = await create({ subject: 'bob', actions: ['read'], reason: 'x' });
    assert.equal(nothing.statusCode, 400);
    const ended = await create({ ...grant, expiresAt: '2026-06-01T11:00:00Z' });
    assert.equal(ended.statusCode, 400);
    const badPattern = await create({ ...grant, resources: ['x?'] });
    assert.equal(badPattern.statusCode, 400);
    assert.equal((await create({ ...grant, extra: true })).statusCode, 400, 'unknown properties are refused');
    assert.equal((await create({ ...grant, actions: ['read', 'read'] })).statusCode, 400);
  });

  test('listing: filters, and pages that cover every match once', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const response = await create({ subject: 'pager', bundleId: 'course', actions: ['read'], reason: `p${i}` });
      made.push(response.json<EntitlementView>().id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/admin/entitlements?subject=pager&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await app.inject({ method: 'GET', url: query, headers: admin });
      assert.equal(page.statusCode, 200, page.body);
      const body = page.json<{ entitlements: EntitlementView[]; next: string | null }>();
      assert.ok(body.entitlements.length <= 2);
      seen.push(...body.entitlements.map((entitlement) => entitlement.id));
      cursor = body.next;
    } while (cursor !== null);
    assert.deepEqual(seen.sort(), [...made].sort());
    const byBundle = await app.inject({ method: 'GET', url: '/v1/admin/entitlements?bundleId=course&subject=pager', headers: admin });
    assert.equal(byBundle.json<{ entitlements: unknown[] }>().entitlements.length, 5);
    const byResource = await app.inject({ method: 'GET', url: '/v1/admin/entitlements?resource=shared%2Fteam%2F*', headers: admin });
    const byResourceFound = byResource.json<{ entitlements: EntitlementView[] }>().entitlements;
    assert.ok(byResourceFound.length > 0);
    assert.ok(byResourceFound.every((e) => e.resources.includes('shared/team/*')));
    for (const query of ['limit=0', 'limit=201', 'limit=abc', 'cursor=bm90LWEtY3Vyc29y', 'live=yes', 'unknown=1']) {
      const response = await app.inject({ method: 'GET', url: `/v1/admin/entitlements?${query}`, headers: admin });
      assert.equal(response.statusCode, 400, query);
    }
  });

  test('explain: the decision and its reason for any claims, without granting or recording a grant', async () => {
    const explain = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/v1/admin/explain', payload, headers: admin });
    const allowed = await explain({ claims: { sub: 'zoe' }, action: 'read', key: 'uploads/zoe/a.txt' });
    assert.deepEqual(allowed.json(), { allow: true, reason: 'rule "own" allows it', source: { kind: 'rule', id: 'own' }, ttlSeconds: 900 });
    const denied = await explain({ claims: { sub: 'zoe' }, action: 'read', key: 'uploads/other/a.txt' });
    assert.deepEqual(denied.json(), {
      allow: false,
      code: 'BROKER_FORBIDDEN',
      reason: 'no rule or entitlement grants read on key "uploads/other/a.txt"',
    });
    const tooBig = await explain({
      claims: { sub: 'zoe' },
      action: 'write',
      key: 'uploads/zoe/a.txt',
      contentType: 'text/plain',
      contentLength: 5000,
    });
    assert.equal(tooBig.json<{ code: string }>().code, 'BROKER_LIMIT_EXCEEDED');
    const embargo = await explain({ claims: { sub: 'zoe' }, action: 'read', key: 'press/a.mp4' });
    assert.equal(embargo.json<{ allow: boolean }>().allow, true, 'the embargo rule grants (its start rides in the URL)');
    const desk = { claims: { sub: 'zoe', roles: ['desk'] }, action: 'read', key: 'desk/a.txt' };
    assert.match((await explain(desk)).json<{ reason: string }>().reason, /^rule "desk" binds grants to the caller's IPv4 address/u);
    assert.equal((await explain({ ...desk, clientAddress: '198.51.100.9' })).json<{ allow: boolean }>().allow, true);
    assert.equal((await explain({ ...desk, clientAddress: '2001:db8::9' })).json<{ allow: boolean }>().allow, false);
    const bundle = await explain({ claims: { sub: 'zoe' }, action: 'read', bundleId: 'course' });
    assert.equal(bundle.json<{ allow: boolean }>().allow, false);
    for (const bad of [
      { claims: {}, action: 'read', key: 'a' },
      { claims: { sub: 'zoe' }, action: 'read' },
      { claims: { sub: 'zoe' }, action: 'read', key: 'a', bundleId: 'course' },
    ]) {
      assert.equal((await explain(bad)).statusCode, 400, JSON.stringify(bad));
    }
  });

  test('GET /v1/me/entitlements: the rules and live entitlements that grant the caller something, with limits and ends', async () => {
    const granted = await create({
      subject: 'mia',
      bundleId: 'course',
      actions: ['read'],
      expiresAt: '2026-07-01T00:00:00Z',
      reason: 'bought',
    });
    assert.equal(granted.statusCode, 201);
    const response = await app.inject({ method: 'GET', url: '/v1/me/entitlements', headers: bearer({ sub: 'mia' }) });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), {
      grants: [
        {
          source: { kind: 'rule', id: 'own' },
          actions: ['read', 'write'],
          resources: ['uploads/mia/*'],
          bundles: [],
          limits: { maxBytes: 1000 },
          createOnly: false,
          endsAt: null,
        },
        {
          source: { kind: 'rule', id: 'embargo' },
          actions: ['read'],
          resources: ['press/*'],
          bundles: [],
          limits: {},
          conditions: { notBefore: '2026-07-01T00:00:00.000Z' },
          createOnly: false,
          endsAt: null,
        },
        {
          source: { kind: 'entitlement', id: granted.json<EntitlementView>().id },
          actions: ['read'],
          resources: [],
          bundles: ['course'],
          limits: {},
          createOnly: false,
          endsAt: '2026-07-01T00:00:00.000Z',
        },
      ],
    });
    assert.equal((await app.inject({ method: 'GET', url: '/v1/me/entitlements' })).statusCode, 401);
  });
});

describe("admin writes in the log stream, with the admin's sub", async () => {
  const config = testConfig();
  const { logger, lines } = capturedLogger(config, 'info');
  const app = await testApp({ config, logger });
  after(() => app.close());

  test('a grant and a revocation each leave an info line saying who, what and for whom', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/admin/entitlements', payload: grant, headers: admin });
    const { id } = created.json<EntitlementView>();
    await app.inject({ method: 'DELETE', url: `/v1/admin/entitlements/${id}`, headers: admin });
    const logged = lines()
      .split('\n')
      .filter((line) => line.includes('"msg":"admin '))
      .map((line) => JSON.parse(line) as { msg: string; admin: Record<string, string> });
    assert.deepEqual(
      logged.map((line) => [line.msg, line.admin]),
      [
        ['admin granted an entitlement', { by: 'billing-service', granted: id, subject: 'alice' }],
        ['admin revoked an entitlement', { by: 'billing-service', revoked: id, subject: 'alice' }],
      ],
    );
  });
});

describe('ADMIN_SCOPE names the admin scope', async () => {
  const app = await testApp({ config: testConfig({ overrides: { admin: { scope: 'ops:entitlements' } } }) });
  after(() => app.close());

  test('the configured scope opens the admin API, the default one no longer does', async () => {
    const list = (claims: Record<string, unknown>) => app.inject({ method: 'GET', url: '/v1/admin/entitlements', headers: bearer(claims) });
    assert.equal((await list({ sub: 'ops', scope: 'ops:entitlements' })).statusCode, 200);
    assert.equal((await list({ sub: 'ops', scope: 'broker:admin' })).statusCode, 403);
  });
});
