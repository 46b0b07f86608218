import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { connectApiRedis } from '../../src/api/main.ts';
import type { JobStatus } from '../../src/db/schema.ts';
import { LIMITS } from '../../src/listing/listing.ts';
import { silentLogger } from '../../src/logger.ts';
import { CREATE_QUEUE, RESOLVE_QUEUE } from '../../src/queues.ts';
import { buildTestApi } from '../helpers/api.ts';
import { freePort } from '../helpers/private-services.ts';
import { parsePrometheus } from '../helpers/prometheus.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

const TOKEN = 'ops-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const basic = (password: string) => ({
  authorization: `Basic ${Buffer.from(`anyone:${password}`).toString('base64')}`,
});
const listing = (productRef: string, extra: Record<string, unknown> = {}) => ({
  productRef,
  brand: 'Fender',
  model: 'Stratocaster',
  price: 1299,
  ...extra,
});

describe('HTTP API: jobs, retry, auth, metrics', () => {
  let services: TestServices;
  let redis: Redis;
  let app: FastifyInstance;
  let createQueue: Queue;
  let resolveQueue: Queue;

  before(async () => {
    services = await setupServices();
    redis = connectApiRedis(services.redisUrl, silentLogger);
    app = await buildTestApi(services, { env: { API_TOKEN: TOKEN }, redis });
    createQueue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
    resolveQueue = new Queue(RESOLVE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
  });

  after(async () => {
    await app.close();
    redis.disconnect();
    await createQueue.close();
    await resolveQueue.close();
    await services.cleanup();
  });

  const post = (payload: unknown) =>
    app.inject({ method: 'POST', url: '/api/vr/jobs', headers: auth, payload: payload as object });
  const rowCount = async () =>
    Number((await services.database.sql`select count(*)::int as n from vr_jobs`)[0]!.n);
  const jobIds = async () => (await createQueue.getJobs()).map((j) => j.id).sort();
  async function row(id: number) {
    const [r] = await services.database.sql<
      {
        status: JobStatus;
        generation: number;
        vr_listing_id: string | null;
        submit_started_at: Date | null;
      }[]
    >`select status, generation, vr_listing_id, submit_started_at from vr_jobs where id = ${id}`;
    return r!;
  }
  async function setRow(id: number, status: JobStatus, submitStarted: boolean) {
    await services.database.sql`update vr_jobs set status = ${status}, error = 'test',
      submit_started_at = ${submitStarted ? new Date(Date.now() - 7_200_000).toISOString() : null},
      submitted_at = ${submitStarted ? new Date(Date.now() - 7_200_000).toISOString() : null} where id = ${id}`;
  }

  test('POST one listing: 201, the row and its BullMQ job agree', async () => {
    const response = await post(listing('ONE-1', { year: 1962 }));
    assert.equal(response.statusCode, 201, response.body);
    const { job } = response.json();
    assert.equal(job.productRef, 'ONE-1');
    assert.equal(job.status, 'queued');
    assert.equal(job.created, true);
    assert.equal((await row(job.id)).status, 'queued');
    const bull = await createQueue.getJob(`listing-${job.id}-0`);
    assert.deepEqual(bull?.data, { rowId: job.id, productRef: 'ONE-1' });

    const again = await post(listing('ONE-1', { year: 1962 }));
    assert.equal(again.statusCode, 200, 'an idempotent repeat writes nothing');
    assert.equal(again.json().job.id, job.id);
    assert.equal(again.json().job.created, false);
  });

  test('POST many (an array, or {listings}): one row and one job each', async () => {
    const array = await post([listing('MANY-1'), listing('MANY-2')]);
    assert.equal(array.statusCode, 201, array.body);
    const wrapped = await post({ listings: [listing('MANY-3')] });
    assert.equal(wrapped.statusCode, 201, wrapped.body);
    const jobs = [...array.json().jobs, ...wrapped.json().jobs];
    assert.deepEqual(
      jobs.map((j: { productRef: string }) => j.productRef),
      ['MANY-1', 'MANY-2', 'MANY-3'],
    );
    for (const job of jobs) {
      assert.equal((await row(job.id)).status, 'queued');
      assert.equal((await createQueue.getJob(`listing-${job.id}-0`))?.data.productRef, job.productRef);
    }
  });

  test('a bad listing: 400 naming each bad field, nothing written or enqueued', async () => {
    const [rowsBefore, jobsBefore] = [await rowCount(), await jobIds()];
    const single = await post({ productRef: 'BAD-1', brand: '', model: 'X', price: 12.5, colour: 'red' });
    assert.equal(single.statusCode, 400);
    const body = single.json();
    assert.equal(body.error, 'invalid listing');
    const fields = body.errors.map((e: { field: string }) => e.field).sort();
    assert.deepEqual(fields, ['brand', 'colour', 'price']);
    for (const e of body.errors) assert.equal(typeof e.message, 'string');

    const bulk = await post([listing('BAD-2'), listing('BAD-3', { price: -1 }), 'nonsense']);
    assert.equal(bulk.statusCode, 400);
    assert.deepEqual(
      bulk.json().errors.map((e: { index: number; field: string }) => [e.index, e.field]),
      [
        [1, 'price'],
        [2, '(listing)'],
      ],
    );
    const extra = await post({ listings: [listing('BAD-4')], dryRun: true });
    assert.equal(extra.statusCode, 400);
    assert.equal(extra.json().errors[0].field, 'dryRun');
    assert.equal(await rowCount(), rowsBefore);
    assert.deepEqual(await jobIds(), jobsBefore);
  });

  test('more listings than the bulk limit: 400; an oversized body: 413; not JSON: 400', async () => {
    const rowsBefore = await rowCount();
    const many = Array.from({ length: LIMITS.bulkListings + 1 }, (_, i) => listing(`LIM-${i}`));
    const tooMany = await post(many);
    assert.equal(tooMany.statusCode, 400);
    assert.match(tooMany.json().errors[0].message, new RegExp(`at most ${LIMITS.bulkListings} listings`));

    const huge = await app.inject({
      method: 'POST',
      url: '/api/vr/jobs',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify(listing('HUGE-1', { description: 'x'.repeat(LIMITS.requestBodyBytes + 1) })),
    });
    assert.equal(huge.statusCode, 413);
    assert.equal(huge.json().error, 'request body too large');

    const garbage = await app.inject({
      method: 'POST',
      url: '/api/vr/jobs',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"productRef": ',
    });
    assert.equal(garbage.statusCode, 400);
    assert.match(garbage.json().message, /not valid JSON/);
    assert.equal(await rowCount(), rowsBefore);
  });

  test('a product already on V&R: 409', async () => {
    await services.database
      .sql`insert into vr_product_links (product_ref, vr_listing_id) values ('LINKED-1', 777001)`;
    const response = await post(listing('LINKED-1'));
    assert.equal(response.statusCode, 409);
    assert.equal(response.json().productRef, 'LINKED-1');
    assert.match(response.json().message, /777001/);
  });

  test('Redis unavailable: 503, the row is saved queued for the sweep', async () => {
    const deadRedis = connectApiRedis(`redis://127.0.0.1:${await freePort()}`, silentLogger);
    const offline = await buildTestApi(services, { env: { API_TOKEN: TOKEN }, redis: deadRedis });
    try {
      const response = await offline.inject({
        method: 'POST',
        url: '/api/vr/jobs',
        headers: auth,
        payload: listing('DOWN-1'),
      });
      assert.equal(response.statusCode, 503);
      assert.match(response.json().message, /saved.*sweep/);
      assert.equal((await row(response.json().job.id)).status, 'queued');

      // A retry is written first too: the row is requeued, the sweep adds its job.
      const { job } = (await post(listing('DOWN-2'))).json();
      await setRow(job.id, 'failed', false);
      const retried = await offline.inject({
        method: 'POST',
        url: `/api/vr/jobs/${job.id}/retry`,
        headers: auth,
      });
      assert.equal(retried.statusCode, 503);
      assert.equal(retried.json().action, 'requeued');
      assert.match(retried.json().message, /sweep/);
      assert.deepEqual(
        { ...(await row(job.id)), submit_started_at: null },
        { status: 'queued', generation: 1, vr_listing_id: null, submit_started_at: null },
      );
      assert.equal((await offline.inject({ url: '/readyz' })).statusCode, 503);
      // /metrics still answers from Postgres, and says Redis did not.
      const scraped = await offline.inject({ url: '/metrics', headers: auth });
      assert.equal(scraped.statusCode, 200);
      const m = parsePrometheus(scraped.body);
      assert.equal(m.value('vr_lister_redis_up'), 0);
      assert.deepEqual(m.find('vr_lister_queue_jobs'), []);
      assert.ok(m.value('vr_lister_listings', { status: 'queued' }) >= 2);
    } finally {
      await offline.close();
      deadRedis.disconnect();
    }
  });

  test('GET /api/vr/jobs pages with a cursor over every job exactly once', async () => {
    await post(Array.from({ length: 23 }, (_, i) => listing(`PAGE-${i}`)));
    const all = (await services.database.sql`select id from vr_jobs order by id`).map((r) => Number(r.id));
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/vr/jobs?limit=7${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await app.inject({ url, headers: auth });
      assert.equal(page.statusCode, 200, page.body);
      const body = page.json();
      assert.ok(body.jobs.length <= 7);
      seen.push(...body.jobs.map((j: { id: number }) => j.id));
      cursor = body.nextCursor;
      pages += 1;
    } while (cursor);
    assert.deepEqual(seen, all);
    assert.equal(pages, Math.ceil(all.length / 7));

    const queued = await app.inject({ url: '/api/vr/jobs?status=queued&limit=1000', headers: auth });
    assert.ok(queued.json().jobs.every((j: { status: string }) => j.status === 'queued'));
    assert.equal(queued.json().nextCursor, null);
  });

  test('GET /api/vr/jobs refuses bad parameters, naming each', async () => {
    for (const [query, field] of [
      ['status=done', 'status'],
      ['limit=abc', 'limit'],
      ['limit=0', 'limit'],
      ['limit=100000', 'limit'],
      ['cursor=-1', 'cursor'],
      ['cursor=abc', 'cursor'],
      ['limit=1&limit=2', 'limit'],
      ['page=2', 'page'],
    ]) {
      const response = await app.inject({ url: `/api/vr/jobs?${query}`, headers: auth });
      assert.equal(response.statusCode, 400, query);
      assert.deepEqual(
        response.json().errors.map((e: { field: string }) => e.field),
        [field],
        query,
      );
    }
  });

  test('GET /api/vr/jobs/:id: the job, 404 when missing, 400 for a bad id', async () => {
    const { job } = (await post(listing('GET-1', { description: '<p>hi</p>' }))).json();
    const found = await app.inject({ url: `/api/vr/jobs/${job.id}`, headers: auth });
    assert.equal(found.statusCode, 200);
    assert.equal(found.json().job.productRef, 'GET-1');
    assert.equal(found.json().job.listing.description, '<p>hi</p>');
    assert.equal(found.json().job.generation, 0);
    const missing = await app.inject({ url: '/api/vr/jobs/99999999', headers: auth });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error, 'job not found');
    const bad = await app.inject({ url: '/api/vr/jobs/abc', headers: auth });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().errors[0].field, 'id');
  });

  const retry = (id: number) =>
    app.inject({ method: 'POST', url: `/api/vr/jobs/${id}/retry`, headers: auth });

  test('retry of a failed job never submitted: requeued with generation+1 and a new BullMQ job', async () => {
    const { job } = (await post(listing('RETRY-1'))).json();
    await setRow(job.id, 'failed', false);
    const response = await retry(job.id);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().action, 'requeued');
    const after = await row(job.id);
    assert.equal(after.status, 'queued');
    assert.equal(after.generation, 1);
    assert.deepEqual((await createQueue.getJob(`listing-${job.id}-1`))?.data, {
      rowId: job.id,
      productRef: 'RETRY-1',
    });
  });

  test('retry of needs_review after a submit began: back to resolution, no new creation job', async () => {
    const { job } = (await post(listing('RETRY-2'))).json();
    await setRow(job.id, 'needs_review', true);
    const before = await jobIds();
    const response = await retry(job.id);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().action, 'resolving');
    const after = await row(job.id);
    assert.equal(after.status, 'completed_pending_id');
    assert.equal(after.generation, 0);
    assert.ok(after.submit_started_at, 'the record of the submit stays');
    assert.deepEqual(await jobIds(), before, 'no creation job added');
    const flushes = await resolveQueue.getJobs(['waiting', 'delayed', 'prioritized']);
    assert.ok(
      flushes.some((f) => f.name === 'flush'),
      'a flush was requested',
    );
  });

  test('retry of a job whose product is already linked: completed with that id, no job', async () => {
    const { job } = (await post(listing('RETRY-3'))).json();
    await setRow(job.id, 'failed', false);
    await services.database
      .sql`insert into vr_product_links (product_ref, vr_listing_id) values ('RETRY-3', 777003)`;
    const before = await jobIds();
    const response = await retry(job.id);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().action, 'linked');
    assert.equal(response.json().job.vrListingId, '777003');
    const after = await row(job.id);
    assert.equal(after.status, 'completed');
    assert.equal(after.generation, 0);
    assert.deepEqual(await jobIds(), before);
  });

  test('retry of a job that is not failed or needs_review: 409 naming the status; 404 when missing', async () => {
    const { job } = (await post(listing('RETRY-4'))).json();
    await services.database
      .sql`update vr_jobs set status = 'completed', vr_listing_id = 777004 where id = ${job.id}`;
    const response = await retry(job.id);
    assert.equal(response.statusCode, 409);
    assert.equal(response.json().status, 'completed');
    assert.match(response.json().message, /completed/);
    assert.equal((await retry(99999999)).statusCode, 404);
  });

  test('two concurrent retries: one requeues, the other gets 409', async () => {
    const { job } = (await post(listing('RETRY-5'))).json();
    await setRow(job.id, 'failed', false);
    const answers = await Promise.all([retry(job.id), retry(job.id), retry(job.id)]);
    assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 409, 409]);
    assert.equal((await row(job.id)).generation, 1);
    assert.equal((await createQueue.getJob(`listing-${job.id}-2`)) ?? null, null);
  });

  test('retry while another job for the product is active: 409', async () => {
    const { job } = (await post(listing('RETRY-6'))).json();
    await setRow(job.id, 'failed', false);
    const second = (await post(listing('RETRY-6'))).json().job;
    assert.notEqual(second.id, job.id);
    const response = await retry(job.id);
    assert.equal(response.statusCode, 409);
    assert.match(response.json().message, new RegExp(`job ${second.id}`));
    assert.equal((await row(job.id)).status, 'failed');
  });

  test('every route but /healthz and /readyz needs the token', async () => {
    const routes = [
      ['GET', '/metrics'],
      ['GET', '/api/vr/jobs'],
      ['POST', '/api/vr/jobs'],
      ['GET', '/api/vr/jobs/1'],
      ['POST', '/api/vr/jobs/1/retry'],
      ['GET', '/api/vr/resolution-status'],
      ['POST', '/api/vr/resolve-pending'],
      ['GET', '/admin/queues'],
      ['GET', '/admin/queues/api/queues'],
      ['GET', '/admin/queues/static/favicon-32x32.png'],
      ['GET', '/api/vr/review'],
      ['POST', '/api/vr/jobs/1/link'],
      ['GET', '/review'],
      ['POST', '/review/jobs/1/link'],
      ['GET', '/no/such/route'],
    ] as const;
    const wrong = [{}, { authorization: 'Bearer wrong-token-0000000000' }, basic('wrong-token-0000000000')];
    for (const [method, url] of routes) {
      for (const headers of wrong) {
        const response = await app.inject({ method, url, headers });
        assert.equal(response.statusCode, 401, `${method} ${url} ${JSON.stringify(headers)}`);
        const admin = url.startsWith('/admin/') || url.startsWith('/review');
        assert.equal(response.headers['www-authenticate'], admin ? 'Basic realm="vr-lister"' : 'Bearer');
        assert.equal(response.json().error, 'unauthorized');
      }
    }
    // Basic (which browsers send on their own) opens Bull Board only, not the API.
    assert.equal((await app.inject({ url: '/api/vr/jobs', headers: basic(TOKEN) })).statusCode, 401);
    for (const url of ['/api/vr/%6Aobs', '/admin/../api/vr/jobs', '/admin/queues/../../api/vr/jobs']) {
      const response = await app.inject({ url, headers: basic(TOKEN) });
      assert.ok([401, 404].includes(response.statusCode), `${url}: ${response.statusCode}`);
      assert.doesNotMatch(response.body, /"jobs"/, url);
    }
    assert.equal((await app.inject({ url: '/admin/queues', headers: basic(TOKEN) })).statusCode, 200);
    assert.equal((await app.inject({ url: '/review', headers: basic(TOKEN) })).statusCode, 200);
    assert.equal((await app.inject({ url: '/api/vr/review', headers: basic(TOKEN) })).statusCode, 401);
    assert.equal((await app.inject({ url: '/admin/queues', headers: auth })).statusCode, 200);
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
    assert.deepEqual((await app.inject({ url: '/readyz' })).json().checks, { postgres: 'ok', redis: 'ok' });
  });

  test('/metrics: Prometheus text with queue, status and resolution series from Postgres', async () => {
    const now = Date.now();
    await services.database.sql`insert into vr_resolution_runs
      (trigger, started_at, finished_at, rows_scanned, bytes, matched, failed, needs_review, duration_ms, error) values
      ('test', ${new Date(now - 100_000).toISOString()}, ${new Date(now - 90_000).toISOString()}, 1500, 300000, 4, 1, 0, 10000, null),
      ('test', ${new Date(now - 50_000).toISOString()}, ${new Date(now - 48_000).toISOString()}, 1503, 300600, 2, 0, 1, 2000, null),
      ('test', ${new Date(now - 20_000).toISOString()}, ${new Date(now - 19_000).toISOString()}, null, null, null, null, null, 400, 'export ends')`;
    await services.database.sql`update vr_jobs set status = 'completed_pending_id',
      submitted_at = ${new Date(now - 600_000).toISOString()} where product_ref = 'PAGE-0'`;

    const response = await app.inject({ url: '/metrics', headers: auth });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const m = parsePrometheus(response.body);
    const [counts] = await services.database.sql`select count(*)::int as total,
      count(*) filter (where status = 'queued')::int as queued from vr_jobs`;

    assert.equal(m.types.get('vr_lister_listings'), 'gauge');
    assert.equal(m.value('vr_lister_listings', { status: 'queued' }), counts!.queued);
    const byStatus = await services.database
      .sql`select status, count(*)::int as n from vr_jobs group by status`;
    assert.ok(byStatus.some((r) => r.status === 'completed_pending_id'));
    for (const { status, n } of byStatus) assert.equal(m.value('vr_lister_listings', { status }), n, status);
    assert.equal(m.find('vr_lister_listings').length, 6);
    assert.equal(m.types.get('vr_lister_listings_created_total'), 'counter');
    assert.equal(m.value('vr_lister_listings_created_total'), counts!.total);
    assert.equal(m.value('vr_lister_listings_resolved_total'), 6);
    assert.equal(m.value('vr_lister_listings_failed_total'), 1);
    assert.equal(m.value('vr_lister_listings_needs_review_total'), 1);
    assert.equal(m.value('vr_lister_last_export_bytes'), 300600);
    assert.equal(m.value('vr_lister_last_export_rows'), 1503);
    assert.equal(m.value('vr_lister_export_bytes_total'), 600600);
    const age = m.value('vr_lister_oldest_pending_age_seconds');
    assert.ok(age >= 600 && age < 86_400, `oldest pending ${age}`);

    assert.equal(m.types.get('vr_lister_resolution_duration_seconds'), 'histogram');
    const bucket = (result: string, le: string) =>
      m.value('vr_lister_resolution_duration_seconds_bucket', { result, le });
    assert.equal(bucket('ok', '1'), 0);
    assert.equal(bucket('ok', '5'), 1);
    assert.equal(bucket('ok', '15'), 2);
    assert.equal(bucket('ok', '+Inf'), 2);
    assert.equal(m.value('vr_lister_resolution_duration_seconds_count', { result: 'ok' }), 2);
    assert.equal(m.value('vr_lister_resolution_duration_seconds_sum', { result: 'ok' }), 12);
    assert.equal(bucket('error', '1'), 1);

    // BullMQ counts, read from Redis at scrape time: every queued row has its waiting job.
    const waiting = (await createQueue.getJobCounts('waiting')).waiting ?? 0;
    assert.equal(m.value('vr_lister_queue_jobs', { queue: 'vr-create', state: 'waiting' }), waiting);
    assert.ok(waiting > 0);
    assert.equal(m.find('vr_lister_queue_jobs', { queue: 'vr-resolve' }).length > 0, true);
    assert.equal(m.value('vr_lister_redis_up'), 1);
    assert.ok(m.find('vr_lister_process_resident_memory_bytes').length === 1);
  });
});
