import { Queue } from 'bullmq';
import type { Browser } from 'playwright-core';
import type { Config, VrSite } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { closeAll, once } from '../lifecycle.ts';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import { trackOutage } from '../outage.ts';
import { createRedis, RESOLVE_QUEUE } from '../queues.ts';
import { openBrowserSession, sessionStore } from '../vr/open-session.ts';
import { watchStoredSession } from '../vr/session-store.ts';
import { startWebhookSender } from '../webhooks/worker.ts';
import { countDuePending, type FlushJobData, requestFlush } from './trigger.ts';
import { startResolutionWorker } from './worker.ts';

export function startResolutionProcess({
  config,
  site,
  logger,
  browser,
}: {
  config: Config;
  site: VrSite;
  logger: Logger;
  /** A Chromium launched already (tests share one): the process opens its own context on it. */
  browser?: Browser;
}) {
  const database = connectDatabase(config.databaseUrl);
  const connection = createRedis(config.redisUrl);
  // ioredis retries for ever; every failed retry is an 'error': one warning per outage.
  const redisOutage = trackOutage(logger, 'Redis', 'the resolution worker waits for it to come back');
  connection.on('error', (error) => redisOutage.down(error));
  connection.on('ready', () => redisOutage.up());
  // A Chromium of its own, launched at the first flush and kept: the export is the browser's download.
  const session = openBrowserSession({ config, site, database, logger, redis: connection, browser });
  const resolution = startResolutionWorker({ database, session, config, logger, connection, redisOutage });
  // A session stored while flushes wait for a person (blocked, login refused): flush at once.
  const resolveQueue = new Queue<FlushJobData>(RESOLVE_QUEUE, { connection, prefix: config.queuePrefix });
  resolveQueue.on('error', (error) => redisOutage.down(error));
  const watcher = watchStoredSession(sessionStore(config, site, database), {
    onChange: () => {
      if (session.siteState === 'ok') return;
      void countDuePending(database.db)
        .then(({ pending }) => (pending > 0 ? requestFlush(resolveQueue, 'new V&R session') : undefined))
        .catch((error) => logger.warn({ err: error }, 'could not request a flush for the new session'));
    },
  });
  // Job events to webhooks run here too: one resolution worker per install is the usual shape.
  const webhooks = startWebhookSender({
    database,
    config,
    connection,
    logger: logger.child({ component: 'webhooks' }),
  });
  logger.info(
    {
      event: LOG_EVENT.workerStarted,
      worker: 'resolve',
      queuePrefix: config.queuePrefix,
      site: site.baseUrl,
    },
    'resolution worker started',
  );
  return {
    stop: once(() => {
      watcher.stop();
      return closeAll([
        () => resolution.stop(),
        () => webhooks.stop(),
        () => session.close(),
        () => resolveQueue.close(),
        () => connection.quit(),
        () => database.close(),
      ]);
    }),
  };
}
