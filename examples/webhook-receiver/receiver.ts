import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/** What the broker sends: `data` is the upload's status, as GET /v1/uploads/status answers it. */
export interface UploadEvent {
  type: 'upload.verified' | 'upload.rejected' | 'upload.expired';
  timestamp: string;
  data: { id: string; key: string; state: string; reason?: string; contentType: string; size?: number };
}

/**
 * An application's receiver for the broker's upload events. It checks the signature over the raw body (the
 * library also refuses a timestamp more than 5 minutes off, so a captured request cannot be replayed later),
 * then handles each event id once: the broker delivers at least once and retries until it gets a 2xx.
 */
export function createReceiver(secret: string, handle: (event: UploadEvent) => Promise<void>): Server {
  const webhook = new Webhook(secret); // WEBHOOK_SECRET, the same whsec_… value the broker signs with
  const handled = new Set<string>(); // in production: a table with a unique webhook-id column
  return createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    // Verify the bytes as sent, never JSON parsed and serialised again.
    request.on('end', () => void answer(Buffer.concat(chunks).toString('utf8')));
    const answer = async (body: string): Promise<void> => {
      let event: UploadEvent;
      try {
        event = webhook.verify(body, stringHeaders(request.headers)) as UploadEvent;
      } catch (error) {
        response.writeHead(error instanceof WebhookVerificationError ? 401 : 400).end();
        return;
      }
      const id = String(request.headers['webhook-id']);
      try {
        if (!handled.has(id)) {
          await handle(event);
          handled.add(id);
        }
        response.writeHead(204).end();
      } catch {
        response.writeHead(500).end(); // the broker tries again later, with the same webhook-id
      }
    };
  });
}

const stringHeaders = (headers: IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).flatMap(([name, value]) => (typeof value === 'string' ? [[name, value]] : [])));

// `WEBHOOK_SECRET=whsec_… node --import tsx examples/webhook-receiver/receiver.ts` listens on :3000/hooks/uploads.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const secret = process.env.WEBHOOK_SECRET;
  if (!secret) throw new Error('set WEBHOOK_SECRET to the broker’s');
  createReceiver(secret, async (event) => console.log(event.type, event.data.key, event.data.reason ?? '')).listen(3000);
}
