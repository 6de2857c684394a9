import pg from 'pg';
import type { PostgresStoreConfig } from '../config/config.js';

/** The channel entitlement changes are announced on; the payload is the subject. */
export const ENTITLEMENT_CHANNEL = 'access_broker_entitlements';

const RECONNECT_MS = 1000;

/**
 * LISTENs on the entitlement channel over a connection of its own, reconnecting after a loss. After each
 * (re)connection the listener hears `undefined` (anything may have changed meanwhile), so a cache never trusts
 * what it held while it was deaf. Returns how to stop.
 */
export function listenForEntitlementChanges(config: PostgresStoreConfig, listener: (subject: string | undefined) => void): () => void {
  let client: pg.Client | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const retry = (): void => {
    client = undefined;
    if (stopped || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, RECONNECT_MS);
    timer.unref();
  };

  async function connect(): Promise<void> {
    // TCP keepalive: a connection silently cut (a NAT, a failover) ends and reconnects instead of leaving the cache deaf.
    const connection = new pg.Client({
      connectionString: config.url,
      connectionTimeoutMillis: config.timeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    connection.on('notification', (message) =>
      listener(message.payload === undefined || message.payload === '' ? undefined : message.payload),
    );
    connection.on('error', () => {
      connection.end().catch(() => undefined);
    });
    connection.on('end', () => {
      if (client === connection || client === undefined) retry();
    });
    try {
      await connection.connect();
      await connection.query(`LISTEN ${ENTITLEMENT_CHANNEL}`);
      if (stopped) {
        await connection.end();
        return;
      }
      client = connection;
      listener(undefined);
    } catch {
      await connection.end().catch(() => undefined);
      retry(); // no-op if the connection's end already scheduled one
    }
  }

  void connect();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    void client?.end().catch(() => undefined);
  };
}
