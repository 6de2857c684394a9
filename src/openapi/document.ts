import { buildApp } from '../app.js';
import { fixedConfig } from '../config/fixed-config.js';

/** The document depends only on the route schemas, so any valid configuration yields the same one. */
export async function openApiYaml(): Promise<string> {
  const app = await buildApp({ config: fixedConfig(), logger: false });
  try {
    await app.ready();
    return app.swagger({ yaml: true });
  } finally {
    await app.close();
  }
}
