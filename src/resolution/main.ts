import type { Config, VrSite } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { closeAll, once } from '../lifecycle.ts';
import type { Logger } from '../logger.ts';
import { trackOutage } from '../outage.ts';
import { createRedis } from '../queues.ts';
import { VrHttpSession } from '../vr/http-session.ts';
import { startWebhookSender } from '../webhooks/worker.ts';
import { startResolutionWorker } from './worker.ts';

export function startResolutionProcess({
  config,
  site,
  logger,
}: {
  config: Config;
  site: VrSite;
  logger: Logger;
}) {
  const database = connectDatabase(config.databaseUrl);
  const connection = createRedis(config.redisUrl);
  // ioredis retries for ever; every failed retry is an 'error': one warning per outage.
  const redisOutage = trackOutage(logger, 'Redis', 'the resolution worker waits for it to come back');
  connection.on('error', (error) => redisOutage.down(error));
  connection.on('ready', () => redisOutage.up());
  const session = new VrHttpSession(site, logger, config.pageTimeoutMs);
  const resolution = startResolutionWorker({ database, session, config, logger, connection, redisOutage });
  // Job events to webhooks run here too: one resolution worker per install is the usual shape.
  const webhooks = startWebhookSender({
    database,
    config,
    connection,
    logger: logger.child({ component: 'webhooks' }),
  });
  logger.info({ queuePrefix: config.queuePrefix, site: site.baseUrl }, 'resolution worker started');
  return {
    stop: once(() =>
      closeAll([
        () => resolution.stop(),
        () => webhooks.stop(),
        () => connection.quit(),
        () => database.close(),
      ]),
    ),
  };
}
