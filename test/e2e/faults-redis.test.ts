import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { OUTAGE_EVENT } from '../../src/outage.ts';
import { createProducer, type Producer, QueueUnavailableError } from '../../src/producer/producer.ts';
import { type CliProcess, startCli } from '../helpers/cli.ts';
import { outageLines, parseLogLines, WARN } from '../helpers/log-capture.ts';
import { waitListedOnce } from '../helpers/outcome.ts';
import { type PrivateRedis, startPrivateRedis } from '../helpers/private-services.ts';
import { setupServices, TEST_LISTING_DEFAULTS, type TestServices, waitFor } from '../helpers/services.ts';

/**
 * Redis killed under running workers and a producer, and started again empty (no persistence): the
 * processes stay up, say so once, and the sweep rebuilds the queues from Postgres.
 */
describe('Redis lost and back (private redis-server)', () => {
  let services: TestServices;
  let redis: PrivateRedis;
  let sim: Simulator;
  let producer: Producer;
  const children: CliProcess[] = [];

  before(async () => {
    services = await setupServices();
    redis = await startPrivateRedis();
    sim = await startSimulator({ port: 0, catalogRows: 30, seed: 31 });
    producer = createProducer({
      databaseUrl: services.databaseUrl,
      redisUrl: redis.url,
      queuePrefix: services.queuePrefix,
      queueTimeoutMs: 2_000,
      listingDefaults: TEST_LISTING_DEFAULTS,
    });
  });

  // Also after a failed before(): whatever was started goes, the private redis-server above all.
  after(async () => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    try {
      await producer?.close().catch(() => {});
      await sim?.close();
    } finally {
      redis?.stop();
      await services?.cleanup();
    }
  });

  const env = () =>
    services.env({
      REDIS_URL: redis.url,
      VR_BASE_URL: sim.url,
      VR_USERNAME: 'demo',
      VR_PASSWORD: 'demo',
      FLUSH_SETTLE_MS: '300',
      RESOLUTION_BACKOFF_MS: '300',
      CREATE_BACKOFF_MS: '200',
      SWEEP_INTERVAL_MS: '1000',
      WORKER_LOCK_MS: '3000',
      // A read-back in flight when Redis goes logs error lines of its own (lock renewal): known,
      // for the next stop; this test is about creation, flushes, the sweep and the producer.
      VERIFY_LISTINGS: 'off',
      LOG_LEVEL: 'debug',
    });
  const row = async (ref: string) => {
    const [found] = await services.database.sql`
      select status, vr_listing_id::int from vr_jobs where product_ref = ${ref}`;
    return found;
  };
  const listed = (ref: string) => waitListedOnce(services.database.sql, sim.url, ref);
  const listing = (productRef: string) => ({
    productRef,
    brand: 'Fender',
    model: 'Stratocaster',
    price: 1700,
  });

  test('creation worker, resolution worker, sweep schedule and producer all resume by themselves', async () => {
    const create = startCli(['worker', 'create'], env());
    const resolve = startCli(['worker', 'resolve'], env());
    children.push(create, resolve);
    await producer.enqueueListing(listing('REDIS-BEFORE'));
    await listed('REDIS-BEFORE');

    await redis.kill();
    // The producer says the job didn't reach Redis; the row waits in Postgres for the sweep.
    await assert.rejects(producer.enqueueListing(listing('REDIS-DURING')), QueueUnavailableError);
    assert.equal((await row('REDIS-DURING'))!.status, 'queued');
    // Both workers keep retrying (several failed reconnects each) without exiting.
    const failedReconnects = (p: CliProcess) =>
      outageLines(parseLogLines(p.output()), 'Redis', OUTAGE_EVENT.stillDown).reduce(
        (most, l) => Math.max(most, Number(l.failures)),
        0,
      );
    await waitFor('both workers to notice', () =>
      [create, resolve].every(
        (p) => outageLines(parseLogLines(p.output()), 'Redis', OUTAGE_EVENT.down).length,
      ),
    );
    await waitFor('several failed reconnects in each worker', () =>
      [create, resolve].every((p) => failedReconnects(p) >= 5),
    );
    assert.equal(create.child.exitCode, null, create.output().slice(-2000));
    assert.equal(resolve.child.exitCode, null, resolve.output().slice(-2000));

    await redis.start(); // empty: every queue, job and the sweep's schedule are gone
    await listed('REDIS-DURING');
    await producer.enqueueListing(listing('REDIS-AFTER'));
    await listed('REDIS-AFTER');

    for (const p of [create, resolve]) {
      const lines = parseLogLines(p.output());
      const down = outageLines(lines, 'Redis', OUTAGE_EVENT.down);
      assert.equal(down.length, 1, 'one warning for the outage');
      assert.equal(down[0]!.level, WARN);
      // Not a flood: every other warning or error during the outage is counted too.
      const noisy = lines.filter((l) => l.level >= WARN && l.event !== OUTAGE_EVENT.down);
      assert.ok(noisy.length <= 3, JSON.stringify(noisy.slice(0, 5)));
      assert.ok(outageLines(lines, 'Redis', OUTAGE_EVENT.up).length >= 1, 'back, said once it answered');
      p.child.kill('SIGTERM');
      assert.equal((await p.exited).code, 0, p.output().slice(-2000));
    }
  });
});
