import 'dotenv/config';
import { parseArgs } from 'node:util';
import { createSigner } from 'fast-jwt';
import { loadConfig } from '../config/load.js';

const usage = `usage: npm run -s dev-token -- --sub <subject> [--scope s]... [--role r]... [--claim name=value]... [--ttl seconds]
Prints a token signed with the broker's HS256 secret (the development secret in DATA_DIR, or JWT_SECRET).`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      options: {
        sub: { type: 'string' },
        scope: { type: 'string', multiple: true },
        role: { type: 'string', multiple: true },
        claim: { type: 'string', multiple: true },
        ttl: { type: 'string', default: '3600' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    // `--ttl -60` and unknown flags end here: a usage line, not a stack trace.
    fail(`dev-token: ${(error as Error).message}`);
  }
}

const { values } = parse();

if (values.help) fail('');
if (!values.sub) fail('dev-token: --sub is required');
const ttl = Number(values.ttl);
if (!/^[1-9][0-9]*$/u.test(values.ttl)) fail('dev-token: --ttl must be a whole, positive number of seconds');

const result = await loadConfig(process.env);
if (!result.ok) fail(`dev-token: configuration is not valid:\n  - ${result.errors.join('\n  - ')}`);
const { jwt } = result.config;
if (ttl > jwt.maxTokenAgeSeconds)
  fail(`dev-token: --ttl ${ttl} is longer than the broker accepts (JWT_MAX_TOKEN_AGE_SECONDS=${jwt.maxTokenAgeSeconds})`);
if (jwt.verification.kind !== 'secret')
  fail('dev-token: the broker verifies tokens with a public key or JWKS here; mint tokens with your identity provider');

const claims: Record<string, unknown> = { sub: values.sub };
if (values.scope) claims.scope = values.scope.join(' ');
if (values.role) claims.roles = values.role;
for (const pair of values.claim ?? []) {
  const at = pair.indexOf('=');
  if (at < 1) fail(`dev-token: --claim "${pair}" must be name=value`);
  claims[pair.slice(0, at)] = pair.slice(at + 1);
}
const sign = createSigner({
  key: jwt.verification.secret,
  algorithm: 'HS256',
  expiresIn: ttl * 1000,
  ...(jwt.issuer === undefined ? {} : { iss: jwt.issuer }),
  ...(jwt.audience === undefined ? {} : { aud: jwt.audience }),
});
process.stdout.write(`${sign(claims)}\n`);
