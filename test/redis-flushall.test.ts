import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import { vrJobs } from '../src/db/schema.ts';
import { validateListing } from '../src/listing.ts';
import { CREATE_QUEUE, RESOLVE_QUEUE } from '../src/queues.ts';
import { SWEEP_JOB } from '../src/resolution/worker.ts';
import { type Simulator, startSimulator } from '../src/simulator/server.ts';
import { type CliProcess, startCli } from './helpers/cli.ts';
import { type PrivateRedis, startPrivateRedis } from './helpers/private-services.ts';
import { setupServices, type TestServices, waitFor } from './helpers/services.ts';

// FLUSHALL on a Redis of our own: the shared one serves other tests.
let redis: PrivateRedis;
let services: TestServices;
let sim: Simulator;
let worker: CliProcess | undefined;

before(async () => {
  redis = await startPrivateRedis();
  services = await setupServices({ redisUrl: redis.url });
  sim = await startSimulator({ port: 0, catalogRows: 10, seed: 8 });
});

after(async () => {
  if (worker?.child.exitCode === null) worker.child.kill('SIGKILL');
  await sim.close();
  await services.cleanup();
  redis.stop();
});

test('after FLUSHALL the resolution worker schedules its sweep again, which re-adds queued rows', async () => {
  const prefix = services.queuePrefix;
  const resolveQueue = new Queue(RESOLVE_QUEUE, { connection: services.redis, prefix });
  const createQueue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix });
  try {
    worker = startCli(
      ['worker', 'resolve'],
      services.env({
        VR_BASE_URL: sim.url,
        VR_USERNAME: 'demo',
        VR_PASSWORD: 'demo',
        SWEEP_INTERVAL_MS: '1000',
        LOG_LEVEL: 'info',
      }),
    );
    await waitFor('the sweep scheduled', () => resolveQueue.getJobScheduler(SWEEP_JOB), 60_000);
    await services.redis.flushall();
    assert.equal(await resolveQueue.getJobScheduler(SWEEP_JOB), undefined);

    // A row whose job Redis lost: only the sweep can bring it back.
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
    assert.ok(await resolveQueue.getJobScheduler(SWEEP_JOB), 'the sweep is scheduled again');
    assert.equal(await resolveQueue.getGlobalConcurrency(), 1, 'one flush at a time again');
    assert.equal(worker.child.exitCode, null, 'the worker lived through it');
    assert.match(worker.output(), /the sweep was missing from Redis/);

    worker.child.kill('SIGTERM');
    assert.equal((await worker.exited).code, 0, worker.output().slice(-2000));
  } finally {
    await resolveQueue.close();
    await createQueue.close();
  }
});
