import { randomBytes } from 'node:crypto';
import { startApiProcess } from './api/main.ts';
import type { Config, VrSite } from './config.ts';
import { startCreationProcess } from './creation/main.ts';
import { runMigrations } from './db/migrate.ts';
import { closeAll, once } from './lifecycle.ts';
import type { Logger } from './logger.ts';
import { startResolutionProcess } from './resolution/main.ts';
import { startSimulator } from './simulator/server.ts';

/**
 * `vr-lister start`: migrations, the API and both workers in one process, on the built-in V&R
 * simulator when VR_BASE_URL is unset. Prints what a person needs to use it.
 */
export async function startAll(config: Config, logger: Logger, print: (line: string) => void) {
  const simulator = config.vrBaseUrl ? undefined : await startSimulator({ port: 0, seed: 1 });
  const site: VrSite = simulator
    ? { baseUrl: simulator.url, username: 'demo', password: 'demo' }
    : { baseUrl: config.vrBaseUrl!, username: config.vrUsername!, password: config.vrPassword! };
  // On the simulator a fresh token is fine; against the real site the operator must choose one.
  const apiToken =
    config.apiToken ?? (simulator && !config.apiInsecure ? randomBytes(18).toString('base64url') : undefined);
  const effective: Config = { ...config, apiToken };
  await runMigrations(config.databaseUrl);
  const creation = startCreationProcess({
    config: effective,
    site,
    logger: logger.child({ process: 'worker-create' }),
  });
  const resolution = startResolutionProcess({
    config: effective,
    site,
    logger: logger.child({ process: 'worker-resolve' }),
  });
  const api = await startApiProcess({ config: effective, site, logger: logger.child({ process: 'api' }) });
  print(`vr-lister is running (queue prefix ${config.queuePrefix})`);
  print(`  API:            ${api.url}/api/vr/resolution-status`);
  if (apiToken && !config.apiToken)
    print(`  API token:      ${apiToken}   (generated for this run; set API_TOKEN to choose one)`);
  print(`  V&R:            ${site.baseUrl}${simulator ? '   (built-in simulator, demo/demo)' : ''}`);
  print('  Enqueue with:   npx vr-lister enqueue FILE   (same environment)');
  return {
    stop: once(() =>
      closeAll([
        () => api.stop(),
        () => creation.stop(),
        () => resolution.stop(),
        async () => simulator?.close(),
      ]),
    ),
  };
}
