import type { Config, VrSite } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { closeAll, once } from '../lifecycle.ts';
import type { Logger } from '../logger.ts';
import { buildApi } from './server.ts';

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
  const app = await buildApi({ database, config, site, logger });
  const address = await app.listen({ host: config.apiHost, port: config.apiPort });
  return {
    url: address,
    stop: once(() => closeAll([() => app.close(), () => database.close()])),
  };
}
