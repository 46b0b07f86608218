import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue, Worker } from 'bullmq';
import { vrJobs } from '../../src/db/schema.ts';
import { validateListing } from '../../src/listing/listing.ts';
import { silentLogger } from '../../src/logger.ts';
import { CREATE_QUEUE, type CreateJobData, RESOLVE_QUEUE } from '../../src/queues.ts';
import { decideFlush, type FlushJobData } from '../../src/resolution/trigger.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';

describe('the flush trigger (decideFlush)', () => {
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
    await services.database.db.insert(vrJobs).values(
      Array.from({ length: n }, (_, i) => {
        const productRef = `${prefix}-${i}`;
        const listing = validateListing({ productRef, brand: 'Fender', model: 'Telecaster', price: 999 });
        return {
          productRef,
          payload: { listing },
          status: 'completed_pending_id' as const,
          submittedAt,
          nextResolutionAt: submittedAt,
        };
      }),
    );
  }

  test('the listings a flush was taken with do not fill another batch before its run row exists; newer ones do', async () => {
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
