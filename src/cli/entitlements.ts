import 'dotenv/config';
import { parseArgs } from 'node:util';
import { parseEnv, policyFrom, storeConfigOf } from '../config/load.js';
import { entitlementProblems, recordOf, type NewEntitlement } from '../policy/entitlement.js';
import { openStore } from '../store/entitlement-store.js';

const usage = `usage:
  npm run -s entitlements -- grant --sub <subject> (--bundle <id> | --resource <pattern>...) [--action read|write]...
                              [--not-before <ISO date>] [--expires <ISO date>] [--create-only] --by <who> --reason <why>
                              (--create-only: its uploads may create a key, never replace one)
  npm run -s entitlements -- list --sub <subject> [--all]     (--all: also future, expired and revoked ones)
  npm run -s entitlements -- revoke <entitlement id>
Works on the broker's store (DATABASE_URL, else SQLite in DATA_DIR), also while it runs, and checks bundles against POLICY_FILE.`;

/** A mistake in the command line: the usage helps. */
function fail(message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

/** A command that was understood but cannot be done: the usage would only hide the reason. */
function die(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function date(flag: string, value: string | undefined): Date | null {
  if (value === undefined) return null;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) fail(`entitlements: --${flag} "${value}" is not a date (use ISO 8601, e.g. 2027-01-31T00:00:00Z)`);
  return parsed;
}

function parse() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        sub: { type: 'string' },
        bundle: { type: 'string' },
        resource: { type: 'string', multiple: true },
        action: { type: 'string', multiple: true },
        'not-before': { type: 'string' },
        expires: { type: 'string' },
        'create-only': { type: 'boolean' },
        by: { type: 'string' },
        reason: { type: 'string' },
        all: { type: 'boolean' },
      },
    });
  } catch (error) {
    fail(`entitlements: ${(error as Error).message}`);
  }
}

const { positionals, values } = parse();
const { env, errors } = parseEnv(process.env);
if (errors.length > 0) fail(`entitlements: ${errors.join('; ')}`);
const now = new Date();
const [command, id, ...extra] = positionals;
if (extra.length > 0) fail(`entitlements: unexpected ${extra.join(' ')}`);

async function grantInput(): Promise<NewEntitlement> {
  if (!values.sub) fail('entitlements: --sub is required');
  if (!values.by || !values.reason) fail('entitlements: --by and --reason are required: every entitlement says who granted it and why');
  const actions = (values.action ?? ['read']).map((action) => {
    if (action !== 'read' && action !== 'write') fail(`entitlements: --action "${action}" must be read or write`);
    return action;
  });
  const input: NewEntitlement = {
    subject: values.sub,
    bundleId: values.bundle ?? null,
    resources: values.resource ?? [],
    actions,
    notBefore: date('not-before', values['not-before']),
    expiresAt: date('expires', values.expires),
    createOnly: values['create-only'] === true,
    grantedBy: values.by,
    reason: values.reason,
  };
  // The same rules as the broker and the admin API, and the bundle must exist in the policy the broker runs with.
  const policyErrors: string[] = [];
  const policy = await policyFrom(env, env.NODE_ENV ?? 'development', policyErrors, []);
  if (!policy) die(`entitlements: cannot check bundles: ${policyErrors.join('; ')}`);
  const problems = entitlementProblems(input, { now, bundles: new Set(policy.bundles.keys()) });
  if (problems.length > 0) die(`entitlements: not granted: ${problems.join('; ')}`);
  return input;
}

if (command !== 'grant' && command !== 'list' && command !== 'revoke') {
  fail(command ? `entitlements: unknown command "${command}"` : 'entitlements: name a command');
}
const input = command === 'grant' ? await grantInput() : undefined;
if (command === 'list' && !values.sub) fail('entitlements: --sub is required');
if (command === 'revoke' && !id) fail('entitlements: revoke needs an entitlement id');

const store = await openStore(storeConfigOf(env));
try {
  if (input) {
    process.stdout.write(`${JSON.stringify(recordOf(await store.create(input, now)))}\n`);
  } else if (command === 'list') {
    const subject = values.sub ?? '';
    const entries = values.all ? await store.historyFor(subject) : (await store.liveFor(subject, now)).map(recordOf);
    for (const entry of entries) process.stdout.write(`${JSON.stringify(entry)}\n`);
  } else if (!(await store.revoke(id ?? '', now))) {
    die(`entitlements: no entitlement ${id ?? ''}, or it is already revoked`);
  } else {
    process.stdout.write(`revoked ${id ?? ''}\n`);
  }
} finally {
  await store.close();
}
