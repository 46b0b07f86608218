import { Redis } from 'ioredis';
import type { Config, VrSite } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { closeAll, once } from '../lifecycle.ts';
import type { Logger } from '../logger.ts';
import { buildApi } from './server.ts';

/**
 * The API's Redis: a call fails at once while Redis is away (no offline queue, one retry), so
 * /readyz answers 503 instead of hanging and POST reports the rows saved for the sweep. ioredis
 * keeps reconnecting in the background, so the API recovers on its own.
 */
export function connectApiRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 });
  redis.on('error', (error) => logger.debug({ err: error.message }, 'redis connection error'));
  return redis;
}

export async function startApiProcess({
  config,
  site,
  logger,
}: {
  config: Config;
  site: VrSite;
  logger: Logger;
}) {
  const database = connectDatabase(config.databaseUrl);
  const redis = connectApiRedis(config.redisUrl, logger);
  let app: Awaited<ReturnType<typeof buildApi>>;
  try {
    app = await buildApi({ database, config, site, logger, redis });
  } catch (error) {
    redis.disconnect();
    await database.close();
    throw error;
  }
  // quit() refuses while Redis is away; then just drop the connection.
  const stop = once(() =>
    closeAll([() => app.close(), () => redis.quit().catch(() => redis.disconnect()), () => database.close()]),
  );
  try {
    return { url: await app.listen({ host: config.apiHost, port: config.apiPort }), stop };
  } catch (error) {
    await stop().catch(() => {}); // the listen error below is the one to report
    throw error;
  }
}
