/**
 * Grant throughput and latency per grant kind, against the authenticated no-op
 * route in the same run: `npm run bench -- [--duration 5] [--connections 32] [--json file] [--quick]`.
 *
 * The broker runs in its own process as in production (its logger writing to
 * a file), the load generator (autocannon) in another, each pinned to its own
 * core where `taskset` exists. Per scenario: req/s, p50 and p99 at saturation,
 * p99 at half the no-op's saturation rate, the server's RSS, and log bytes per
 * request. Then a leak check on a broker of its own (RSS after 100,000 and 300,000 upload grants), and
 * CloudFront grants per signing algorithm (RSA-2048 with SHA-1 or SHA-256,
 * ECDSA P-256) against the raw cost of one signature with the same key on the
 * server's core, and against the floor under a new key: the no-op route plus one
 * fresh signature, served by the broker under the same load.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  benchToken,
  NOOP,
  newCloudFrontKey,
  scenarios,
  SIGNING,
  signatureFloorName,
  type Scenario,
  type Store,
  type Target,
} from './scenarios.js';

const usage = `usage: npm run bench -- [--duration seconds] [--connections n] [--json file] [--quick]
  --duration     measured seconds per scenario at saturation (default 5; --quick: 2)
  --connections  concurrent keep-alive connections at saturation (default 32)
  --rate-connections  connections for the runs at half the no-op rate (default 8: 32 connections fire in
                 synchronised bursts at a fixed rate, and measure the load generator's bursts)
  --json         also write the results to this file, for comparing commits
  --repeat       measure each scenario at saturation this many times and keep the median run (default 1):
                 this VM's runs vary by about 10%, so a verdict near a target needs more than one
  --quick        shorter runs and no leak check`;

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n${usage}\n`);
  process.exit(2);
}

const options = (() => {
  try {
    return parseArgs({
      options: {
        duration: { type: 'string' },
        connections: { type: 'string', default: '32' },
        'rate-connections': { type: 'string', default: '8' },
        json: { type: 'string' },
        repeat: { type: 'string', default: '1' },
        quick: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    fail((error as Error).message);
  }
})();
if (options.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const wholeNumber = (name: string, raw: string): number => {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) fail(`--${name} must be a whole number >= 1, got "${raw}"`);
  return value;
};
const seconds = wholeNumber('duration', options.duration ?? (options.quick ? '2' : '5'));
const connections = wholeNumber('connections', options.connections);
const rateConnections = wholeNumber('rate-connections', options['rate-connections']);
const repeat = wholeNumber('repeat', options.repeat);
const leakCheck = !options.quick;

// ---------------------------------------------------------------- processes

const pinning = existsSync('/usr/bin/taskset') && availableParallelism() >= 2;
const SERVER_CORE = '0';
const LOAD_CORE = '1';
const pinned = (core: string, args: string[]): [string, string[]] =>
  pinning ? ['taskset', ['-c', core, process.execPath, ...args]] : [process.execPath, args];
// The server and the load generator run compiled, with plain node, as the broker runs in production.
const root = new URL('..', import.meta.url).pathname;
const built = join(root, '.bench-build', 'bench');
const compiled = spawnSync(
  process.execPath,
  [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.bench.json')],
  {
    encoding: 'utf8',
  },
);
if (compiled.status !== 0) fail(`compiling the bench failed:\n${compiled.stdout}${compiled.stderr}`);

/** The node flags the broker runs with in production: those of `npm start` (the Dockerfile's CMD is tested to match). */
const PRODUCTION_NODE_FLAGS = nodeFlagsOf(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } });

function nodeFlagsOf(manifest: { scripts: { start: string } }): string[] {
  const [command, ...words] = manifest.scripts.start.split(/\s+/u);
  if (command !== 'node') fail(`package.json's start script does not run node: ${manifest.scripts.start}`);
  return words.filter((word) => word.startsWith('--'));
}

interface Server {
  readonly process: ChildProcess;
  readonly origin: string;
  readonly logFile: string;
}

async function startServer(target: Target, store: Store, workDir: string, keyFile: string, name = `${target}-${store}`): Promise<Server> {
  const logFile = join(workDir, `${name}.log`);
  const [command, args] = pinned(SERVER_CORE, [...PRODUCTION_NODE_FLAGS, join(built, 'server.js'), target, store, logFile, keyFile]);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_ENV: 'production' } });
  const port = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/u.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`bench server (${target}) exited with ${code}`)));
  });
  return { process: child, origin: `http://127.0.0.1:${port}`, logFile };
}

/** The server's resident set, in MB, from /proc (the pid is taskset's, which execs node in place). */
async function rssMegabytes(server: Server): Promise<number> {
  const status = await readFile(`/proc/${server.process.pid}/status`, 'utf8').catch(() => '');
  const kilobytes = Number(/VmRSS:\s+(\d+)/u.exec(status)?.[1] ?? Number.NaN);
  return kilobytes / 1024;
}

interface Load {
  readonly rps: number;
  readonly total: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly non2xx: number;
}

/** The run with the median throughput (the upper one of the middle two for an even count), its latencies with it. */
function medianRun(runs: readonly Load[]): Load {
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  const median = sorted[Math.floor(sorted.length / 2)];
  if (median === undefined) throw new Error('no run to take the median of');
  return median;
}

/** The path each scenario loads: its own, or the one its setup made. */
const paths = new Map<string, string>();

function load(server: Server, scenario: Scenario, run: { seconds?: number; rate?: number; amount?: number }): Load {
  const args = {
    url: `${server.origin}${paths.get(scenario.name) ?? scenario.path}`,
    scenario: scenario.name,
    connections: run.rate === undefined ? connections : rateConnections,
    ...run,
  };
  const [command, argv] = pinned(LOAD_CORE, [join(built, 'load.js'), JSON.stringify(args)]);
  const result = spawnSync(command, argv, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (result.status !== 0) throw new Error(`load generator failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Load;
}

async function preflight(server: Server, scenario: Scenario, path: string): Promise<string | undefined> {
  const body = scenario.body === undefined ? undefined : JSON.stringify(scenario.body);
  const response = await fetch(`${server.origin}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${benchToken()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  if (response.status !== scenario.expectStatus)
    return `first response was ${response.status}, expected ${scenario.expectStatus}: ${text.slice(0, 300)}`;
  try {
    return scenario.check({ body: JSON.parse(text), setCookies: response.headers.getSetCookie() });
  } catch {
    return `first response is not JSON: ${text.slice(0, 200)}`;
  }
}

// ---------------------------------------------------------------- run

interface Row {
  readonly scenario: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly p99AtHalfRate: number;
  readonly ratio: number;
  readonly extraMicroseconds: number;
  readonly rssMegabytes: number;
  readonly logBytesPerRequest: number;
  readonly minRatio: number | undefined;
  readonly problems: readonly string[];
}

const workDir = await mkdtemp(join(tmpdir(), 'broker-bench-'));
const keyFiles = { rsa: join(workDir, 'cloudfront-rsa.pem'), ecdsa: join(workDir, 'cloudfront-ecdsa.pem') };
for (const kind of ['rsa', 'ecdsa'] as const) await writeFile(keyFiles[kind], newCloudFrontKey(kind), { mode: 0o600 });
const servers = new Map<string, Server>();
const serverOf = (scenario: Scenario): Server | undefined => servers.get(`${scenario.target}/${scenario.store ?? 'sqlite'}`);
// PostgreSQL scenarios need a database (BENCH_DATABASE_URL, e.g. from `npm run postgres`); without one they are left out.
const benchScenarios = scenarios.filter(
  (scenario) => !scenario.store?.startsWith('postgres') || process.env.BENCH_DATABASE_URL !== undefined,
);
const rows: Row[] = [];
let leak: { after100k: number; after300k: number } | undefined;
/** Microseconds per raw signature of each CloudFront target's own key and hash, on the server's core. */
const rawSigning = new Map<Exclude<Target, 's3'>, number>();

try {
  for (const scenario of benchScenarios) {
    const { target } = scenario;
    const store = scenario.store ?? 'sqlite';
    if (serverOf(scenario) !== undefined) continue;
    servers.set(`${target}/${store}`, await startServer(target, store, workDir, keyFiles[target === 's3' ? 'rsa' : SIGNING[target].key]));
  }
  let noop: Load | undefined;
  const saturated = new Map<string, Load>();
  for (const scenario of benchScenarios) {
    const server = serverOf(scenario);
    if (!server) throw new Error(`no server for ${scenario.target}`);
    const path = scenario.setup ? await scenario.setup(server.origin, benchToken()) : scenario.path;
    paths.set(scenario.name, path);
    const wrong = await preflight(server, scenario, path);
    if (wrong !== undefined) throw new Error(`${scenario.name}: preflight failed, nothing measured: ${wrong}`);
    process.stderr.write(`  ${scenario.name} ...\n`);
    load(server, scenario, { seconds: 1 }); // warm-up: JIT, caches, connections
    const logBefore = (await stat(server.logFile)).size;
    const runs = Array.from({ length: repeat }, () => load(server, scenario, { seconds }));
    const measured = medianRun(runs);
    const logBytesPerRequest =
      ((await stat(server.logFile)).size - logBefore) /
      Math.max(
        1,
        runs.reduce((sum, run) => sum + run.total, 0),
      );
    saturated.set(scenario.name, measured);
    if (scenario.name === NOOP) noop = measured;
    const ratio = noop === undefined ? Number.NaN : measured.rps / noop.rps;
    rows.push({
      scenario: scenario.name,
      rps: measured.rps,
      p50: measured.p50,
      p99: measured.p99,
      p99AtHalfRate: Number.NaN,
      ratio,
      extraMicroseconds: noop === undefined ? Number.NaN : (1 / measured.rps - 1 / noop.rps) * 1e6,
      rssMegabytes: await rssMegabytes(server),
      logBytesPerRequest,
      minRatio: scenario.minRatio,
      problems: [
        ...(measured.errors > 0 ? [`${measured.errors} errors`] : []),
        ...(measured.non2xx > 0 ? [`${measured.non2xx} non-2xx`] : []),
      ],
    });
  }
  // Latency under a realistic load: half of what the no-op route sustains.
  const halfRate = Math.max(1, Math.round((noop?.rps ?? 0) / 2));
  for (const [index, scenario] of benchScenarios.entries()) {
    const server = serverOf(scenario);
    const row = rows[index];
    if (!server || !row) continue;
    process.stderr.write(`  ${scenario.name} at ${halfRate} req/s ...\n`);
    const atRate = load(server, scenario, { seconds, rate: halfRate });
    rows[index] = { ...row, p99AtHalfRate: atRate.p99 };
  }
  if (leakCheck) {
    // A broker of its own, as the target reads: RSS after upload grants alone, not after the other scenarios' caches
    // and signatures (the table's RSS column shows those).
    const server = await startServer('cloudfront', 'sqlite', workDir, keyFiles.rsa, 'leak-check');
    servers.set('leak-check', server);
    const upload = benchScenarios.find((scenario) => scenario.name === 'upload PUT');
    if (upload) {
      process.stderr.write('  leak check: 100,000 then 200,000 more upload grants ...\n');
      load(server, upload, { amount: 100_000 });
      const after100k = await rssMegabytes(server);
      load(server, upload, { amount: 200_000 });
      leak = { after100k, after300k: await rssMegabytes(server) };
    }
  }
  for (const server of servers.values()) server.process.kill('SIGTERM');
  for (const [target, signing] of Object.entries(SIGNING) as [Exclude<Target, 's3'>, (typeof SIGNING)[keyof typeof SIGNING]][]) {
    const [command, args] = pinned(SERVER_CORE, [join(built, 'micro.js'), keyFiles[signing.key], '2', signing.hash]);
    rawSigning.set(target, Number(spawnSync(command, args, { encoding: 'utf8' }).stdout));
  }
} finally {
  for (const server of servers.values()) server.process.kill('SIGTERM');
  await rm(workDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- report

const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const grouped = (value: number): string => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-');

function table(header: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(line)].join('\n');
}

/**
 * Per CloudFront signing algorithm: its rows for a repeated and a new key, the floor under a new key (the no-op plus
 * one fresh signature, in the broker), and its raw signing cost in a loop, in the same run.
 */
const algorithms = (Object.entries(SIGNING) as [Exclude<Target, 's3'>, (typeof SIGNING)[keyof typeof SIGNING]][]).map(
  ([target, signing]) => {
    const prefix = target === 'cloudfront' ? 'download 1 key CloudFront' : `download 1 key ${signing.label}`;
    return {
      label: signing.label,
      same: rows.find((row) => row.scenario === `${prefix}, same key`),
      fresh: rows.find((row) => row.scenario === `${prefix}, new key`),
      floor: rows.find((row) => row.scenario === signatureFloorName(target)),
      rawMicroseconds: rawSigning.get(target) ?? Number.NaN,
    };
  },
);
const verdicts: string[] = [];
for (const row of rows) {
  if (row.minRatio !== undefined)
    verdicts.push(`${row.ratio >= row.minRatio ? 'met' : 'MISSED'}: ${row.scenario} ${fixed(row.ratio, 2)}× (target ${row.minRatio}×)`);
  verdicts.push(
    `${row.p99AtHalfRate < 10 ? 'met' : 'MISSED'}: ${row.scenario} p99 at half the no-op rate ${fixed(row.p99AtHalfRate, 2)} ms (target < 10 ms)`,
  );
}
for (const { label, fresh, floor, rawMicroseconds } of algorithms) {
  if (!fresh) continue;
  const bound = 1.2 * rawMicroseconds;
  const floorNote =
    floor === undefined
      ? ''
      : `; the no-op plus one fresh signature in the broker is +${fixed(floor.extraMicroseconds, 0)} µs${floor.extraMicroseconds > bound ? ', itself over the target' : ''}, the grant's own work +${fixed(fresh.extraMicroseconds - floor.extraMicroseconds, 0)} µs`;
  verdicts.push(
    `${fresh.extraMicroseconds <= bound ? 'met' : 'MISSED'}: ${label}, new key: +${fixed(fresh.extraMicroseconds, 0)} µs over the no-op; one raw signature is ${fixed(rawMicroseconds, 0)} µs (target ≤ ${fixed(bound, 0)} µs)${floorNote}`,
  );
}
if (leak) {
  verdicts.push(`${leak.after100k < 150 ? 'met' : 'MISSED'}: RSS after 100,000 grants ${fixed(leak.after100k, 1)} MB (target < 150 MB)`);
  verdicts.push(
    `${leak.after300k - leak.after100k < 15 ? 'met' : 'MISSED'}: RSS after 300,000 grants ${fixed(leak.after300k, 1)} MB (flat: within 15 MB of the 100,000 figure)`,
  );
}

process.stdout.write(
  [
    'Access Broker grant benchmark',
    `node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown CPU'})`,
    pinning
      ? `server pinned to core ${SERVER_CORE}, load generator (autocannon) to core ${LOAD_CORE}`
      : 'no taskset or a single core: server and load generator unpinned (autocannon)',
    `${connections} connections at saturation, ${rateConnections} at half the no-op rate`,
    `${seconds} s per scenario after 1 s of warm-up${repeat > 1 ? `, the median of ${repeat} runs` : ''}; the server logs at info to a file, as in production; tokens HS256; development policy`,
    '',
    table(
      ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'p99 @half ms', 'vs no-op', '+µs/req', 'RSS MB', 'log B/req'],
      rows.map((row) => [
        row.scenario + (row.problems.length > 0 ? ` (${row.problems.join(', ')})` : ''),
        grouped(row.rps),
        fixed(row.p50, 2),
        fixed(row.p99, 2),
        fixed(row.p99AtHalfRate, 2),
        `${fixed(row.ratio, 2)}×`,
        fixed(row.extraMicroseconds, 0),
        fixed(row.rssMegabytes, 0),
        fixed(row.logBytesPerRequest, 0),
      ]),
    ),
    '',
    'CloudFront grants per signing algorithm (1 key per request), against the raw signing rate of the same key, and the',
    'floor under a new key (no-op + one fresh signature, in the broker):',
    table(
      ['algorithm', 'same key req/s', 'new key req/s', 'raw signatures/s', 'new key +µs', 'floor +µs', 'raw µs'],
      algorithms.map(({ label, same, fresh, floor, rawMicroseconds }) => [
        label,
        grouped(same?.rps ?? Number.NaN),
        grouped(fresh?.rps ?? Number.NaN),
        grouped(1e6 / rawMicroseconds),
        fixed(fresh?.extraMicroseconds ?? Number.NaN, 0),
        fixed(floor?.extraMicroseconds ?? Number.NaN, 0),
        fixed(rawMicroseconds, 0),
      ]),
    ),
    '',
    ...verdicts,
    '',
  ].join('\n'),
);

if (options.json) {
  await writeFile(
    options.json,
    `${JSON.stringify({ node: process.version, cpus: availableParallelism(), pinned: pinning, connections, rateConnections, seconds, repeat, rows, leak, rawSigningMicroseconds: Object.fromEntries(algorithms.map(({ label, rawMicroseconds }) => [label, rawMicroseconds])) }, null, 2)}\n`,
  );
}
if (rows.some((row) => row.problems.length > 0)) process.exitCode = 1;
