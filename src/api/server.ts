import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config, VrSite } from '../config.ts';
import type { Database } from '../db/client.ts';
import { resolutionStatus } from '../db/queries.ts';
import type { Logger } from '../logger.ts';
import { runFlush } from '../resolution/flush.ts';
import { VrHttpSession } from '../vr/http-session.ts';

export interface ApiDeps {
  database: Database;
  config: Config;
  site: VrSite;
  logger: Logger;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.replace(/^Bearer\s+/i, '') ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The HTTP API. Everything but the health checks needs API_TOKEN, unless run insecurely on purpose. */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const { database, config, site, logger } = deps;
  if (!config.apiToken && !config.apiInsecure) {
    throw new Error('API_TOKEN is not set: set it, or set API_INSECURE=on to run without authentication');
  }
  const app: FastifyInstance = Fastify({
    loggerInstance: logger.child({ component: 'api' }) as FastifyBaseLogger,
    disableRequestLogging: true,
  });
  const session = new VrHttpSession(site, logger, config.pageTimeoutMs);

  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/healthz' || request.url === '/readyz') return;
    if (config.apiToken && !tokenMatches(request.headers.authorization, config.apiToken)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized' });
    }
  });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/api/vr/resolution-status', async () => resolutionStatus(database.db));
  app.post('/api/vr/resolve-pending', async () => {
    const result = await runFlush({ database, session, config, logger }, 'api');
    return { resolved: result.resolved, failed: result.failed + result.needsReview, errors: result.errors };
  });
  return app;
}
