import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedEvent {
  readonly id: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

/**
 * A webhook receiver as an application would write one: it verifies every request's signature with the
 * Standard Webhooks library, fails the requests it is told to, and accepts each event id once.
 */
export interface WebhookReceiver {
  readonly url: string;
  /** Events accepted, in order, each id once. */
  readonly accepted: ReceivedEvent[];
  /** Every request: its webhook-id, whether its signature verified, and the status answered. */
  readonly requests: { id: string; signatureValid: boolean; status: number }[];
  /** Answers 500 to the next `times` requests about `key` (other uploads' events, still arriving, are not disturbed). */
  failFor(key: string, times: number): void;
  /** Resolves with the accepted event matching `test`, waiting for it up to `timeoutMs`. */
  waitFor(test: (event: ReceivedEvent) => boolean, timeoutMs?: number): Promise<ReceivedEvent>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret);
  const accepted: ReceivedEvent[] = [];
  const requests: WebhookReceiver['requests'] = [];
  const seen = new Set<string>();
  const failing = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(request.headers['webhook-id'] ?? '');
      let event: ReceivedEvent | undefined;
      try {
        const verified = verifier.verify(body, headersOf(request.headers)) as { type: string; data: Record<string, unknown> };
        event = { id, type: verified.type, data: verified.data };
      } catch {
        event = undefined;
      }
      let status = event === undefined ? 401 : 204;
      const left = event === undefined ? 0 : (failing.get(String(event.data.key)) ?? 0);
      if (left > 0) {
        failing.set(String(event?.data.key), left - 1);
        status = 500;
      }
      requests.push({ id, signatureValid: event !== undefined, status });
      if (status === 204 && event !== undefined && !seen.has(id)) {
        seen.add(id);
        accepted.push(event);
      }
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}/hooks/uploads`,
    accepted,
    requests,
    failFor(key, times) {
      failing.set(key, times);
    },
    async waitFor(test, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = accepted.find(test);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no matching webhook within ${timeoutMs} ms; got ${JSON.stringify(accepted)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return receiver;
}

const headersOf = (headers: IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).flatMap(([name, value]) => (typeof value === 'string' ? [[name, value]] : [])));
