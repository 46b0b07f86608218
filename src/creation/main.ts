import type { Config, VrSite } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { closeAll, once } from '../lifecycle.ts';
import type { Logger } from '../logger.ts';
import { createRedis } from '../queues.ts';
import { withDeadline } from '../signals.ts';
import { BrowserSession } from './browser.ts';
import { startCreationWorker } from './worker.ts';

export interface RunningProcess {
  /** Stops taking work, lets the current job finish within the deadline, then closes everything. */
  stop(): Promise<void>;
}

export interface CreationProcessOptions {
  config: Config;
  site: VrSite;
  logger: Logger;
  afterCreation?: () => Promise<void>;
}

export function startCreationProcess({
  config,
  site,
  logger,
  afterCreation,
}: CreationProcessOptions): RunningProcess {
  const database = connectDatabase(config.databaseUrl);
  const connection = createRedis(config.redisUrl);
  connection.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  const browser = new BrowserSession({
    site,
    chromiumPath: config.chromiumPath,
    pageTimeoutMs: config.pageTimeoutMs,
    logger,
  });
  const worker = startCreationWorker(
    { db: database.db, browser, config, logger, connection, afterCreation },
    config.queuePrefix,
  );
  logger.info({ queuePrefix: config.queuePrefix, site: site.baseUrl }, 'creation worker started');
  return {
    stop: once(async () => {
      const closed = await withDeadline(
        worker.close().then(() => true),
        config.shutdownTimeoutMs,
      );
      if (!closed) {
        // The job will be redelivered; submit_started_at keeps it from being submitted twice.
        logger.warn('the current listing did not finish in time; handing it back');
        await worker.close(true).catch(() => {});
      }
      await closeAll([() => browser.close(), () => connection.quit(), () => database.close()]);
    }),
  };
}
