import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue, Worker } from 'bullmq';
import { vrJobs } from '../../src/db/schema.ts';
import { validateListing } from '../../src/listing/listing.ts';
import { silentLogger } from '../../src/logger.ts';
import { CREATE_QUEUE, type CreateJobData, RESOLVE_QUEUE } from '../../src/queues.ts';
import { sweep } from '../../src/resolution/sweep.ts';
import { decideFlush, type FlushJobData } from '../../src/resolution/trigger.ts';
import { deleteKeys, setupServices, type TestServices, waitFor } from '../helpers/services.ts';

describe('the sweep, and the flush trigger (decideFlush)', () => {
  let services: TestServices;
  let createQueue: Queue<CreateJobData>;
  let resolveQueue: Queue<FlushJobData>;

  before(async () => {
    services = await setupServices();
    createQueue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
    resolveQueue = new Queue(RESOLVE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
  });

  after(async () => {
    await createQueue.close();
    await resolveQueue.close();
    await services.cleanup();
  });

  const run = () =>
    sweep({
      db: services.database.db,
      config: services.config({ WORKER_LOCK_MS: '1000', STALE_PENDING_MS: '60000' }),
      logger: silentLogger,
      createQueue,
      resolveQueue,
    });

  async function insert(productRef: string, values: Partial<typeof vrJobs.$inferInsert> = {}) {
    const listing = validateListing({ productRef, brand: 'Fender', model: 'Telecaster', price: 999 });
    const [row] = await services.database.db
      .insert(vrJobs)
      .values({ productRef, payload: { listing }, ...values })
      .returning();
    return row!;
  }

  test('queued rows without a job get one, also after Redis was emptied; two sweeps at once add each once', async () => {
    const rows = await Promise.all(['OUT-1', 'OUT-2', 'OUT-3'].map((ref) => insert(ref)));
    await Promise.all([run(), run()]);
    for (const row of rows)
      assert.ok(await createQueue.getJob(`listing-${row.id}-0`), `job for ${row.productRef}`);
    assert.equal((await createQueue.getJobs(['waiting'])).length, 3);

    await deleteKeys(services.redis, `${services.queuePrefix}:*`);
    assert.equal((await createQueue.getJobs(['waiting'])).length, 0);
    await run();
    assert.equal((await createQueue.getJobs(['waiting'])).length, 3);
  });

  test('a row held by a vanished worker goes back to the queue, or to resolution if it may be submitted', async () => {
    const old = new Date(Date.now() - 60_000);
    const fresh = await insert('HELD-1', { status: 'in_progress', updatedAt: old });
    const submitting = await insert('HELD-2', {
      status: 'in_progress',
      updatedAt: old,
      submitStartedAt: old,
    });
    const live = await insert('HELD-3', { status: 'in_progress' });
    await run();
    const rows = await services.database
      .sql`select id::int, status, generation, submit_outcome_unknown from vr_jobs where product_ref like 'HELD-%' order by id`;
    assert.equal(rows[0]!.status, 'queued');
    assert.equal(rows[0]!.generation, 1);
    assert.ok(await createQueue.getJob(`listing-${fresh.id}-1`), 'a new creation job');
    assert.equal(rows[1]!.status, 'completed_pending_id');
    assert.equal(rows[1]!.submit_outcome_unknown, true);
    assert.equal(await createQueue.getJob(`listing-${submitting.id}-1`), undefined, 'never submitted again');
    assert.equal(rows[2]!.status, 'in_progress', 'a recently claimed row is left to its worker');
    assert.ok(live);
  });

  test('pending rows get a flush; rows pending too long go to needs_review', async () => {
    const now = new Date();
    const longAgo = new Date(Date.now() - 120_000);
    await insert('PEND-1', { status: 'completed_pending_id', submittedAt: now, nextResolutionAt: now });
    await insert('PEND-2', {
      status: 'completed_pending_id',
      submittedAt: longAgo,
      nextResolutionAt: longAgo,
    });
    const result = await run();
    assert.equal(result.stale, 1);
    assert.equal(result.flushRequested, true);
    const [stale] = await services.database
      .sql`select status, error, payload from vr_jobs where product_ref = 'PEND-2'`;
    assert.equal(stale!.status, 'needs_review');
    assert.equal(stale!.payload.reviewKind, 'stale', 'the review says why, for code');
    assert.ok(stale!.payload.listing, 'the rest of the payload stays');
    assert.match(stale!.error, /pending for over 1 minutes/);
    const flushes = await resolveQueue.getJobs(['waiting', 'delayed']);
    assert.equal(flushes.filter((j) => j.name === 'flush').length, 1);
  });

  test('settled job events past their retention go, with their delivery log; pending ones and the newest stay', async () => {
    const { sql } = services.database;
    // Each final status writes an event (the trigger of drizzle/0002).
    const rows = await Promise.all(
      ['EV-OLD', 'EV-PENDING', 'EV-UNDISPATCHED', 'EV-RECENT', 'EV-NEWEST'].map((ref) => insert(ref)),
    );
    for (const row of rows) await sql`update vr_jobs set status = 'failed', error = 'x' where id = ${row.id}`;
    const events = await sql<{ id: string; product_ref: string }[]>`
      select id, product_ref from vr_job_events where product_ref like 'EV-%' order by id`;
    assert.equal(events.length, 5);
    const id = (ref: string) => events.find((e) => e.product_ref === ref)!.id;
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    await sql`update vr_job_events set created_at = ${old}, dispatched_at = ${old}
      where product_ref in ('EV-OLD', 'EV-PENDING', 'EV-NEWEST')`;
    await sql`update vr_job_events set created_at = ${old} where product_ref = 'EV-UNDISPATCHED'`;
    await sql`update vr_job_events set dispatched_at = now() where product_ref = 'EV-RECENT'`;
    await sql`insert into vr_webhook_deliveries (event_id, product_ref, url, status)
      values (${id('EV-OLD')}, 'EV-OLD', 'https://hooks.example/a', 'delivered'),
             (${id('EV-PENDING')}, 'EV-PENDING', 'https://hooks.example/a', 'pending')`;

    const result = await run();
    assert.equal(result.pruned, 1);
    const left = await sql<{ product_ref: string }[]>`
      select product_ref from vr_job_events where product_ref like 'EV-%' order by id`;
    assert.deepEqual(
      left.map((e) => e.product_ref),
      ['EV-PENDING', 'EV-UNDISPATCHED', 'EV-RECENT', 'EV-NEWEST'],
    );
    const deliveries = await sql`select product_ref from vr_webhook_deliveries`;
    assert.deepEqual(
      deliveries.map((d) => d.product_ref),
      ['EV-PENDING'],
    );
  });

  const decide = () =>
    decideFlush({
      db: services.database.db,
      createQueue,
      resolveQueue,
      maxBatchSize: 10,
      flushSettleMs: 0,
      logger: silentLogger,
    });

  /** `n` listings submitted at `submittedAt`, waiting for their id and due now. */
  async function submitted(prefix: string, n: number, submittedAt: Date) {
    for (let i = 0; i < n; i++) {
      await insert(`${prefix}-${i}`, {
        status: 'completed_pending_id',
        submittedAt,
        nextResolutionAt: submittedAt,
      });
    }
  }

  test('the listings a flush was taken with do not fill another batch before its run row exists; newer ones do', async () => {
    // The earlier tests' jobs (queued listings, the sweep's flush) are not this test's.
    await deleteKeys(services.redis, `${services.queuePrefix}:*`);
    await submitted('FIRST', 10, new Date(Date.now() - 5_000));
    assert.equal(await decide(), 'batch');
    // A resolution worker takes the flush and holds it, as one does while it waits for its lock or
    // starts Chromium: no run row yet.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const connection = services.redis.duplicate({ maxRetriesPerRequest: null });
    const worker = new Worker<FlushJobData>(RESOLVE_QUEUE, () => held, {
      connection,
      prefix: services.queuePrefix,
    });
    try {
      const taken = await waitFor('the flush taken', async () => (await resolveQueue.getActive())[0]);
      assert.equal(taken.data.reason, 'batch');
      // The next listing ends: the ten are the running flush's; the queue is empty, so a drain.
      assert.equal(await decide(), 'drain');

      await submitted('LATER', 10, new Date());
      assert.equal(
        await decide(),
        'batch',
        'ten submitted after the flush was taken are a batch of their own',
      );
    } finally {
      release();
      await worker.close();
      connection.disconnect();
    }
  });
});
