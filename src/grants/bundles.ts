import type { Principal } from '../auth/principal.js';
import { BrokerError } from '../errors/catalogue.js';
import { encodeKeyForCloudFront } from '../keys/cloudfront-path.js';
import type { Policy } from '../policy/compile.js';
import { neverOpens } from '../policy/conditions.js';
import { resolvePattern } from '../policy/patterns.js';
import { shareableExpiry, type CloudFrontSigner, type SignedCookies } from '../signing/cloudfront-signer.js';
import type { Authorizer, Caller } from './authorizer.js';

/** Browsers keep a cookie's name and value up to 4096 bytes together (RFC 6265bis §5.6); longer ones are dropped silently. */
export const BROWSER_COOKIE_BYTES = 4096;

export interface BundleGrant {
  readonly bundleId: string;
  readonly resource: string;
  readonly expiresAt: Date;
  readonly cookiePath: string;
  readonly cookies: SignedCookies;
}

/** Bundle grants: CloudFront signed cookies over a bundle's resource pattern. */
export class BundleGrants {
  constructor(
    private readonly deps: { readonly authorizer: Authorizer; readonly policy: Policy; readonly cloudfront: CloudFrontSigner | undefined },
  ) {}

  async cookies(caller: Caller, bundleId: string, ttlSeconds: number | undefined): Promise<BundleGrant> {
    const scope = this.scope(caller.principal, bundleId);
    const { cloudfront } = this.deps;
    if (!cloudfront) throw new BrokerError('BROKER_CDN_NOT_CONFIGURED', 'bundle cookies need CLOUDFRONT_DOMAIN and a CloudFront key pair');
    const authorization = await this.deps.authorizer.begin(caller, 'bundle');
    const decision = authorization.require({ action: 'read', target: { kind: 'bundle', bundleId }, ttlSeconds });
    const resource = `${cloudfront.origin}/${scope.path}`;
    const expiresAt = shareableExpiry(authorization.now, decision.ttlSeconds);
    const never = neverOpens(decision.conditions, expiresAt);
    if (never !== undefined)
      throw new BrokerError('BROKER_VALIDATION', `bundle "${bundleId}": these cookies could never be used: ${never}`);
    const cookies = cloudfront.signCookies(resource, expiresAt, decision.conditions);
    // A cookie a browser drops would look like a working grant that opens nothing: refuse it here, saying why.
    for (const [name, value] of Object.entries<string | undefined>(cookies)) {
      const bytes = Buffer.byteLength(`${name}${value ?? ''}`);
      if (bytes > BROWSER_COOKIE_BYTES) {
        throw new BrokerError(
          'BROKER_COOKIE_TOO_LARGE',
          `bundle "${bundleId}": the ${name} cookie would be ${bytes} bytes, over browsers' ${BROWSER_COOKIE_BYTES}; its resource (${resource.length} characters here) must be shorter`,
        );
      }
    }
    return { bundleId, resource, expiresAt, cookiePath: scope.cookiePath, cookies };
  }

  /** The cookie path a bundle's cookies were set with, so they can be cleared. */
  cookiePath(principal: Principal, bundleId: string): string {
    return this.scope(principal, bundleId).cookiePath;
  }

  private scope(principal: Principal, bundleId: string): { path: string; cookiePath: string } {
    const bundle = this.deps.policy.bundles.get(bundleId);
    if (!bundle) throw new BrokerError('BROKER_BUNDLE_NOT_FOUND', `no bundle "${bundleId}" is defined`);
    const resolved = resolvePattern(bundle.resource, principal.claims);
    if (!resolved.ok) throw new BrokerError('BROKER_FORBIDDEN', `bundle "${bundleId}": ${resolved.reason}`);
    // Literal chunks are percent-encoded (a `?` or `*` in them becomes %3F / %2A); only the pattern's own `*` stay wildcards.
    const path = resolved.pattern.chunks.map(encodeKeyForCloudFront).join('*');
    const firstChunk = resolved.pattern.chunks[0] ?? '';
    const cookiePath = bundle.cookiePath ?? `/${encodeKeyForCloudFront(firstChunk.slice(0, firstChunk.lastIndexOf('/') + 1))}`;
    return { path, cookiePath };
  }
}
