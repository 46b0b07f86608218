import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { connectApiRedis } from '../../src/api/main.ts';
import { silentLogger } from '../../src/logger.ts';
import { buildTestApi } from '../helpers/api.ts';
import { freePort, type PrivateRedis, startPrivateRedis } from '../helpers/private-services.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';

describe('/readyz', () => {
  let services: TestServices;
  let redisServer: PrivateRedis;
  let redis: Redis;
  let app: FastifyInstance;

  before(async () => {
    services = await setupServices();
    redisServer = await startPrivateRedis();
    redis = connectApiRedis(redisServer.url, silentLogger);
    app = await buildTestApi(services, {
      env: {
        API_TOKEN: 'readyz-token-0123456789',
        REDIS_URL: redisServer.url,
      },
      redis,
    });
  });

  // Also after a failed before(): whatever was started goes, the private redis-server above all.
  after(async () => {
    try {
      await app?.close();
      redis?.disconnect();
    } finally {
      redisServer?.stop();
      await services?.cleanup();
    }
  });

  const ready = () => app.inject({ url: '/readyz' });

  test('503 naming Redis while it is down, 200 again once it is back', async () => {
    const up = await waitFor('readyz to be 200', async () => (await ready()).statusCode === 200 && true);
    assert.ok(up);

    await redisServer.kill();
    const down = await ready();
    assert.equal(down.statusCode, 503);
    assert.deepEqual(down.json(), {
      ok: false,
      failed: ['redis'],
      checks: { postgres: 'ok', redis: 'unavailable' },
    });

    await redisServer.start();
    const back = await waitFor('readyz to recover', async () => {
      const response = await ready();
      return response.statusCode === 200 ? response : undefined;
    });
    assert.deepEqual(back.json(), { ok: true, failed: [], checks: { postgres: 'ok', redis: 'ok' } });
  });

  test('503 naming Postgres when its database is unreachable (a separate connection, the shared server untouched)', async () => {
    const { connectDatabase } = await import('../../src/db/client.ts');
    const dead = connectDatabase(`postgres://postgres@127.0.0.1:${await freePort()}/none`);
    const broken = await buildTestApi(services, {
      env: { API_TOKEN: 'readyz-token-0123456789' },
      redis,
      database: dead,
    });
    try {
      const response = await broken.inject({ url: '/readyz' });
      assert.equal(response.statusCode, 503);
      assert.deepEqual(response.json().failed, ['postgres']);
      assert.equal((await broken.inject({ url: '/healthz' })).statusCode, 200);
    } finally {
      await broken.close();
      await dead.close();
    }
  });
});
