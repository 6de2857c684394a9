import type { WebhookConfig } from '../webhooks/delivery.js';
import type { Policy } from '../policy/compile.js';
import type { TokenRules } from '../auth/token-rules.js';
import type { Defaults } from '../policy/defaults.js';

export type Mode = 'development' | 'production' | 'test';

export type JwtVerification =
  | { kind: 'secret'; secret: string }
  | { kind: 'public-key'; publicKey: string; algorithm: 'RS256' | 'ES256' }
  | { kind: 'jwks'; url: string };

export type HashAlgorithm = 'SHA1' | 'SHA256';

/** One key of the CloudFront key ring: its public key's id in the key group, the private key (PEM) and the hash it signs with. */
export interface CloudFrontKey {
  readonly id: string;
  readonly privateKey: string;
  readonly hashAlgorithm: HashAlgorithm;
}

export interface CloudFrontConfig {
  readonly domain: string;
  /**
   * The key ring: the first key signs every new grant; the others (retiring, or not yet signing) stay
   * trusted by the local edge, as by a key group holding them, until the grants they signed expire.
   */
  readonly keys: readonly [CloudFrontKey, ...CloudFrontKey[]];
  /** The scheme and host that grants name; `https://<domain>` unless the broker runs its own local edge (plain http). */
  readonly origin?: string;
  /** Set when the broker runs the local CloudFront edge beside itself (the embedded default): where it listens. */
  readonly localEdge?: { readonly host: string; readonly port: number };
}

/** The scheme and host CloudFront grants name. */
export const cloudfrontOrigin = (cloudfront: CloudFrontConfig): string => cloudfront.origin ?? `https://${cloudfront.domain}`;

export interface S3Config {
  readonly region: string;
  readonly bucket: string;
  readonly endpoint: string | undefined;
  readonly forcePathStyle: boolean;
  /** Only set for the development LocalStack default; otherwise the AWS default chain applies. */
  readonly credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

/** PostgreSQL, shared by replicas: DATABASE_URL. */
export interface PostgresStoreConfig {
  readonly kind: 'postgres';
  readonly url: string;
  /** Migrate at start-up; otherwise refuse to start on a schema that is behind (`npm run migrate` first). */
  readonly migrateOnStart: boolean;
  /** The longest wait for a connection or a statement: beyond it a grant fails (503) rather than hangs. */
  readonly timeoutMs: number;
  readonly poolSize: number;
}

/** Where entitlements and multipart uploads live: the embedded SQLite file (`:memory:` for tests), or PostgreSQL. */
export type StoreConfig = { readonly kind: 'sqlite'; readonly filename: string } | PostgresStoreConfig;

/** Grant requests allowed per window, per subject and per client address (0: no limit); counted in Redis when given. */
export interface RateLimitConfig {
  readonly perSubject: number;
  readonly perAddress: number;
  readonly windowMs: number;
  readonly redisUrl: string | undefined;
  /** What happens to grant requests while the Redis counting them cannot be reached. */
  readonly onStoreFailure: 'open' | 'closed';
}

/** The audit trail: every decision to the log stream, and to the database in batches. */
export interface AuditConfig {
  readonly log: boolean;
  readonly database: boolean;
  readonly queueMax: number;
}

/** The upload lifecycle: how overdue uploads are settled, where rejected bytes go, where S3 events arrive. */
export interface UploadsConfig {
  readonly graceSeconds: number;
  /** 0: this replica does not sweep. */
  readonly sweepIntervalMs: number;
  /** Rejected objects move under it; unset, they are deleted. */
  readonly quarantinePrefix: string | undefined;
  /** S3 event notifications (ObjectCreated) arrive on this SQS queue; SQS's endpoint when not AWS's. */
  readonly eventsQueue: { readonly url: string; readonly endpoint: string | undefined } | undefined;
}

/** The broker's whole configuration, validated once at start-up and passed in; nothing reads process.env later. */
export interface Config {
  readonly mode: Mode;
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  /** The share of successful requests that get their info line; errors and denials always do. */
  readonly logRequestSampleRate: number;
  readonly trustProxy: boolean;
  readonly dataDir: string;
  readonly store: StoreConfig;
  readonly policy: Policy;
  readonly s3: S3Config;
  readonly cloudfront: CloudFrontConfig | undefined;
  readonly jwt: TokenRules & { readonly verification: JwtVerification };
  readonly grants: Defaults;
  readonly cookies: { readonly domain: string | undefined; readonly sameSite: 'strict' | 'lax' | 'none'; readonly secure: boolean };
  readonly corsOrigins: readonly string[];
  /** Each subject's live entitlements, cached: `maxAgeMs` bounds how late another replica's revocation takes effect (0: no cache). */
  readonly decisionCache: { readonly maxAgeMs: number; readonly maxSubjects: number };
  readonly rateLimits: RateLimitConfig;
  readonly audit: AuditConfig;
  readonly uploads: UploadsConfig;
  /** Signed events to the application (Standard Webhooks); undefined, events are recorded and not sent. */
  readonly webhooks: WebhookConfig | undefined;
  /** The token scope the admin API requires. */
  readonly admin: { readonly scope: string };
  /** What runs on a development default, for the start-up banner. */
  readonly developmentDefaults: readonly string[];
}
