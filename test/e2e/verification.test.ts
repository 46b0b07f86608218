import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { linkRow } from '../../src/api/link.ts';
import type { JobView } from '../../src/db/queries.ts';
import { LOG_EVENT } from '../../src/log-events.ts';
import { silentLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { CREATE_QUEUE, creationJobId } from '../../src/queues.ts';
import { runVerify } from '../../src/resolution/verify-job.ts';
import { BrowserSession } from '../../src/vr/browser-session.ts';
import { type CliProcess, runCli, startCli } from '../helpers/cli.ts';
import { parseLogLines } from '../helpers/log-capture.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';
import { FAST_SITE } from '../helpers/sim-timing.ts';

describe('read-back: each found listing is compared with its V&R edit page', () => {
  let services: TestServices;
  let sim: Simulator;
  const children: CliProcess[] = [];

  before(async () => {
    services = await setupServices({ readBack: true });
    // The Cloudflare-like gate is on (its default, `auto`): every page goes through the browser.
    sim = await startSimulator({ port: 0, catalogRows: 30, seed: 23, ...FAST_SITE });
  });

  after(async () => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sim.close();
    await services.cleanup();
  });

  const env = (extra: Record<string, string> = {}) =>
    services.env({
      VR_BASE_URL: sim.url,
      VR_USERNAME: 'demo',
      VR_PASSWORD: 'demo',
      FLUSH_SETTLE_MS: '300',
      RESOLUTION_BACKOFF_MS: '300',
      CREATE_BACKOFF_MS: '200',
      SWEEP_INTERVAL_MS: '600000',
      LOG_LEVEL: 'info',
      ...extra,
    });

  async function jobsJson(): Promise<JobView[]> {
    const result = await runCli(['jobs', '--json'], env());
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as JobView[];
  }

  test('of 3 listings with dropShippingFeesNext: 1, exactly one is a shipping mismatch, told in five places', async () => {
    sim.setFaults({ dropShippingFeesNext: 1 });
    const producer = services.producer();
    await producer.enqueueListings(
      [1, 2, 3].map((n) => ({
        productRef: `RB-${n}`,
        brand: 'Fender',
        model: `Telecaster ${n}`,
        price: 1000 + n,
        year: 1960 + n,
        category: 'Amps>Combo',
        shipping: { fees: { uk: 40, world: 150 }, localPickup: true },
        processingTime: '2 Weeks',
        description: `<p>Telecaster number ${n}</p>`,
      })),
    );
    const create = startCli(['worker', 'create'], env());
    const resolve = startCli(['worker', 'resolve'], env());
    children.push(create, resolve);

    // Waited for in Postgres (a CLI start per poll cost about a second of CPU), then read once
    // through `vr-lister jobs --json`.
    await waitFor(
      'every job completed and read back',
      async () => {
        const [{ n }] = await services.database.sql<[{ n: number }]>`
          select count(*)::int as n from vr_jobs
          where status = 'completed' and verification ->> 'status' in ('ok', 'mismatch')`;
        return n === 3;
      },
      180_000,
    );
    const views = await jobsJson();
    assert.equal(views.length, 3, JSON.stringify(views));
    const mismatched = views.filter((j) => j.verification!.status === 'mismatch');
    assert.equal(mismatched.length, 1, JSON.stringify(views));
    const [bad] = mismatched;
    assert.deepEqual(bad!.verification!.differences, [
      { field: 'shipping.fees.uk', asked: 40, found: null },
      { field: 'shipping.fees.world', asked: 150, found: null },
    ]);
    for (const job of views.filter((j) => j !== bad)) {
      assert.deepEqual(job.verification!.differences, [], job.productRef);
      assert.ok(job.verification!.checkedAt, 'read at a known time');
    }
    // V&R really stored that one without fees, and the others with them.
    const stored = sim.state('form').listings;
    assert.deepEqual(stored.find((l) => String(l.product_id) === bad!.vrListingId)?.shipping_fees, {});
    assert.equal(stored.filter((l) => l.shipping_fees.uk === 40).length, 2);
    // Read only: no edit was ever posted.
    assert.equal(sim.state().counters.edits, 0);

    // 1. The event, in the log: a warn line naming the fields.
    const logged = await waitFor('the mismatch logged', () =>
      parseLogLines(resolve.output()).find((l) => l.event === LOG_EVENT.listingMismatch),
    );
    assert.equal(logged!.level, 40);
    assert.deepEqual(logged!.fields, ['shipping.fees.uk', 'shipping.fees.world']);
    // 2. The webhook's event, in the outbox the webhook worker delivers from.
    const events = await services.database.sql<
      { event: string; job: { verification: { status: string } } }[]
    >`
      select event, job from vr_job_events where job_id = ${bad!.id} order by id`;
    assert.deepEqual(
      events.map((e) => e.event),
      ['job.completed', 'listing.mismatch'],
    );
    assert.equal(events[1]!.job.verification.status, 'mismatch');
    // 3. The metric.
    const metrics = await createMetrics({
      database: services.database,
      queues: [],
      logger: silentLogger,
    }).render();
    assert.match(metrics, /vr_lister_listing_mismatches_total\{field="shipping.fees.uk"\} 1\b/);
    assert.match(metrics, /vr_lister_listing_mismatches_total\{field="shipping.fees.world"\} 1\b/);
    // 4. status (and watch, which shows the same report).
    const status = await runCli(['status'], env());
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /read-back +2 ok, 1 mismatch, 0 pending, 0 skipped/);
    assert.match(
      status.stdout,
      new RegExp(`MISMATCH job ${bad!.id} ${bad!.productRef} .*shipping\\.fees\\.uk`),
    );
    const watch = await runCli(['watch', '--once'], env());
    assert.equal(watch.code, 0, watch.stderr);
    assert.match(watch.stdout, /read-back: 1 mismatch \(RB-\d: shipping\.fees\.uk, shipping\.fees\.world\)/);
    // 5. The creation job's Bull Board log.
    const queue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
    try {
      const { logs } = await queue.getJobLogs(creationJobId({ id: bad!.id, generation: 0 }));
      assert.ok(
        logs.some((line) =>
          /read-back of V&R listing \d+: MISMATCH shipping\.fees\.uk: asked 40, found null/.test(line),
        ),
        logs.join('\n'),
      );
    } finally {
      await queue.close();
    }
    create.child.kill('SIGTERM');
    resolve.child.kill('SIGTERM');
    await Promise.all([create.exited, resolve.exited]);
  });

  test("a person's link is read back too; while V&R is down the read-back stays pending, then settles", async () => {
    const producer = services.producer();
    const [job] = await producer.enqueueListings([
      {
        productRef: 'RB-LINK',
        brand: 'Gibson',
        model: 'ES-335',
        price: 4200,
        year: 1964,
        category: 'Amps>Combo',
        shipping: { fees: { europe: 60 }, localPickup: false },
        processingTime: '3 Days',
      },
    ]);
    // Made on V&R by hand (the worker never ran for it); the job is in review.
    const handMade = await fetch(`${sim.url}/__sim/listings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        brand_name: 'Gibson',
        product_model_name: 'ES-335',
        product_price: 4200,
        product_year: '1964',
        category_name: 'Amps>Combo',
        shipping_fees: { europe: 60 },
        processing_time: '3 Days',
      }),
    });
    const vrListingId = ((await handMade.json()) as { product_id: number }).product_id;
    await services.database.sql`update vr_jobs set status = 'needs_review' where id = ${job!.id}`;
    await services.database
      .sql`update vr_resolution_runs set max_product_id = greatest(max_product_id, ${vrListingId})`;
    const linked = await linkRow({ database: services.database }, job!.id, vrListingId);
    assert.equal(linked.kind, 'linked');
    const view = async () => (await jobsJson()).find((j) => j.id === job!.id)!;
    assert.equal((await view()).verification?.status, 'pending');

    sim.setFaults({ down: true });
    // No flush will ask: the sweep finds the pending read-back.
    const resolve = startCli(['worker', 'resolve'], env({ SWEEP_INTERVAL_MS: '1000' }));
    children.push(resolve);
    await waitFor(
      'the read-back met the outage',
      () =>
        /read-back|edit page|unavailable|503/i.test(resolve.output()) &&
        resolve.output().includes('outage_down'),
      60_000,
    );
    assert.equal((await view()).verification?.status, 'pending', 'an outage is no verdict');
    sim.setFaults({ down: false });
    await waitFor(
      'the read-back settled',
      async () => {
        const [row] = await services.database.sql<{ status: string }[]>`
          select verification ->> 'status' as status from vr_jobs where id = ${job!.id}`;
        return row?.status !== 'pending';
      },
      120_000,
    );
    const done = await view();
    assert.deepEqual(done.verification?.differences, []);
    assert.equal(done.verification?.status, 'ok');
    resolve.child.kill('SIGTERM');
    await resolve.exited;
  });

  test('VERIFY_LISTINGS=off: a pending read-back is marked skipped, no page opened', async () => {
    const [row] = await services.database.sql<{ id: number }[]>`
      update vr_jobs set verification = ${JSON.stringify({ status: 'pending', differences: [], checkedAt: null })}::jsonb
      where product_ref = 'RB-1' returning id::int`;
    const config = services.config({ VERIFY_LISTINGS: 'off' });
    const session = new BrowserSession({
      site: { baseUrl: sim.url, username: 'demo', password: 'demo' },
      chromiumPath: config.chromiumPath,
      pageTimeoutMs: 5_000,
      logger: silentLogger,
      challengeWaitMs: 1_000,
    });
    try {
      const result = await runVerify({ database: services.database, session, config, logger: silentLogger });
      assert.equal(result.skipped, 1);
      assert.equal(result.remaining, 0);
      assert.equal(session.logins, 0, 'V&R never visited');
    } finally {
      await session.close();
    }
    const [after] = await services.database.sql<{ verification: { status: string; detail: string } }[]>`
      select verification from vr_jobs where id = ${row!.id}`;
    assert.equal(after!.verification.status, 'skipped');
    assert.equal(after!.verification.detail, 'VERIFY_LISTINGS=off');
  });
});
