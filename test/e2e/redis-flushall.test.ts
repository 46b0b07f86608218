import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { vrJobs } from '../../src/db/schema.ts';
import { validateListing } from '../../src/listing/listing.ts';
import { LOG_EVENT } from '../../src/log-events.ts';
import { CREATE_QUEUE, RESOLVE_QUEUE } from '../../src/queues.ts';
import { SWEEP_JOB } from '../../src/resolution/sweep-schedule.ts';
import { type CliProcess, startCli } from '../helpers/cli.ts';
import { parseLogLines } from '../helpers/log-capture.ts';
import { checkOutcome } from '../helpers/outcome.ts';
import { type PrivateRedis, startPrivateRedis } from '../helpers/private-services.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';

// FLUSHALL on a Redis of our own: the shared one serves other tests.
let redis: PrivateRedis;
let services: TestServices;
let sim: Simulator;
const children: CliProcess[] = [];

before(async () => {
  redis = await startPrivateRedis();
  services = await setupServices({ redisUrl: redis.url });
  sim = await startSimulator({ port: 0, catalogRows: 10, seed: 8 });
});

// Also after a failed before(): whatever was started goes, the private redis-server above all.
after(async () => {
  for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
  try {
    await sim?.close();
    await services?.cleanup();
  } finally {
    redis?.stop();
  }
});

test('after FLUSHALL the workers carry on alone: the sweep is scheduled again, re-adds the lost job, and it is listed and resolved', async () => {
  const prefix = services.queuePrefix;
  const resolveQueue = new Queue(RESOLVE_QUEUE, { connection: services.redis, prefix });
  const createQueue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix });
  try {
    const env = services.env({
      VR_BASE_URL: sim.url,
      VR_USERNAME: 'demo',
      VR_PASSWORD: 'demo',
      SWEEP_INTERVAL_MS: '1000',
      FLUSH_SETTLE_MS: '0',
      RESOLUTION_BACKOFF_MS: '300',
      LOG_LEVEL: 'info',
    });
    const worker = startCli(['worker', 'resolve'], env);
    const creation = startCli(['worker', 'create'], env);
    children.push(worker, creation);
    await waitFor(
      'the creation worker up',
      () => parseLogLines(creation.output()).some((l) => l.event === LOG_EVENT.workerStarted),
      60_000,
    );
    await waitFor('the sweep scheduled', () => resolveQueue.getJobScheduler(SWEEP_JOB), 60_000);
    await services.redis.flushall();

    // A row whose job Redis lost: only a sweep can bring it back (one running during the FLUSHALL
    // may do so before the schedule is checked, so the schedule is waited for on its own).
    const listing = validateListing({
      productRef: 'FLUSHED-1',
      brand: 'Fender',
      model: 'Mustang',
      price: 900,
    });
    const [row] = await services.database.db
      .insert(vrJobs)
      .values({ productRef: listing.productRef, payload: { listing } })
      .returning();
    await waitFor('the creation job re-added', () => createQueue.getJob(`listing-${row!.id}-0`), 60_000);
    const scheduler = await waitFor(
      'the sweep scheduled again',
      () => resolveQueue.getJobScheduler(SWEEP_JOB),
      60_000,
    );
    assert.deepEqual(
      scheduler.template?.opts?.removeOnComplete,
      { count: 100 },
      'finished sweeps are trimmed',
    );
    assert.equal(await resolveQueue.getGlobalConcurrency(), 1, 'one flush at a time again');
    assert.equal(worker.child.exitCode, null, 'the worker lived through it');
    await waitFor('the missing sweep logged', () => /the sweep was missing from Redis/.test(worker.output()));

    // The creation worker, which lived through the FLUSHALL too, takes the re-added job.
    await waitFor(
      'the listing created and resolved',
      async () => {
        const [r] = await services.database.sql`select status from vr_jobs where id = ${row!.id}`;
        return r?.status === 'completed';
      },
      120_000,
    );
    const outcome = await checkOutcome(services.database.sql, sim.url, ['FLUSHED-1']);
    assert.deepEqual(outcome.problems, []);
    for (const process of [worker, creation]) {
      assert.equal(process.child.exitCode, null, 'lived through it');
      process.child.kill('SIGTERM');
      assert.equal((await process.exited).code, 0, process.output().slice(-2000));
    }
  } finally {
    await resolveQueue.close();
    await createQueue.close();
  }
});
