import { createPublicKey, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { CloudFrontConfig, S3Config } from '../config/config.js';
import { createEdgeServer } from './server.js';
import { trustedKeyProblem } from './verify.js';

export interface RunningEdge {
  /** The port it listens on: the one asked for, or the one the system picked for port 0. */
  readonly port: number;
  close(): Promise<void>;
}

export interface EdgeStart {
  readonly cloudfront: CloudFrontConfig;
  readonly s3: S3Config;
  /** The distribution URL grants name (`https://<domain>`, or http for the embedded edge), or how to make it from the port listened on. */
  readonly origin: string | ((port: number) => string);
  readonly host: string;
  readonly port: number;
  readonly logger?: Logger | undefined;
}

/**
 * Starts the local edge as the broker's distribution: its key group is the broker's whole key ring, the
 * signing key and those retiring or about to sign (each refused if a CloudFront key group would refuse it),
 * its origin the broker's bucket.
 */
export async function startEdge({ cloudfront, s3, origin, host, port, logger }: EdgeStart): Promise<RunningEdge> {
  const keyGroup = new Map<string, KeyObject>();
  for (const key of cloudfront.keys) {
    const publicKey = createPublicKey(key.privateKey);
    const keyProblem = trustedKeyProblem(publicKey);
    if (keyProblem !== undefined) throw new Error(`CloudFront key ${key.id}: CloudFront would not accept its public key: ${keyProblem}`);
    keyGroup.set(key.id, publicKey);
  }
  let listening = port;
  const server = createEdgeServer({
    get origin() {
      return typeof origin === 'string' ? origin : origin(listening);
    },
    keyGroup,
    s3,
    logger,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: Error) =>
      reject(new Error(`the local CloudFront edge cannot listen on ${host}:${port}: ${error.message}`)),
    );
    server.listen(port, host, resolve);
  });
  listening = (server.address() as AddressInfo).port;
  logger?.info(
    {
      address: `http://${host}:${listening}`,
      origin: typeof origin === 'string' ? origin : origin(listening),
      keyGroup: [...keyGroup.keys()],
      bucket: s3.bucket,
    },
    'edge ready',
  );
  return {
    port: listening,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
