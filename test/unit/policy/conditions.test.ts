import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { callerIpv4, cidrContains, compileConditions, ipv4Cidr, resolveConditions } from '../../../src/policy/conditions.js';
import { compilePolicy } from '../../../src/policy/compile.js';
import type { Rule } from '../../../src/policy/schema.js';

describe('IPv4 ranges as CloudFront takes them', () => {
  test('an address is its /32; a range keeps its prefix', () => {
    assert.deepEqual(ipv4Cidr('192.0.2.7'), { ok: true, cidr: '192.0.2.7/32' });
    assert.deepEqual(ipv4Cidr('192.0.2.0/24'), { ok: true, cidr: '192.0.2.0/24' });
    assert.deepEqual(ipv4Cidr('10.0.0.0/8'), { ok: true, cidr: '10.0.0.0/8' });
    assert.deepEqual(ipv4Cidr('0.0.0.0/0'), { ok: true, cidr: '0.0.0.0/0' });
    assert.deepEqual(ipv4Cidr('255.255.255.255/32'), { ok: true, cidr: '255.255.255.255/32' });
  });

  test('host bits set are refused, naming the range meant', () => {
    assert.deepEqual(ipv4Cidr('192.0.2.7/24'), { ok: false, problem: '"192.0.2.7/24" has host bits set; the range is 192.0.2.0/24' });
    assert.equal(ipv4Cidr('203.0.113.129/25').ok, false);
    assert.equal(ipv4Cidr('203.0.113.128/25').ok, true);
  });

  test('IPv6 is refused as CloudFront cannot match it; anything else is not an address', () => {
    for (const text of ['2001:db8::1', '2001:db8::/32', '::ffff:192.0.2.1']) {
      assert.deepEqual(ipv4Cidr(text), { ok: false, problem: `"${text}" is IPv6, and CloudFront matches IPv4 addresses only` });
    }
    for (const text of [
      '192.0.2',
      '192.0.2.256',
      '01.2.3.4',
      '192.0.2.0/33',
      '192.0.2.0/-1',
      '192.0.2.0/24/1',
      '192.0.2.0/',
      ' 192.0.2.1',
      'localhost',
    ]) {
      assert.deepEqual(ipv4Cidr(text), { ok: false, problem: `"${text}" is not an IPv4 address or CIDR range (192.0.2.0/24)` }, text);
    }
  });

  test('containment, at the edges of a range and of the address space', () => {
    assert.ok(cidrContains('192.0.2.0/24', '192.0.2.0'));
    assert.ok(cidrContains('192.0.2.0/24', '192.0.2.255'));
    assert.ok(!cidrContains('192.0.2.0/24', '192.0.3.0'));
    assert.ok(!cidrContains('192.0.2.0/24', '192.0.1.255'));
    assert.ok(cidrContains('0.0.0.0/0', '255.255.255.255'));
    assert.ok(cidrContains('128.0.0.0/1', '255.0.0.1'), 'the top bit set (signed 32-bit arithmetic would break here)');
    assert.ok(!cidrContains('128.0.0.0/1', '127.255.255.255'));
    assert.ok(cidrContains('198.51.100.7/32', '198.51.100.7'));
    assert.ok(!cidrContains('198.51.100.7/32', '198.51.100.6'));
  });

  test("a caller's address: IPv4, an IPv4-mapped IPv6 one unwrapped, else none", () => {
    assert.equal(callerIpv4('198.51.100.23'), '198.51.100.23');
    assert.equal(callerIpv4('::ffff:198.51.100.23'), '198.51.100.23');
    assert.equal(callerIpv4('::FFFF:198.51.100.23'), '198.51.100.23');
    assert.equal(callerIpv4('2001:db8::1'), undefined);
    assert.equal(callerIpv4('::1'), undefined);
  });
});

describe("a rule's conditions", () => {
  test('compiled once: dates parsed, ranges made canonical, an empty set is no set', () => {
    assert.deepEqual(compileConditions({ notBefore: '2027-01-01T09:00:00+02:00', sourceIp: '192.0.2.9', bindToCallerIp: true }), {
      ok: true,
      conditions: { notBefore: new Date('2027-01-01T07:00:00Z'), sourceIp: '192.0.2.9/32', bindToCallerIp: true },
    });
    assert.deepEqual(compileConditions({ bindToCallerIp: false }), { ok: true, conditions: {} });
  });

  test('a date that does not exist, a bad range and a range that matches everyone are refused', () => {
    assert.deepEqual(compileConditions({ notBefore: '2027-02-30T00:00:00Z' }), {
      ok: false,
      problems: ['conditions.notBefore "2027-02-30T00:00:00Z" is not a real date'],
    });
    assert.deepEqual(compileConditions({ notBefore: '2027-02-28T24:00:00-05:00' }).ok, false);
    assert.deepEqual(compileConditions({ notBefore: '2027-02-28T23:30:00-05:00' }).ok, true);
    assert.deepEqual(compileConditions({ sourceIp: '2001:db8::/32' }), {
      ok: false,
      problems: ['conditions.sourceIp: "2001:db8::/32" is IPv6, and CloudFront matches IPv4 addresses only'],
    });
    assert.deepEqual(compileConditions({ sourceIp: '0.0.0.0/0' }), {
      ok: false,
      problems: ['conditions.sourceIp: 0.0.0.0/0 matches every IPv4 address; leave it out'],
    });
  });

  test('in a policy: only on read rules, and every problem names its rule', () => {
    const rule = (extra: Partial<Rule>): Rule => ({ id: 'embargo', actions: ['read'], resources: ['press/*'], ...extra });
    assert.throws(
      () => compilePolicy({ version: 1, rules: [rule({ actions: ['read', 'write'], conditions: { sourceIp: '10.0.0.0/8' } })] }),
      /rule "embargo": conditions apply to reads through CloudFront, and it grants writes/u,
    );
    assert.throws(
      () => compilePolicy({ version: 1, rules: [rule({ conditions: { sourceIp: '10.0.0.1/8' } })] }),
      /rule "embargo": conditions.sourceIp: "10.0.0.1\/8" has host bits set/u,
    );
    const policy = compilePolicy({ version: 1, rules: [rule({ conditions: { notBefore: '2027-01-01T00:00:00Z' } })] });
    assert.deepEqual(policy.rules[0]?.conditions, { notBefore: new Date('2027-01-01T00:00:00Z') });
    assert.equal(compilePolicy({ version: 1, rules: [rule({ conditions: {} })] }).rules[0]?.conditions, undefined);
  });
});

describe('the conditions one grant carries', () => {
  const early = new Date('2027-01-01T00:00:00Z');
  const late = new Date('2027-01-02T00:00:00Z');

  test('none asked, none required: none', () => {
    assert.deepEqual(resolveConditions(undefined, {}, '2001:db8::1'), { ok: true, conditions: undefined });
  });

  test("the later start wins, whoever set it; the rule's range is kept", () => {
    assert.deepEqual(resolveConditions({ notBefore: early, sourceIp: '10.0.0.0/8' }, { notBefore: late }, '192.0.2.1'), {
      ok: true,
      conditions: { notBefore: late, sourceIp: '10.0.0.0/8' },
    });
    assert.deepEqual(resolveConditions({ notBefore: late }, { notBefore: early }, '192.0.2.1'), {
      ok: true,
      conditions: { notBefore: late, sourceIp: undefined },
    });
  });

  test('binding, asked by the rule or the request, gives the caller its /32, inside the rule range', () => {
    assert.deepEqual(resolveConditions({ bindToCallerIp: true }, {}, '::ffff:192.0.2.1'), {
      ok: true,
      conditions: { notBefore: undefined, sourceIp: '192.0.2.1/32' },
    });
    assert.deepEqual(resolveConditions({ sourceIp: '10.0.0.0/8' }, { bindToCallerIp: true }, '10.1.2.3'), {
      ok: true,
      conditions: { notBefore: undefined, sourceIp: '10.1.2.3/32' },
    });
    assert.deepEqual(resolveConditions({ sourceIp: '10.0.0.0/8', bindToCallerIp: true }, {}, '192.0.2.1'), {
      ok: false,
      reason: 'opens only from 10.0.0.0/8, and your address 192.0.2.1 is outside it',
    });
    assert.deepEqual(resolveConditions({ bindToCallerIp: true }, {}, '2001:db8::1'), {
      ok: false,
      reason: "binds grants to the caller's IPv4 address, and 2001:db8::1 is not IPv4 (CloudFront matches IPv4 only)",
    });
  });

  test("a rule's range alone does not look at the caller: grants may be handed to others on that network", () => {
    assert.deepEqual(resolveConditions({ sourceIp: '10.0.0.0/8' }, {}, '2001:db8::1'), {
      ok: true,
      conditions: { notBefore: undefined, sourceIp: '10.0.0.0/8' },
    });
  });
});
