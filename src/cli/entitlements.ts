import 'dotenv/config';
import { parseArgs } from 'node:util';
import { parseEnv, storeConfigOf } from '../config/load.js';
import { InvalidEntitlementError, recordOf } from '../policy/entitlement.js';
import { openStore } from '../store/entitlement-store.js';

const usage = `usage:
  npm run -s entitlements -- grant --sub <subject> (--bundle <id> | --resource <pattern>...) [--action read|write]...
                              [--not-before <ISO date>] [--expires <ISO date>] --by <who> --reason <why>
  npm run -s entitlements -- list --sub <subject>
  npm run -s entitlements -- revoke <entitlement id>
Works on the SQLite store in DATA_DIR, also while the broker runs.`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

function date(flag: string, value: string | undefined): Date | null {
  if (value === undefined) return null;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) fail(`entitlements: --${flag} "${value}" is not a date (use ISO 8601, e.g. 2027-01-31T00:00:00Z)`);
  return parsed;
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    sub: { type: 'string' },
    bundle: { type: 'string' },
    resource: { type: 'string', multiple: true },
    action: { type: 'string', multiple: true },
    'not-before': { type: 'string' },
    expires: { type: 'string' },
    by: { type: 'string' },
    reason: { type: 'string' },
  },
});

const { env, errors } = parseEnv(process.env);
if (errors.length > 0) fail(`entitlements: ${errors.join('; ')}`);
const store = await openStore(storeConfigOf(env));
const now = new Date();
try {
  const [command, id] = positionals;
  if (command === 'grant') {
    if (!values.sub) fail('entitlements: --sub is required');
    if (!values.by || !values.reason) fail('entitlements: --by and --reason are required: every entitlement says who granted it and why');
    const actions = (values.action ?? ['read']).map((action) => {
      if (action !== 'read' && action !== 'write') fail(`entitlements: --action "${action}" must be read or write`);
      return action;
    });
    const input = {
      subject: values.sub,
      bundleId: values.bundle ?? null,
      resources: values.resource ?? [],
      actions,
      notBefore: date('not-before', values['not-before']),
      expiresAt: date('expires', values.expires),
      grantedBy: values.by,
      reason: values.reason,
    };
    const created = await store.create(input, now).catch((error: unknown) => {
      if (error instanceof InvalidEntitlementError) fail(`entitlements: ${error.problems.join('; ')}`);
      throw error;
    });
    process.stdout.write(`${JSON.stringify(recordOf(created))}\n`);
  } else if (command === 'list') {
    if (!values.sub) fail('entitlements: --sub is required');
    for (const entitlement of await store.liveFor(values.sub, now)) process.stdout.write(`${JSON.stringify(recordOf(entitlement))}\n`);
  } else if (command === 'revoke') {
    if (!id) fail('entitlements: revoke needs an entitlement id');
    if (!(await store.revoke(id, now))) fail(`entitlements: no entitlement ${id}, or it is already revoked`);
    process.stdout.write(`revoked ${id}\n`);
  } else {
    fail(command ? `entitlements: unknown command "${command}"` : 'entitlements: name a command');
  }
} finally {
  await store.close();
}
