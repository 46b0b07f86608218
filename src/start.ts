import { randomBytes } from 'node:crypto';
import { startApiProcess } from './api/main.ts';
import { requireChromium } from './chromium.ts';
import type { Config, VrSite } from './config.ts';
import { startCreationProcess } from './creation/main.ts';
import { runMigrations } from './db/migrate.ts';
import { closeAll, once } from './lifecycle.ts';
import type { Logger } from './logger.ts';
import { startResolutionProcess } from './resolution/main.ts';
import { loadSimulator } from './simulator-loader.ts';

/** The built-in simulator's timings in `start`: like the real site in shape, a hundred times faster. */
export const START_SIMULATOR_TIMINGS = {
  pageLatencyMs: 150,
  ajaxLatencyMs: 50,
  submitLatencyMs: 400,
  exportLatencyMs: 1_500,
  // Below FLUSH_SETTLE_MS (5 s): a drain flush finds every listing already indexed.
  indexDelayMs: 1_000,
} as const;

/** What `vr-lister start` prints (and prints as JSON with --json). */
export interface StartInfo {
  queuePrefix: string;
  api: string;
  bullBoard: string;
  /**
   * The token start made up for this run; null when the operator chose it (API_TOKEN: it is not
   * printed, output may end up in a log) or there is none (API_INSECURE=on).
   */
  apiToken: string | null;
  /** True when start made the token up because API_TOKEN is unset. */
  apiTokenGenerated: boolean;
  /** True when the API runs without a token (API_INSECURE=on, loopback only). */
  apiInsecure: boolean;
  vrBaseUrl: string;
  simulator: boolean;
}

/**
 * `vr-lister start`: migrations, the API and both workers in one process, on the built-in V&R
 * simulator when VR_BASE_URL is unset.
 */
export async function startAll(config: Config, logger: Logger) {
  requireChromium(config);
  const simulator = config.vrBaseUrl
    ? undefined
    : await (await loadSimulator()).startSimulator({ port: 0, seed: 1, ...START_SIMULATOR_TIMINGS });
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
  const info: StartInfo = {
    queuePrefix: config.queuePrefix,
    api: api.url,
    bullBoard: `${api.url}/admin/queues`,
    apiToken: config.apiToken ? null : (apiToken ?? null),
    apiTokenGenerated: apiToken !== undefined && !config.apiToken,
    apiInsecure: apiToken === undefined,
    vrBaseUrl: site.baseUrl,
    simulator: simulator !== undefined,
  };
  return {
    info,
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

/** The lines a person needs to use what `start` started. */
export function startBanner(info: StartInfo): string {
  const token = info.apiTokenGenerated
    ? `${info.apiToken}   (generated for this run; set API_TOKEN to choose one)`
    : info.apiInsecure
      ? '(none: API_INSECURE=on)'
      : 'the one in API_TOKEN (not printed)';
  return [
    `vr-lister is running (queue prefix ${info.queuePrefix})`,
    `  API:            ${info.api}   (e.g. GET ${info.api}/api/vr/resolution-status, Bearer token below)`,
    `  Bull Board:     ${info.bullBoard}   (log in with any user name and the API token as password)`,
    `  API token:      ${token}`,
    `  V&R:            ${info.vrBaseUrl}${info.simulator ? '   (built-in simulator, demo/demo)' : ''}`,
    '  Try it:         npm run demo          (in another terminal: enqueues 12 listings, shows their ids)',
    '                  npx vr-lister watch   (live counts; npx vr-lister enqueue FILE to add your own)',
    '  Stop:           Ctrl-C (finishes the listing in hand first)',
  ].join('\n');
}
