import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { buildApi } from '../../src/api/server.ts';
import type { Database } from '../../src/db/client.ts';
import { silentLogger } from '../../src/logger.ts';
import type { TestServices } from './services.ts';

/** A V&R address nothing answers on, for API tests that never reach the site. */
export const NO_SITE = 'http://127.0.0.1:9';

/** The API on this test file's database and queue prefix, logging nothing. */
export function buildTestApi(
  services: TestServices,
  options: { env?: Record<string, string>; siteUrl?: string; redis: Redis; database?: Database },
): Promise<FastifyInstance> {
  return buildApi({
    database: options.database ?? services.database,
    config: services.config(options.env),
    site: { baseUrl: options.siteUrl ?? NO_SITE, username: 'demo', password: 'demo' },
    logger: silentLogger,
    redis: options.redis,
  });
}
