import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { type RunningProcess, startCreationProcess } from '../../src/creation/main.ts';
import { silentLogger } from '../../src/logger.ts';
import type { Producer } from '../../src/producer/producer.ts';
import { CREATE_QUEUE } from '../../src/queues.ts';
import { startResolutionProcess } from '../../src/resolution/main.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';
import { FAST_SITE } from '../helpers/sim-timing.ts';

describe('transactional enqueue', () => {
  let services: TestServices;
  let producer: Producer;
  let queue: Queue;
  let resolution: { stop(): Promise<void> };
  let creation: RunningProcess;
  let sim: Simulator;

  before(async () => {
    services = await setupServices();
    producer = services.producer();
    queue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
    sim = await startSimulator({ port: 0, catalogRows: 40, seed: 51, ...FAST_SITE });
    const site = { baseUrl: sim.url, username: 'demo', password: 'demo' };
    // The sweep runs once at start and then only every ten minutes: what follows is the listener's doing.
    const config = services.config({
      SWEEP_INTERVAL_MS: '600000',
      FLUSH_SETTLE_MS: '300',
      RESOLUTION_BACKOFF_MS: '300',
    });
    resolution = startResolutionProcess({ config, site, logger: silentLogger });
    creation = startCreationProcess({ config, site, logger: silentLogger });
  });

  after(async () => {
    await creation.stop();
    await resolution.stop();
    await queue.close();
    await sim.close();
    await services.cleanup();
  });

  const onVr = (ref: string) =>
    sim.state('form').listings.filter((l) => l.product_description.includes(`Ref: ${ref}<`));
  const allJobs = async () => Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0);

  const listing = (productRef: string) => ({ productRef, brand: 'Fender', model: 'Mustang', price: 800 });
  const rows = async (ref: string) =>
    services.database.sql`select id::int, status from vr_jobs where product_ref = ${ref}`;
  const jobFor = async (ref: string) => {
    const [row] = await rows(ref);
    return row ? queue.getJob(`listing-${row.id}-0`) : undefined;
  };

  test('a rolled-back postgres.js transaction leaves no row and no job', async () => {
    await assert.rejects(
      services.database.sql.begin(async (tx) => {
        const job = await producer.enqueueListing(listing('TX-PG-ROLLBACK'), { tx });
        assert.equal(job.status, 'queued');
        throw new Error('the host application changes its mind');
      }),
      /changes its mind/,
    );
    assert.equal((await rows('TX-PG-ROLLBACK')).length, 0);
    assert.equal(await allJobs(), 0);
  });

  test('a rolled-back drizzle transaction leaves no row and no job', async () => {
    await assert.rejects(
      services.database.db.transaction(async (tx) => {
        await producer.enqueueListing(listing('TX-DZ-ROLLBACK'), { tx });
        tx.rollback();
      }),
    );
    assert.equal((await rows('TX-DZ-ROLLBACK')).length, 0);
    assert.equal(await allJobs(), 0);
  });

  test('a committed transaction is listed: its job reaches Redis after the commit, the listing is created on V&R and resolved', async () => {
    await services.database.sql.begin(async (tx) => {
      await producer.enqueueListing(listing('TX-PG-COMMIT'), { tx });
      // Not before the commit.
      assert.equal(await jobFor('TX-PG-COMMIT'), undefined);
    });
    await services.database.db.transaction(async (tx) => {
      await producer.enqueueListings([listing('TX-DZ-COMMIT-1'), listing('TX-DZ-COMMIT-2')], { tx });
    });
    for (const ref of ['TX-PG-COMMIT', 'TX-DZ-COMMIT-1', 'TX-DZ-COMMIT-2']) {
      const job = await waitFor(`the job for ${ref}`, () => jobFor(ref));
      assert.equal(job.data.productRef, ref);
    }
    for (const ref of ['TX-PG-COMMIT', 'TX-DZ-COMMIT-1', 'TX-DZ-COMMIT-2']) {
      const done = await waitFor(
        `${ref} listed and resolved`,
        async () => {
          const [row] = await services.database.sql`
            select status, vr_listing_id::int from vr_jobs where product_ref = ${ref}`;
          return row?.status === 'completed' ? row : undefined;
        },
        120_000,
      );
      const listed = onVr(ref);
      assert.equal(listed.length, 1, `${ref} on V&R once`);
      assert.equal(done.vr_listing_id, listed[0]!.product_id);
    }
    // The rolled-back ones never reached V&R.
    assert.equal(onVr('TX-PG-ROLLBACK').length + onVr('TX-DZ-ROLLBACK').length, 0);
    assert.equal(sim.state('form').listings.length, 3);
  });

  test('inside a transaction, validation and the already-listed check still apply', async () => {
    await assert.rejects(
      services.database.sql.begin((tx) =>
        producer.enqueueListing({ productRef: 'TX-BAD', price: 1 }, { tx }),
      ),
      /brand is required/,
    );
    assert.equal((await rows('TX-BAD')).length, 0);
  });
});
