import { isIPv4 } from 'node:net';
import type { Conditions } from './schema.js';

/*
 * CloudFront conditions a rule puts on its read grants: a start (`DateGreaterThan`) and an IPv4 range
 * (`IpAddress`), fixed or the caller's own address. Pure: the caller's address and the request come in.
 */

export interface EdgeConditions {
  /** Grants open only from this instant. */
  readonly notBefore?: Date;
  /** Grants open only from this range: canonical IPv4 CIDR (`192.0.2.0/24`, `192.0.2.7/32`). */
  readonly sourceIp?: string;
  /** Grants open only from the caller's own IPv4 address. */
  readonly bindToCallerIp?: boolean;
}

/** What a request itself asks for (the downloads route's `notBefore` and `bindToCallerIp`). */
export interface AskedConditions {
  readonly notBefore?: Date | undefined;
  readonly bindToCallerIp?: boolean | undefined;
}

/** What a grant carries into its CloudFront policy. */
export interface GrantConditions {
  readonly notBefore: Date | undefined;
  readonly sourceIp: string | undefined;
}

const toNumber = (address: string): number => address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
const toAddress = (value: number): string => [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
/** The network part of a /prefix, as a number (no bit operators: they are signed 32-bit in JavaScript). */
const networkOf = (value: number, prefix: number): number => value - (value % 2 ** (32 - prefix));

/** An IPv4 address or CIDR range as CloudFront takes it (`a.b.c.d/n`, host bits zero), or why it cannot be. */
export function ipv4Cidr(text: string): { ok: true; cidr: string } | { ok: false; problem: string } {
  const [address = '', prefixText, ...rest] = text.split('/');
  if (address.includes(':')) return { ok: false, problem: `"${text}" is IPv6, and CloudFront matches IPv4 addresses only` };
  if (!isIPv4(address) || rest.length > 0 || (prefixText !== undefined && !/^(?:[0-9]|[12][0-9]|3[0-2])$/u.test(prefixText))) {
    return { ok: false, problem: `"${text}" is not an IPv4 address or CIDR range (192.0.2.0/24)` };
  }
  const prefix = prefixText === undefined ? 32 : Number(prefixText);
  const network = toAddress(networkOf(toNumber(address), prefix));
  if (network !== address) return { ok: false, problem: `"${text}" has host bits set; the range is ${network}/${prefix}` };
  return { ok: true, cidr: `${address}/${prefix}` };
}

/** Whether a canonical CIDR range holds an IPv4 address. */
export function cidrContains(cidr: string, address: string): boolean {
  const [network = '', prefix = '32'] = cidr.split('/');
  return networkOf(toNumber(address), Number(prefix)) === toNumber(network);
}

/** The caller's IPv4 address (an IPv4-mapped IPv6 one unwrapped), or undefined when it has none CloudFront could match. */
export function callerIpv4(clientAddress: string): string | undefined {
  const address = clientAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/iu, '');
  return isIPv4(address) ? address : undefined;
}

/** A rule's conditions checked and prepared once, at policy load. */
export function compileConditions(conditions: Conditions): { ok: true; conditions: EdgeConditions } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  let notBefore: Date | undefined;
  if (conditions.notBefore !== undefined) {
    notBefore = new Date(conditions.notBefore);
    // Date accepts 2027-02-30 as March 2nd; a date that does not round-trip does not exist.
    if (Number.isNaN(notBefore.getTime()) || !sameCalendarDate(conditions.notBefore, notBefore)) {
      problems.push(`conditions.notBefore "${conditions.notBefore}" is not a real date`);
    }
  }
  let sourceIp: string | undefined;
  if (conditions.sourceIp !== undefined) {
    const range = ipv4Cidr(conditions.sourceIp);
    if (range.ok) sourceIp = range.cidr;
    else problems.push(`conditions.sourceIp: ${range.problem}`);
  }
  if (sourceIp === '0.0.0.0/0') problems.push('conditions.sourceIp: 0.0.0.0/0 matches every IPv4 address; leave it out');
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    conditions: {
      ...(notBefore === undefined ? {} : { notBefore }),
      ...(sourceIp === undefined ? {} : { sourceIp }),
      ...(conditions.bindToCallerIp === true ? { bindToCallerIp: true } : {}),
    },
  };
}

function sameCalendarDate(text: string, date: Date): boolean {
  const offset = /([+-])(\d{2}):(\d{2})$/u.exec(text);
  const minutes = offset ? (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) : 0;
  const local = new Date(date.getTime() + minutes * 60_000).toISOString();
  return local.slice(0, 19) === text.slice(0, 19);
}

const NONE = { ok: true, conditions: undefined } as const;

/**
 * The conditions one grant carries: the rule's and the request's together, the stricter of each.
 * A start is the later of the two; binding to the caller (asked by either) gives the caller's /32,
 * which must lie inside the rule's range when it has one. Undefined when there are none; refused,
 * with the reason (worded to follow the rule's name), when the caller cannot meet them.
 */
export function resolveConditions(
  rule: EdgeConditions | undefined,
  asked: AskedConditions,
  clientAddress: string,
): { ok: true; conditions: GrantConditions | undefined } | { ok: false; reason: string } {
  if (rule === undefined && asked.notBefore === undefined && asked.bindToCallerIp !== true) return NONE; // the common case, allocation-free
  const starts = [rule?.notBefore, asked.notBefore].filter((date): date is Date => date !== undefined);
  const notBefore = starts.length === 0 ? undefined : new Date(Math.max(...starts.map((date) => date.getTime())));
  if (rule?.bindToCallerIp !== true && asked.bindToCallerIp !== true)
    return { ok: true, conditions: { notBefore, sourceIp: rule?.sourceIp } };
  const address = callerIpv4(clientAddress);
  if (address === undefined) {
    return {
      ok: false,
      reason: `binds grants to the caller's IPv4 address, and ${clientAddress} is not IPv4 (CloudFront matches IPv4 only)`,
    };
  }
  if (rule?.sourceIp !== undefined && !cidrContains(rule.sourceIp, address)) {
    return { ok: false, reason: `opens only from ${rule.sourceIp}, and your address ${address} is outside it` };
  }
  return { ok: true, conditions: { notBefore, sourceIp: `${address}/32` } };
}

/** Why a grant with these conditions would never open (its start at or after its end), or undefined. */
export function neverOpens(conditions: GrantConditions | undefined, expiresAt: Date): string | undefined {
  const start = conditions?.notBefore;
  return start !== undefined && start >= expiresAt
    ? `it would open at ${start.toISOString()}, not before it expires (${expiresAt.toISOString()})`
    : undefined;
}
