/**
 * The load generator, in a process of its own (pinned to the other core).
 * argv: JSON {url, scenario, connections, seconds, rate?, amount?}. Prints the result as JSON.
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { benchToken, scenarioNamed } from './scenarios.js';

interface LoadArgs {
  readonly url: string;
  readonly scenario: string;
  readonly connections: number;
  readonly seconds?: number;
  /** Requests a second over all connections; omitted: as fast as the server answers. */
  readonly rate?: number;
  /** A number of requests instead of a duration. */
  readonly amount?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as LoadArgs;
const scenario = scenarioNamed(args.scenario);
const body = scenario.body === undefined ? undefined : JSON.stringify(scenario.body);
const headers: Record<string, string> = { authorization: `Bearer ${benchToken()}` };
if (body !== undefined) headers['content-type'] = 'application/json';
let counter = 0;
const run = randomUUID();
const { bodyFor } = scenario;

// autocannon's own histogram keeps whole milliseconds; this keeps each 2xx response's hrtime duration.
let latencies = new Float64Array(1 << 16);
let count = 0;
const record = (ms: number): void => {
  if (count === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[count++] = ms;
};

const result = await autocannon({
  setupClient: (client: autocannon.Client) =>
    void client.on('response', (status, _bytes, ms) => (status >= 200 && status < 300 ? record(ms) : undefined)),
  url: args.url,
  method: 'POST',
  headers,
  ...(body === undefined ? {} : { body }),
  ...(bodyFor === undefined
    ? {}
    : { requests: [{ setupRequest: (next: autocannon.Request) => ({ ...next, body: JSON.stringify(bodyFor((counter += 1), run)) }) }] }),
  connections: args.connections,
  ...(args.amount === undefined ? { duration: args.seconds ?? 5 } : { amount: args.amount }),
  ...(args.rate === undefined ? {} : { overallRate: args.rate }),
});

const sorted = latencies.subarray(0, count).sort();
const percentile = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
process.stdout.write(
  JSON.stringify({
    rps: result.requests.average,
    total: result.requests.total,
    p50: percentile(50),
    p99: percentile(99),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  }),
);
