import { parseArgs } from 'node:util';
import { loadConfig, requireVrSite } from '../config.ts';
import { createLogger } from '../logger.ts';
import { stopOnSignals } from '../signals.ts';
import { out, UsageError } from './common.ts';

export async function commandWorker(args: string[]): Promise<void> {
  const [kind, ...rest] = args;
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
  if (kind !== 'create' && kind !== 'resolve') throw new UsageError('usage: vr-lister worker create|resolve');
  const config = loadConfig();
  const site = requireVrSite(config);
  const logger = createLogger(config.logLevel, { process: `worker-${kind}` });
  if (kind === 'create') {
    const { startCreationProcess } = await import('../creation/main.ts');
    const running = startCreationProcess({ config, site, logger });
    stopOnSignals(logger, config.shutdownTimeoutMs, running.stop);
    return;
  }
  const { startResolutionProcess } = await import('../resolution/main.ts');
  const running = startResolutionProcess({ config, site, logger });
  stopOnSignals(logger, config.shutdownTimeoutMs, running.stop);
}

export async function commandApi(args: string[]): Promise<void> {
  if (args.length) throw new UsageError(`unexpected arguments: ${args.join(' ')}`);
  const config = loadConfig();
  const site = requireVrSite(config);
  const logger = createLogger(config.logLevel, { process: 'api' });
  const { startApiProcess } = await import('../api/main.ts');
  const running = await startApiProcess({ config, site, logger });
  out(`API listening on ${running.url}`);
  stopOnSignals(logger, config.shutdownTimeoutMs, running.stop);
}

/** `vr-lister start [--json]`: the whole system in one process; --json prints its addresses as one object. */
export async function commandStart(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const { startAll, startBanner } = await import('../start.ts');
  const config = loadConfig();
  // Each part names itself (process: api, worker-create, ...): no `process` on the base logger.
  const logger = createLogger(config.logLevel);
  const running = await startAll(config, logger);
  out(values.json ? JSON.stringify(running.info) : startBanner(running.info));
  stopOnSignals(logger.child({ process: 'start' }), config.shutdownTimeoutMs, running.stop);
}
