import { AdminService } from '../admin/admin-service.js';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/config.js';
import { Authorizer } from './authorizer.js';
import { BundleGrants } from './bundles.js';
import { DownloadGrants } from './downloads.js';
import { grantSchemas } from './schemas.js';
import { MultipartGrants } from './multipart.js';
import { UploadGrants } from './uploads.js';

declare module 'fastify' {
  interface FastifyInstance {
    uploadGrants: UploadGrants;
    multipartGrants: MultipartGrants;
    downloadGrants: DownloadGrants;
    bundleGrants: BundleGrants;
    admin: AdminService;
  }
}

/** The grant services, built on the ports the plugins before it decorated. */
export const grantsPlugin = fp(
  async (app: FastifyInstance, options: { config: Config; now: () => Date }) => {
    const { policy, grants: defaults } = options.config;
    const authorizer = new Authorizer({
      policy,
      defaults,
      store: app.entitlements,
      recorder: app.decisionRecorder,
      now: options.now,
      cloudfront: app.cloudfrontSigner !== undefined,
    });
    const { s3Signer: s3, cloudfrontSigner: cloudfront } = app;
    for (const schema of grantSchemas) app.addSchema(schema);
    app.decorate('uploadGrants', new UploadGrants({ authorizer, s3, lifecycle: app.uploadLifecycle }));
    app.decorate(
      'multipartGrants',
      new MultipartGrants({ authorizer, s3, objects: app.s3Objects, store: app.multipartUploads, lifecycle: app.uploadLifecycle }),
    );
    app.decorate('downloadGrants', new DownloadGrants({ authorizer, s3, cloudfront, lifecycle: app.uploadLifecycle }));
    app.decorate('bundleGrants', new BundleGrants({ authorizer, policy, cloudfront }));
    app.decorate(
      'admin',
      new AdminService({ store: app.entitlements, auditStore: app.audit.store, policy, authorizer, now: options.now, log: app.log }),
    );
  },
  {
    name: 'access-broker-grants',
    dependencies: [
      'access-broker-entitlement-store',
      'access-broker-s3-signer',
      'access-broker-cloudfront-signer',
      'access-broker-decision-recorder',
      'access-broker-s3-objects',
      'access-broker-multipart-store',
      'access-broker-upload-lifecycle',
    ],
  },
);
