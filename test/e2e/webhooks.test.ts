import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { connectApiRedis } from '../../src/api/main.ts';
import { loadConfig } from '../../src/config.ts';
import { connectDatabase } from '../../src/db/client.ts';
import { silentLogger } from '../../src/logger.ts';
import { createRedis } from '../../src/queues.ts';
import { verifyWebhookSignature, webhookSignature } from '../../src/webhooks/signature.ts';
import { startWebhookSender } from '../../src/webhooks/worker.ts';
import { buildTestApi } from '../helpers/api.ts';
import { startCli } from '../helpers/cli.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';

const TOKEN = 'test-token-0123456789';
const SECRET = 'whsec-test-0123456789abcdef';
const listing = (productRef: string) => ({ productRef, brand: 'Fender', model: 'Stratocaster', price: 1299 });

type Delivery = {
  id: number;
  eventId: number;
  event: string;
  jobId: number;
  productRef: string;
  status: string;
  attempts: number;
  url: string;
};

describe('webhooks', () => {
  let services: TestServices;
  let redis: Redis;
  let app: FastifyInstance;

  before(async () => {
    services = await setupServices();
    redis = connectApiRedis(services.redisUrl, silentLogger);
    app = await buildTestApi(services, { env: { API_TOKEN: TOKEN }, redis });
  });
  after(async () => {
    await app.close();
    redis.disconnect();
    await services.cleanup();
  });

  const env = (url: string, extra: Record<string, string> = {}) =>
    services.env({
      WEBHOOK_URL: url,
      WEBHOOK_SECRET: SECRET,
      // The receiver is on loopback: allowed on purpose, as an operator would for an internal host.
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      WEBHOOK_BACKOFF_MS: '100',
      WEBHOOK_TIMEOUT_MS: '1000',
      WORKER_LOCK_MS: '2000',
      ...extra,
    });

  function startSender(url: string) {
    const database = connectDatabase(services.databaseUrl, { max: 3 });
    const connection = createRedis(services.redisUrl);
    const sender = startWebhookSender({
      database,
      config: loadConfig(env(url)),
      connection,
      logger: silentLogger,
    });
    return {
      ...sender,
      async stop() {
        await sender.stop();
        await connection.quit();
        await database.close();
      },
    };
  }

  async function deliveries(query = ''): Promise<Delivery[]> {
    const response = await app.inject({
      url: `/api/vr/webhooks/deliveries?limit=1000${query}`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(response.statusCode, 200, response.body);
    return response.json().deliveries;
  }

  /** The pipeline's status changes, written the way the workers write them: one update per step. */
  async function runThrough(jobId: number, final: 'completed' | 'failed' | 'needs_review', vrId?: number) {
    const { sql } = services.database;
    await sql`update vr_jobs set status = 'in_progress' where id = ${jobId}`;
    await sql`update vr_jobs set status = 'completed_pending_id', submitted_at = now() where id = ${jobId}`;
    if (final === 'completed')
      await sql`update vr_jobs set status = 'completed', vr_listing_id = ${vrId!}, completed_at = now() where id = ${jobId}`;
    else if (final === 'failed')
      await sql`update vr_jobs set status = 'failed', error = 'not found in the V&R export after 3 attempts' where id = ${jobId}`;
    else
      await sql`update vr_jobs set status = 'needs_review', error = 'cannot tell', payload = payload || '{"candidates":[501,502]}'::jsonb where id = ${jobId}`;
  }

  test('10 listings: one signed event per final job; 3 refusals, then every event delivered exactly once in the log', async () => {
    const receiver = await startReceiver(SECRET, (n) => (n <= 3 ? 500 : 200));
    const sender = startSender(receiver.url);
    try {
      await sender.started;
      const jobs = await services
        .producer()
        .enqueueListings(Array.from({ length: 10 }, (_, i) => listing(`WH-${i}`)));
      const finals = jobs.map(
        (_, i) =>
          (i < 7 ? 'completed' : i < 9 ? 'failed' : 'needs_review') as
            | 'completed'
            | 'failed'
            | 'needs_review',
      );
      await Promise.all(jobs.map((job, i) => runThrough(job.id, finals[i]!, 90_000 + i)));

      await waitFor('every delivery delivered', async () => {
        const rows = await deliveries();
        return rows.length === 10 && rows.every((d) => d.status === 'delivered');
      });
      const accepted = receiver.accepted();
      assert.equal(accepted.length, 10, 'one accepted request per final job');
      assert.equal(receiver.requests.length, 13, 'three refused requests, then one per event');
      assert.ok(
        receiver.requests.every((r) => r.signed),
        'every request signed with WEBHOOK_SECRET',
      );
      assert.ok(
        receiver.requests.every((r) => r.body.id === Number(r.eventId)),
        "the signed body's id is the event id the header repeats",
      );
      assert.deepEqual(
        accepted.map((r) => r.body.job.productRef).sort(),
        jobs.map((j) => j.productRef).sort(),
      );
      for (const [i, job] of jobs.entries()) {
        const got = accepted.find((r) => r.body.job.id === job.id)!;
        assert.equal(got.body.event, `job.${finals[i]}`);
        assert.equal(got.body.job.status, finals[i]);
        assert.equal(got.body.job.vrListingId, finals[i] === 'completed' ? 90_000 + i : null);
        assert.deepEqual(got.body.job.candidates, finals[i] === 'needs_review' ? [501, 502] : []);
        assert.ok(!Number.isNaN(Date.parse(got.body.at)));
        assert.deepEqual(Object.keys(got.body).sort(), ['at', 'event', 'id', 'job']);
      }
      const log = await deliveries();
      assert.equal(new Set(log.map((d) => d.eventId)).size, 10, 'each event once in the log');
      assert.deepEqual(log.map((d) => d.eventId).sort(), accepted.map((r) => Number(r.eventId)).sort());
      assert.equal(
        log.reduce((sum, d) => sum + d.attempts, 0),
        13,
      );
      assert.ok(log.every((d) => d.url === receiver.url));
      // Non-final steps (in_progress, completed_pending_id) made no event.
      const [events] = await services.database.sql<
        { count: number }[]
      >`select count(*)::int as count from vr_job_events`;
      assert.equal(events?.count, 10);
    } finally {
      await sender.stop();
      await receiver.close();
    }
  });

  test('in order per product: a retried job’s second event waits for its first', async () => {
    const receiver = await startReceiver(SECRET, (n) => (n <= 2 ? 503 : 200));
    const sender = startSender(receiver.url);
    try {
      await sender.started;
      const job = await services.producer().enqueueListing(listing('WH-ORDER'));
      await runThrough(job.id, 'failed');
      // A person retries it and it completes, while the first event is still being refused.
      await services.database.sql`update vr_jobs set status = 'queued' where id = ${job.id}`;
      await runThrough(job.id, 'completed', 77_001);
      await waitFor(
        'both delivered',
        async () => receiver.accepted().filter((r) => r.body.job.productRef === 'WH-ORDER').length === 2,
      );
      const seen = receiver.requests
        .filter((r) => r.body.job.productRef === 'WH-ORDER')
        .map((r) => r.body.event);
      assert.deepEqual(seen, ['job.failed', 'job.failed', 'job.failed', 'job.completed']);
    } finally {
      await sender.stop();
      await receiver.close();
    }
  });

  test('a sender killed mid-delivery, and a status change while none runs: both delivered by the next one', async () => {
    let hung = 0;
    const receiver = await startReceiver(SECRET, () => (hung++ === 0 ? 'hang' : 200));
    const workerEnv = env(receiver.url, {
      VR_BASE_URL: 'http://127.0.0.1:9',
      VR_USERNAME: 'demo',
      VR_PASSWORD: 'demo',
    });
    const first = startCli(['worker', 'resolve'], workerEnv);
    let second: ReturnType<typeof startCli> | undefined;
    try {
      const [a, b] = await services.producer().enqueueListings([listing('WH-KILL-A'), listing('WH-KILL-B')]);
      await waitFor('the worker listening', async () => {
        const [row] = await services.database
          .sql`select 1 from pg_stat_activity where datname = current_database() and query ilike 'listen%'`;
        return row;
      });
      await runThrough(a!.id, 'completed', 61_001);
      await waitFor('the first request in flight', () => receiver.requests.length === 1);
      first.child.kill('SIGKILL');
      await first.exited;
      // Written while no sender runs: the trigger's row is all there is.
      await runThrough(b!.id, 'failed');
      second = startCli(['worker', 'resolve'], workerEnv);
      await waitFor(
        'both delivered',
        async () =>
          (await deliveries()).filter((d) => d.productRef.startsWith('WH-KILL') && d.status === 'delivered')
            .length === 2,
      );
      const accepted = receiver
        .accepted()
        .map((r) => r.body.job.productRef)
        .sort();
      assert.deepEqual(accepted, ['WH-KILL-A', 'WH-KILL-B']);
      assert.ok(receiver.requests.every((r) => r.signed));
    } finally {
      first.child.kill('SIGKILL');
      second?.child.kill('SIGTERM');
      await second?.exited;
      await receiver.close();
    }
  });

  test("past WEBHOOK_RETRY_HOURS a refused delivery fails, and the product's next event goes out", async () => {
    let refusing = true;
    const receiver = await startReceiver(SECRET, () => (refusing ? 500 : 200));
    const sender = startSender(receiver.url);
    try {
      await sender.started;
      const job = await services.producer().enqueueListing(listing('WH-GIVEUP'));
      await runThrough(job.id, 'failed');
      await waitFor(
        'refused at least twice',
        () => receiver.requests.filter((r) => r.body.job.productRef === 'WH-GIVEUP').length >= 2,
      );
      // Its retry window (24 h by default) began a day ago: the next refusal is the last.
      await services.database.sql`
        update vr_webhook_deliveries set round_started_at = now() - interval '25 hours' where product_ref = 'WH-GIVEUP'`;
      const failed = await waitFor('given up', async () =>
        (await deliveries('&status=failed')).find((d) => d.productRef === 'WH-GIVEUP'),
      );
      assert.ok(failed.attempts >= 3);
      refusing = false;
      await services.database.sql`update vr_jobs set status = 'queued' where id = ${job.id}`;
      await runThrough(job.id, 'completed', 66_001);
      await waitFor('the next event delivered', async () =>
        (await deliveries('&status=delivered')).find(
          (d) => d.productRef === 'WH-GIVEUP' && d.event === 'job.completed',
        ),
      );
      const tries = receiver.requests.filter((r) => r.body.job.productRef === 'WH-GIVEUP');
      assert.equal(tries.at(-1)!.body.event, 'job.completed');
      assert.equal(tries.filter((r) => r.body.event === 'job.completed').length, 1);
    } finally {
      await sender.stop();
      await receiver.close();
    }
  });

  test('redeliver: a delivered event is sent again, same event id; a pending one is refused', async () => {
    const receiver = await startReceiver(SECRET);
    const sender = startSender(receiver.url);
    try {
      await sender.started;
      const job = await services.producer().enqueueListing(listing('WH-REDELIVER'));
      await runThrough(job.id, 'completed', 88_001);
      const delivered = await waitFor('delivered', async () =>
        (await deliveries('&status=delivered')).find((d) => d.productRef === 'WH-REDELIVER'),
      );
      const answer = await app.inject({
        method: 'POST',
        url: `/api/vr/webhooks/deliveries/${delivered.id}/redeliver`,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(answer.statusCode, 202, answer.body);
      await waitFor(
        'sent again',
        () => receiver.accepted().filter((r) => r.body.job.productRef === 'WH-REDELIVER').length === 2,
      );
      const ids = receiver
        .accepted()
        .filter((r) => r.body.job.productRef === 'WH-REDELIVER')
        .map((r) => r.body.id);
      assert.equal(ids[0], ids[1], 'a redelivery signs the same event id');
      assert.equal(ids[0], delivered.eventId);
      const missing = await app.inject({
        method: 'POST',
        url: '/api/vr/webhooks/deliveries/999999/redeliver',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(missing.statusCode, 404);
      const bad = await app.inject({
        url: '/api/vr/webhooks/deliveries?status=lost',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().errors[0].field, 'status');
      const anonymous = await app.inject({ url: '/api/vr/webhooks/deliveries' });
      assert.equal(anonymous.statusCode, 401);
    } finally {
      await sender.stop();
      await receiver.close();
    }
  });

  test('a receiver on a private address is refused without WEBHOOK_ALLOW_HOSTS, and the delivery fails at once', async () => {
    const receiver = await startReceiver(SECRET);
    const database = connectDatabase(services.databaseUrl, { max: 3 });
    const connection = createRedis(services.redisUrl);
    const config = loadConfig({ ...env(receiver.url), WEBHOOK_ALLOW_HOSTS: '' });
    const sender = startWebhookSender({ database, config, connection, logger: silentLogger });
    try {
      await sender.started;
      const job = await services.producer().enqueueListing(listing('WH-SSRF'));
      await runThrough(job.id, 'failed');
      const failed = await waitFor('failed', async () =>
        (await deliveries('&status=failed')).find((d) => d.productRef === 'WH-SSRF'),
      );
      assert.equal(failed.attempts, 1);
      const [row] = await services.database
        .sql`select last_error from vr_webhook_deliveries where id = ${failed.id}`;
      assert.match(String(row!.last_error), /loopback.*WEBHOOK_ALLOW_HOSTS/);
      assert.equal(receiver.requests.length, 0);
    } finally {
      await sender.stop();
      await connection.quit();
      await database.close();
      await receiver.close();
    }
  });
});

test('the signature scheme: HMAC-SHA256 of "timestamp.body"; a stale timestamp or another body is refused', () => {
  const body = '{"event":"job.completed"}';
  const now = new Date('2026-11-30T12:00:00Z');
  const t = Math.floor(now.getTime() / 1000);
  const header = `t=${t},v1=${webhookSignature(SECRET, t, body)}`;
  assert.equal(verifyWebhookSignature(SECRET, header, body, { now }), true);
  assert.equal(verifyWebhookSignature(SECRET, header, `${body} `, { now }), false);
  assert.equal(verifyWebhookSignature('another-secret-0123', header, body, { now }), false);
  assert.equal(
    verifyWebhookSignature(SECRET, header, body, { now: new Date(now.getTime() + 301_000) }),
    false,
  );
  assert.equal(verifyWebhookSignature(SECRET, undefined, body, { now }), false);
});

test('config: WEBHOOK_URL needs WEBHOOK_SECRET, takes several URLs, refuses credentials and other schemes', () => {
  assert.throws(() => loadConfig({ WEBHOOK_URL: 'https://shop.example/hook' }), /WEBHOOK_SECRET: required/);
  const config = loadConfig({
    WEBHOOK_URL: 'https://a.example/h, https://b.example/h',
    WEBHOOK_SECRET: SECRET,
  });
  assert.deepEqual(config.webhookUrls, ['https://a.example/h', 'https://b.example/h']);
  assert.equal(config.webhookRetryHours, 24);
  assert.throws(
    () => loadConfig({ WEBHOOK_URL: 'https://u:p@a.example/h', WEBHOOK_SECRET: SECRET }),
    /WEBHOOK_URL: .*credentials/,
  );
  assert.throws(
    () => loadConfig({ WEBHOOK_URL: 'ftp://a.example/h', WEBHOOK_SECRET: SECRET }),
    /WEBHOOK_URL: .*http/,
  );
  assert.throws(() => loadConfig({ WEBHOOK_ALLOW_HOSTS: 'a b' }), /WEBHOOK_ALLOW_HOSTS/);
  assert.throws(
    () => loadConfig({ WEBHOOK_URL: 'https://a.example/h', WEBHOOK_SECRET: 'short' }),
    /WEBHOOK_SECRET: must be at least 16/,
  );
});
