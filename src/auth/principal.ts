/** The authenticated caller, as the policy sees it. */
export interface Principal {
  readonly sub: string;
  readonly scopes: readonly string[];
  /** `roles` and `groups` claims together: identity providers use either name. */
  readonly roles: readonly string[];
  readonly claims: Readonly<Record<string, unknown>>;
}

const stringList = (value: unknown): string[] => {
  if (typeof value === 'string') return value.split(' ').filter((item) => item !== '');
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string' && item !== '');
  return [];
};

/** Returns undefined when the token has no usable subject: such a token identifies nobody. */
export function principalFromClaims(claims: Record<string, unknown>): Principal | undefined {
  const { sub } = claims;
  if (typeof sub !== 'string' || sub === '') return undefined;
  return {
    sub,
    scopes: [...new Set([...stringList(claims.scope), ...stringList(claims.scp)])],
    roles: [...new Set([...stringList(claims.roles), ...stringList(claims.groups)])],
    claims,
  };
}
