import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { connectApiRedis } from '../../src/api/main.ts';
import { buildApi } from '../../src/api/server.ts';
import { buildMatchCriteria, descriptionWithMarker } from '../../src/creation/create-listing.ts';
import { vrJobs } from '../../src/db/schema.ts';
import { validateListing } from '../../src/listing/listing.ts';
import { markerFor } from '../../src/listing/normalize.ts';
import { silentLogger } from '../../src/logger.ts';
import { buildTestApi } from '../helpers/api.ts';
import { runCli } from '../helpers/cli.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

const TOKEN = 'test-token-0123456789';

describe('resolution API and CLI', () => {
  let services: TestServices;
  let sim: Simulator;
  let app: FastifyInstance;
  let redis: Redis;

  before(async () => {
    services = await setupServices();
    sim = await startSimulator({ port: 0, catalogRows: 100, seed: 9 });
    redis = connectApiRedis(services.redisUrl, silentLogger);
    app = await buildTestApi(services, {
      env: { API_TOKEN: TOKEN, FLUSH_SETTLE_MS: '0' },
      siteUrl: sim.url,
      redis,
    });
  });

  after(async () => {
    await app.close();
    redis.disconnect();
    await sim.close();
    await services.cleanup();
  });

  /** A listing submitted to V&R as the creation worker would have, and its pending row. */
  async function submitted(productRef: string): Promise<void> {
    const listing = validateListing({
      productRef,
      brand: 'Gretsch',
      model: 'Country Gentleman',
      price: 4200,
    });
    const description = descriptionWithMarker(listing, markerFor('Ref: {ref}', productRef));
    // Through the simulator's test route: behind its Cloudflare gate, V&R's form answers browsers only.
    const response = await fetch(`${sim.url}/__sim/listings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        brand_name: listing.brand,
        product_model_name: listing.model,
        product_price: listing.price,
        product_description: description,
      }),
    });
    assert.equal(response.status, 200);
    const criteria = buildMatchCriteria(
      listing,
      listing.brand,
      description,
      markerFor('Ref: {ref}', productRef),
      0,
    );
    const past = new Date(Date.now() - 60_000);
    await services.database.db.insert(vrJobs).values({
      productRef,
      status: 'completed_pending_id',
      payload: { listing, matchCriteria: criteria },
      submitStartedAt: past,
      submittedAt: past,
      nextResolutionAt: past,
    });
  }

  test('every route but the health check needs the token', async () => {
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    for (const [method, url] of [
      ['GET', '/api/vr/resolution-status'],
      ['POST', '/api/vr/resolve-pending'],
    ] as const) {
      assert.equal((await app.inject({ method, url })).statusCode, 401);
      assert.equal(
        (await app.inject({ method, url, headers: { authorization: 'Bearer wrong-token-000000' } }))
          .statusCode,
        401,
      );
    }
  });

  test('resolve-pending runs a flush and answers when it is done; resolution-status reflects it', async () => {
    await submitted('API-1');
    const auth = { authorization: `Bearer ${TOKEN}` };
    const before = (await app.inject({ url: '/api/vr/resolution-status', headers: auth })).json();
    assert.equal(before.pending_count, 1);
    assert.ok(before.oldest_pending);
    assert.equal(before.last_resolution, null);

    const response = await app.inject({ method: 'POST', url: '/api/vr/resolve-pending', headers: auth });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { resolved: 1, failed: 0, errors: [] });

    const afterwards = (await app.inject({ url: '/api/vr/resolution-status', headers: auth })).json();
    assert.equal(afterwards.pending_count, 0);
    assert.equal(afterwards.oldest_pending, null);
    assert.equal(afterwards.last_resolution.matched, 1);
    assert.equal(afterwards.last_resolution.rowsScanned, 101);
    assert.equal(afterwards.last_resolution.error, null);
    const [row] = await services.database
      .sql`select status, vr_listing_id::int as id from vr_jobs where product_ref = 'API-1'`;
    assert.equal(row!.status, 'completed');
    const onVr = sim.state('hand').listings.find((l) => l.product_description.includes('Ref: API-1<'));
    assert.equal(row!.id, onVr!.product_id);
  });

  test('a truncated export resolves nothing and is retried', async () => {
    await submitted('TRUNC-1');
    const auth = { authorization: `Bearer ${TOKEN}` };
    sim.setFaults({ truncateNextExports: 1 });
    const failed = await app.inject({ method: 'POST', url: '/api/vr/resolve-pending', headers: auth });
    assert.ok(failed.statusCode >= 500, `status ${failed.statusCode}`);
    assert.match(failed.body, /export ends/);
    const [pending] = await services.database
      .sql`select status, resolution_attempts from vr_jobs where product_ref = 'TRUNC-1'`;
    assert.equal(pending!.status, 'completed_pending_id');
    assert.equal(pending!.resolution_attempts, 0, 'a broken export uses up no try');
    const status = (await app.inject({ url: '/api/vr/resolution-status', headers: auth })).json();
    assert.match(status.last_resolution.error, /export ends/);

    const retried = await app.inject({ method: 'POST', url: '/api/vr/resolve-pending', headers: auth });
    assert.deepEqual(retried.json(), { resolved: 1, failed: 0, errors: [] });
  });

  test('vr-lister resolve does the same from the command line', async () => {
    await submitted('CLI-1');
    const env = services.env({
      VR_BASE_URL: sim.url,
      VR_USERNAME: 'demo',
      VR_PASSWORD: 'demo',
      FLUSH_SETTLE_MS: '0',
    });
    const result = await runCli(['resolve', '--json'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { resolved: 1, failed: 0, errors: [] });
    const status = JSON.parse((await runCli(['status', '--json'], env)).stdout);
    assert.equal(status.counts.completed, 3);
    assert.equal(status.pending_count, 0);
  });

  test('the API refuses to start without a token unless told to run insecurely', async (t) => {
    const site = { baseUrl: sim.url, username: 'demo', password: 'demo' };
    await assert.rejects(
      buildApi({ database: services.database, config: services.config(), site, logger: silentLogger, redis }),
      /API_TOKEN is not set/,
    );
    const open = await buildApi({
      database: services.database,
      config: services.config({ API_INSECURE: 'on' }),
      site,
      logger: silentLogger,
      redis,
    });
    t.after(() => open.close());
    assert.equal((await open.inject({ url: '/api/vr/resolution-status' })).statusCode, 200);
  });
});
