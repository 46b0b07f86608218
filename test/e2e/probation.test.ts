/**
 * Issue 23, item 4, end to end with both workers and the simulator (its gate on): a fresh install's
 * first listing is alone on the lane until the site is proven; after 3 listings in a row end unknown
 * and never shown, creation pauses until `vr-lister resume`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import type { Browser } from 'playwright-core';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { resumeAndRelease } from '../../src/api/resume.ts';
import { startCreationProcess } from '../../src/creation/main.ts';
import { readSiteTrust } from '../../src/db/site-trust.ts';
import { LOG_EVENT } from '../../src/log-events.ts';
import { silentLogger } from '../../src/logger.ts';
import type { Producer } from '../../src/producer/producer.ts';
import { CREATE_QUEUE, type CreateJobData } from '../../src/queues.ts';
import { startResolutionProcess } from '../../src/resolution/main.ts';
import { launchSessionChromium } from '../helpers/chromium.ts';
import { captureLogs } from '../helpers/log-capture.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';
import { FAST_SITE } from '../helpers/sim-timing.ts';

interface Row {
  id: number;
  product_ref: string;
  status: string;
  submitted_at: Date | null;
  attempts: number;
}

describe('probation and the circuit breaker', () => {
  let services: TestServices;
  let sim: Simulator;
  let browser: Browser;
  let producer: Producer;
  let queue: Queue<CreateJobData>;
  const logs = captureLogs('info');
  const stops: (() => Promise<unknown>)[] = [];

  before(async () => {
    // A fresh install: the site is not proven.
    services = await setupServices({ siteProven: false, readBack: true });
    sim = await startSimulator({ port: 0, catalogRows: 20, seed: 23, ...FAST_SITE });
    browser = await launchSessionChromium();
    producer = services.producer();
    queue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
    const config = services.config({
      // Long enough that, without probation, the next listings would be submitted before a flush.
      FLUSH_SETTLE_MS: '1500',
      RESOLUTION_BACKOFF_MS: '300',
      MAX_RESOLUTION_ATTEMPTS: '2',
      CREATE_BACKOFF_MS: '200',
      // The sweep asks for the flushes of listings due again (after the resolver's own retry).
      SWEEP_INTERVAL_MS: '1000',
      VR_SUBMIT_TIMEOUT_MS: '2000',
    });
    const site = { baseUrl: sim.url, username: 'demo', password: 'demo' };
    const creation = startCreationProcess({ config, site, logger: silentLogger, browser });
    const resolution = startResolutionProcess({ config, site, logger: logs.logger, browser });
    stops.push(
      () => creation.stop(),
      () => resolution.stop(),
    );
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {}); // best effort: cleanup follows
    await queue?.close();
    await browser?.close();
    await sim?.close();
    await services?.cleanup();
  });

  const rows = (prefix: string) =>
    services.database.sql<Row[]>`
      select id::int, product_ref, status, submitted_at, attempts from vr_jobs
      where product_ref like ${`${prefix}-%`} order by id`;
  /** When each job reached its final status (the outbox row its trigger wrote). */
  const settledAt = async (id: number) => {
    const [event] = await services.database.sql<{ created_at: Date }[]>`
      select created_at from vr_job_events where job_id = ${id} order by id limit 1`;
    return event?.created_at;
  };

  test("a fresh install's first listing is alone on the lane until the site is proven", async () => {
    await producer.enqueueListings([
      { productRef: 'P-1', brand: 'Fender', model: 'Telecaster', price: 1500 },
      { productRef: 'P-2', brand: 'Gibson', model: 'SG', price: 1800 },
      { productRef: 'P-3', brand: 'Gretsch', model: 'Duo Jet', price: 2100 },
    ]);
    const done = await waitFor(
      'all three completed',
      async () => {
        const r = await rows('P');
        return r.every((x) => x.status === 'completed') ? r : undefined;
      },
      120_000,
    );
    const [first, second, third] = [...done] as [Row, Row, Row];
    const firstDone = (await settledAt(first.id))!;
    // Nothing else was submitted before the first listing was found: it was alone on the lane.
    for (const other of [second, third])
      assert.ok(other.submitted_at! >= firstDone, `${other.product_ref} submitted after P-1 was found`);
    const trust = await readSiteTrust(services.database.db);
    assert.ok(trust.provenAt, 'proven by the first listing');
    assert.equal(trust.provenBy, `job ${first.id}`);
    // Held jobs used no try: one claim each.
    assert.deepEqual(
      done.map((r) => r.attempts),
      [1, 1, 1],
    );
    assert.equal(
      sim.state('form').listings.filter((l) => /Ref: P-\d</.test(l.product_description)).length,
      3,
    );
  });

  test('after 3 listings in a row end unknown and never shown, creation pauses until resume', async () => {
    // Each Publish is answered 500 (outcome unknown) and no export shows it: to review, suspect.
    sim.setFaults({ failNextSubmits: 3 });
    await producer.enqueueListings([
      { productRef: 'S-1', brand: 'Fender', model: 'Jaguar', price: 1100 },
      { productRef: 'S-2', brand: 'Fender', model: 'Mustang', price: 900 },
      { productRef: 'S-3', brand: 'Fender', model: 'Bronco', price: 700 },
    ]);
    await waitFor(
      'the three in needs_review',
      async () => (await rows('S')).every((r) => r.status === 'needs_review'),
      120_000,
    );
    const trust = await readSiteTrust(services.database.db);
    assert.ok(trust.pausedAt, 'paused');
    assert.equal(trust.suspectStreak, 3);
    const paused = await waitFor('the error line', () =>
      logs.lines.filter((l) => l.event === LOG_EVENT.creationPaused),
    );
    assert.equal(paused.length, 1, 'one error line');
    assert.equal(paused[0]!.level, 50);

    // The next listing is held: no try used, nothing sent to V&R.
    const before = sim.state('form').counters.submissions;
    const [held] = await producer.enqueueListings([
      { productRef: 'H-1', brand: 'Gibson', model: 'Les Paul', price: 2500 },
    ]);
    const jobId = `listing-${held!.id}-0`;
    await waitFor('the job held by the breaker', async () => {
      const job = await queue.getJob(jobId);
      return job?.data.gate === 'paused' && (await job.isDelayed());
    });
    const job = (await queue.getJob(jobId))!;
    assert.equal(job.attemptsMade, 0);
    assert.equal((await rows('H'))[0]!.status, 'queued');
    assert.equal(sim.state('form').counters.submissions, before);

    // A person resumes: the held job goes at once (its hold is an hour) and completes.
    const resumed = await resumeAndRelease({
      db: services.database.db,
      createQueue: queue,
      logger: silentLogger,
    });
    assert.deepEqual(
      { wasPaused: resumed.wasPaused, released: resumed.released },
      { wasPaused: true, released: 1 },
    );
    await waitFor('H-1 completed', async () => (await rows('H'))[0]?.status === 'completed', 60_000);
    const after = await readSiteTrust(services.database.db);
    assert.equal(after.pausedAt, null);
    assert.equal(after.suspectStreak, 0);
  });
});
