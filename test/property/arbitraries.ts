/**
 * Generators for policy decisions: small pools of subjects, scopes, claim names and literal
 * pieces, so that generated keys, claims and patterns often meet, plus every kind of crafted
 * claim value the pattern rules must refuse.
 */
import fc from 'fast-check';
import type { Principal } from '../../src/auth/principal.js';
import type { Policy } from '../../src/policy/compile.js';
import type { Ask } from '../../src/policy/decide.js';
import type { Defaults } from '../../src/policy/defaults.js';
import { compileEntitlement, type Entitlement } from '../../src/policy/entitlement.js';
import { validatePolicyDocument } from '../../src/policy/load.js';
import type { Action, Limits, Match } from '../../src/policy/schema.js';
import {
  ACTIVE_TYPES,
  candidates,
  claimValueForPattern,
  tokenize,
  type ModelCase,
  type ModelEntitlement,
  type ModelRule,
} from './policy-model.js';

/** Whole seconds, as the authorizer passes it; cases add 0 to 999 ms to it. */
export const BASE_NOW = new Date('2026-03-01T10:00:00.000Z');

export const SUBJECTS = ['alice', 'bob', 'carol', 'ü-user', '*', 'alice/../bob'] as const;
const SCOPES = ['files:read', 'files:write', 'admin', 'openid'] as const;
const ROLES = ['editor', 'admin', 'viewer'] as const;
/** Claim names usable in patterns and conditions (`sub` is the caller's subject). */
export const CLAIM_NAMES = ['sub', 'tid', 'team', 'org.id', 'a:b-c'] as const;
const OTHER_CLAIMS = ['tid', 'team', 'org.id', 'a:b-c'] as const;

const SAFE_VALUES = ['alice', 'bob', 't1', 'gold', 'a b', 'ü', '文件', '%2A', 'x.y', '...', '\\', '3', "it's", '~', '+', 'x'.repeat(256)];
/** Values that must never be substituted into a pattern: they could widen it or leave the caller's prefix. */
export const UNSAFE_VALUES = [
  '',
  '.',
  '..',
  '*',
  '?',
  '/',
  'a/b',
  'alice/../bob',
  '{sub}',
  '}',
  '{',
  'a*',
  'a?b',
  'a\u0000',
  'a\u001f',
  '\u007f',
  '\u0085',
  '\u009f',
  'x'.repeat(257),
];

const stringClaim = fc.oneof(fc.constantFrom(...SAFE_VALUES), fc.constantFrom(...UNSAFE_VALUES));
const scalarClaim = fc.oneof(
  { weight: 4, arbitrary: stringClaim },
  { weight: 1, arbitrary: fc.constantFrom(3, 0, -1, 1.5, 1e21, Number.NaN, Number.POSITIVE_INFINITY) },
  { weight: 1, arbitrary: fc.boolean() },
);
/** Anything a token may carry in a claim: scalars, arrays (which only `when` reads), null, objects. */
export const claimValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: scalarClaim },
  { weight: 2, arbitrary: fc.array(scalarClaim, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, { nested: 'alice' }, ['t1', ['gold']]) },
);

export const principalArb: fc.Arbitrary<Principal> = fc
  .record({
    sub: fc.constantFrom(...SUBJECTS),
    scopes: fc.subarray([...SCOPES]),
    roles: fc.subarray([...ROLES]),
    others: fc.record(Object.fromEntries(OTHER_CLAIMS.map((name) => [name, claimValue])), { requiredKeys: [] }),
  })
  .map(({ sub, scopes, roles, others }) => ({ sub, scopes, roles, claims: { ...others, sub } }));

/** Pieces of literal text: regular-expression metacharacters, percent signs, unicode, dots and slashes. */
const LITERAL_PIECES = ['a', 'b', 'uploads', 'public', 'alice', 'x.y', 'ü', '文', ' ', '%', '%2A', '25', '+', '(', ')'];
LITERAL_PIECES.push('[', ']', '$', '^', '.', '..', '\\', '|', '~', "'", '#', '&', '=', '😀', '-', '/', '/', '/');

const literalText = fc.string({ unit: fc.constantFrom(...LITERAL_PIECES), minLength: 1, maxLength: 4 });
const patternPart = fc.oneof(
  { weight: 3, arbitrary: literalText },
  { weight: 1, arbitrary: fc.constantFrom(...CLAIM_NAMES).map((name) => `{${name}}`) },
  { weight: 1, arbitrary: fc.constant('*') },
);
/** A pattern source that compiles: literal text, `{claim}` and `*`, never `?` nor a leading `/`. */
export const patternSource: fc.Arbitrary<string> = fc
  .array(patternPart, { minLength: 1, maxLength: 5 })
  .map((parts) => parts.join(''))
  .map((source) => (source.startsWith('/') ? `p${source}` : source));

/** Stored patterns that do not compile: they must grant nothing. */
export const MALFORMED_PATTERNS = ['/x/*', 'x/?', 'x/{oops', 'x}/*', '{}', '{a b}/*', '?'] as const;

const CONTENT_RANGES = [
  'image/*',
  'text/plain',
  'application/pdf',
  'video/*',
  'text/*',
  'image/svg+xml',
  'text/html',
  'application/atom+xml',
];
const limitsArb: fc.Arbitrary<Limits> = fc.record(
  {
    maxBytes: fc.constantFrom(0, 500, 1000, 20_000),
    contentTypes: fc.subarray(CONTENT_RANGES, { minLength: 1 }),
    maxTtlSeconds: fc.constantFrom(1, 60, 600, 7200),
  },
  { requiredKeys: [] },
);

const wantedScalar = fc.constantFrom<string | number | boolean>('alice', 't1', 'gold', '3', 'a b', 3, 0, true, false);
const whenArb: fc.Arbitrary<Match> = fc.record(
  {
    subjects: fc.subarray([...SUBJECTS], { minLength: 1 }),
    scopes: fc.subarray([...SCOPES], { minLength: 1 }),
    roles: fc.subarray([...ROLES], { minLength: 1 }),
    claims: fc.dictionary(
      fc.constantFrom(...OTHER_CLAIMS),
      fc.oneof(wantedScalar, fc.array(wantedScalar, { minLength: 1, maxLength: 3 })),
      {
        maxKeys: 3,
      },
    ),
  },
  { requiredKeys: [] },
);

const actionsArb = fc.constantFrom<Action[]>(['read'], ['write'], ['read', 'write'], ['write', 'read']);

const ruleDraft = fc.record({
  when: fc.option(whenArb, { nil: undefined, freq: 2 }),
  actions: actionsArb,
  resources: fc.option(fc.array(patternSource, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  bundlePicks: fc.option(fc.array(fc.nat(4), { minLength: 1, maxLength: 2 }), { nil: undefined }),
  limits: fc.option(limitsArb, { nil: undefined }),
  createOnly: fc.option(fc.boolean(), { nil: undefined }),
});

const OFFSETS = [-3600, -1, -0.5, 0, 0.5, 0.999, 1, 1.5, 59.9, 60, 3600, 10_000_000];
const instant = fc.option(fc.constantFrom(...OFFSETS), { nil: null, freq: 2 });

const entitlementDraft = fc.record({
  mine: fc.constantFrom(true, true, false),
  otherSubject: fc.constantFrom(...SUBJECTS),
  bundlePick: fc.option(fc.nat(4), { nil: null }),
  resources: fc.array(fc.oneof({ weight: 5, arbitrary: patternSource }, { weight: 1, arbitrary: fc.constantFrom(...MALFORMED_PATTERNS) }), {
    maxLength: 2,
  }),
  actions: actionsArb,
  notBefore: instant,
  expiresAt: instant,
  revokedAt: instant,
  createOnly: fc.boolean(),
});

export const defaultsArb: fc.Arbitrary<Defaults> = fc
  .record({
    maxBytes: fc.constantFrom(0, 1000, 10_000),
    maxTtlSeconds: fc.constantFrom(60, 3600, 86_400, 604_800),
    defaultTtlSeconds: fc.constantFrom(1, 30, 900, 3600),
  })
  .map((d) => ({ ...d, defaultTtlSeconds: Math.min(d.defaultTtlSeconds, d.maxTtlSeconds) }));

const filler = fc.string({ unit: fc.constantFrom('a', 'b', '/', 'ü', '.', '*', '?', '%', '25', ' ', 'alice'), maxLength: 4 });

const keyDraft = fc.record({
  /** Mostly a pattern of a rule or entitlement that applies to the ask, so that allows are common. */
  fromApplicable: fc.constantFrom(true, true, true, false),
  pick: fc.nat(),
  fillers: fc.array(filler, { minLength: 1, maxLength: 6 }),
  change: fc.constantFrom('none', 'none', 'none', 'none', 'none', 'append', 'drop-last', 'prepend', 'random'),
});

const askDraft = fc.record({
  action: fc.constantFrom<Action>('read', 'write'),
  toBundle: fc.boolean(),
  bundlePick: fc.nat(4),
  key: keyDraft,
  contentType: fc.option(
    fc.oneof(
      fc.constantFrom('image/png', 'IMAGE/PNG; charset=x', ' text/plain ', 'imagex/png', 'image', 'image/', 'application/pdf', 'video/mp4'),
      fc.constantFrom('Text/HTML; charset=utf-8', 'image/svg+xml', 'application/atom+xml', 'application/xml+json', ...ACTIVE_TYPES),
    ),
    { nil: undefined },
  ),
  contentLength: fc.option(fc.constantFrom(0, 1, 499, 500, 501, 1000, 1001, 10_000, 10_001, 20_000, 20_001), { nil: undefined }),
  ttlSeconds: fc.option(fc.constantFrom(1, 59, 60, 61, 600, 900, 3600, 7200, 86_400, 604_800, 700_000), { nil: undefined }),
});

/** Fills a pattern with the caller's claims and filler text, so that keys often (not always) fall inside it. */
function instantiate(source: string, claims: Readonly<Record<string, unknown>>, fillers: readonly string[]): string {
  let next = 0;
  const fill = (): string => fillers[next++ % fillers.length] ?? '';
  return (tokenize(source) ?? [{ kind: 'literal', text: source }])
    .map((token) => {
      if (token.kind === 'literal') return token.text;
      if (token.kind === 'wildcard') return fill();
      return claimValueForPattern(claims, token.name) ?? fill();
    })
    .join('');
}

function keyFrom(draft: ValueOf<typeof keyDraft>, sources: readonly string[], claims: Readonly<Record<string, unknown>>): string {
  const source = sources[draft.pick % Math.max(1, sources.length)];
  const random = draft.fillers.join('');
  if (source === undefined || draft.change === 'random') return random === '' ? 'a' : random;
  const key = instantiate(source, claims, draft.fillers);
  if (draft.change === 'append') return `${key}${draft.fillers[0] ?? ''}x`;
  if (draft.change === 'drop-last') return key.slice(0, -1);
  if (draft.change === 'prepend') return `x${key}`;
  return key;
}

type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

const BUNDLE_IDS = ['b0', 'b1', 'b2'] as const;

/** Builds a case, as plain data, from drafts: the counterexamples fast-check prints stay readable. */
function buildCase(parts: {
  rules: ValueOf<typeof ruleDraft>[];
  bundleSources: string[];
  entitlements: ValueOf<typeof entitlementDraft>[];
  who: Principal;
  ask: ValueOf<typeof askDraft>;
  nowMs: number;
  defaults: Defaults;
}): ModelCase {
  const now = new Date(BASE_NOW.getTime() + parts.nowMs);
  const bundles: Record<string, string> = {};
  parts.bundleSources.forEach((source, i) => {
    bundles[BUNDLE_IDS[i] ?? `b${i}`] = source;
  });
  const bundleIds = Object.keys(bundles);
  const pickBundle = (pick: number): string | undefined => bundleIds[pick % Math.max(1, bundleIds.length)];

  const rules: ModelRule[] = parts.rules.map((draft, i) => {
    let actions: Action[] = draft.actions;
    let bundleRefs = draft.bundlePicks?.map(pickBundle).filter((id): id is string => id !== undefined);
    if (bundleRefs?.length === 0) bundleRefs = undefined;
    // The policy refuses bundles on a rule that writes: keep what the draft leans to.
    if (bundleRefs !== undefined && actions.includes('write')) {
      if (actions.length > 1) actions = ['read'];
      else bundleRefs = undefined;
    }
    const resources = draft.resources ?? (bundleRefs === undefined ? ['fallback/*'] : undefined);
    return {
      id: `r${i}`,
      actions,
      ...(draft.when === undefined ? {} : { when: draft.when }),
      ...(resources === undefined ? {} : { resources }),
      ...(bundleRefs === undefined ? {} : { bundles: [...new Set(bundleRefs)] }),
      ...(draft.limits === undefined ? {} : { limits: draft.limits }),
      // createOnly on a rule without write is refused at load; such a rule keeps the default.
      ...(draft.createOnly === undefined || !actions.includes('write') ? {} : { createOnly: draft.createOnly }),
    };
  });

  const at = (offset: number | null): Date | null => (offset === null ? null : new Date(BASE_NOW.getTime() + offset * 1000));
  const entitlements: ModelEntitlement[] = parts.entitlements.map((draft, i) => ({
    id: `e${i}`,
    subject: draft.mine ? parts.who.sub : draft.otherSubject,
    bundleId: draft.bundlePick === null ? null : (pickBundle(draft.bundlePick) ?? 'gone'),
    resources: draft.resources,
    actions: draft.actions,
    notBefore: at(draft.notBefore),
    expiresAt: at(draft.expiresAt),
    revokedAt: at(draft.revokedAt),
    createOnly: draft.createOnly && draft.actions.includes('write'),
  }));

  const { ask: a } = parts;
  const draftCase = { rules, bundles, entitlements, who: parts.who, now, defaults: parts.defaults };
  const applicable = candidates({ ...draftCase, ask: { action: a.action, target: { kind: 'key', key: '' } } }).flatMap((candidate) => [
    ...candidate.resources,
    ...candidate.bundles.flatMap((id) => (Object.hasOwn(bundles, id) ? [bundles[id] ?? ''] : [])),
  ]);
  const everything = [
    ...rules.flatMap((rule) => rule.resources ?? []),
    ...Object.values(bundles),
    ...entitlements.flatMap((entitlement) => entitlement.resources),
  ];
  const sources = a.key.fromApplicable && applicable.length > 0 ? applicable : everything;
  const ask: Ask = {
    action: a.action,
    target:
      // Only reads ask for a bundle (bundle cookies); writes on a bundle have their own test.
      a.toBundle && a.action === 'read' && bundleIds.length > 0
        ? { kind: 'bundle', bundleId: a.bundlePick === 4 ? 'nope' : (pickBundle(a.bundlePick) ?? 'nope') }
        : { kind: 'key', key: keyFrom(a.key, sources, parts.who.claims) },
    ...(a.contentType === undefined ? {} : { contentType: a.contentType }),
    ...(a.contentLength === undefined ? {} : { contentLength: a.contentLength }),
    ...(a.ttlSeconds === undefined ? {} : { ttlSeconds: a.ttlSeconds }),
  };

  return { ...draftCase, ask };
}

/** What decide() takes for a case: the policy through the same validation as a policy file, entitlements compiled as the store does. */
export function compileCase(c: ModelCase): { policy: Policy; entitlements: Entitlement[] } {
  const bundles = Object.fromEntries(Object.entries(c.bundles).map(([id, resource]) => [id, { resource }]));
  const policy = validatePolicyDocument({ version: 1, rules: c.rules, bundles }, 'property test policy');
  const entitlements = c.entitlements.map((e) =>
    compileEntitlement({ ...e, grantedBy: 'property test', reason: 'generated', revokedBy: null, createdAt: c.now }),
  );
  return { policy, entitlements };
}

export const decisionCase: fc.Arbitrary<ModelCase> = fc
  .record({
    rules: fc.array(ruleDraft, { minLength: 1, maxLength: 4 }),
    // The policy refuses a hex digit or a claim right after `*` in a bundle (CloudFront matches `*` against escapes).
    bundleSources: fc.array(
      patternSource.filter((source) => !/\*(?:[0-9A-Fa-f]|\{)/u.test(source)),
      { maxLength: 3 },
    ),
    entitlements: fc.array(entitlementDraft, { maxLength: 4 }),
    who: principalArb,
    ask: askDraft,
    nowMs: fc.constantFrom(0, 0, 1, 499, 999),
    defaults: defaultsArb,
  })
  .map(buildCase);
