import type { PolicyDocument } from './schema.js';

/** The policy used when POLICY_FILE is unset outside production. Production refuses it. */
export const developmentPolicy: PolicyDocument = {
  version: 1,
  rules: [
    {
      id: 'dev-own-uploads',
      description: 'Any authenticated subject may upload under, and download from, uploads/{sub}/.',
      actions: ['read', 'write'],
      resources: ['uploads/{sub}/*'],
      limits: { maxBytes: 100 * 1024 * 1024, maxTtlSeconds: 3600 },
    },
    {
      id: 'dev-public',
      description: 'Any authenticated subject may download public/* and open the demo bundle.',
      actions: ['read'],
      resources: ['public/*'],
      bundles: ['demo'],
    },
  ],
  bundles: {
    demo: { description: 'Demo bundle for trying signed cookies.', resource: 'public/demo/*', cookiePath: '/public/demo/' },
  },
};
