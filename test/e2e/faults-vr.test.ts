import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import type { Browser } from 'playwright-core';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { type RunningProcess, startCreationProcess } from '../../src/creation/main.ts';
import { LOG_EVENT } from '../../src/log-events.ts';
import { silentLogger } from '../../src/logger.ts';
import { OUTAGE_EVENT } from '../../src/outage.ts';
import { createProducer, type Producer } from '../../src/producer/producer.ts';
import { CREATE_QUEUE, type CreateJobData } from '../../src/queues.ts';
import { runFlush } from '../../src/resolution/flush.ts';
import { startResolutionProcess } from '../../src/resolution/main.ts';
import { suspectExport } from '../../src/resolution/suspect-export.ts';
import type { BrowserSession } from '../../src/vr/browser-session.ts';
import { openBrowserSession } from '../../src/vr/open-session.ts';
import { launchSessionChromium } from '../helpers/chromium.ts';
import { captureLogs, lastLines, outageLines, WARN } from '../helpers/log-capture.ts';
import { setupServices, TEST_LISTING_DEFAULTS, type TestServices, waitFor } from '../helpers/services.ts';
import { FAST_SITE } from '../helpers/sim-timing.ts';

interface Row {
  id: number;
  status: string;
  error: string | null;
  vr_listing_id: number | null;
  submit_outcome_unknown: boolean;
  resolution_attempts: number;
}

const site = (sim: Simulator) => ({ baseUrl: sim.url, username: 'demo', password: 'demo' });
const onVr = (sim: Simulator, ref: string) =>
  sim.state('form').listings.filter((l) => l.product_description.includes(`Ref: ${ref}<`));

function rowsOf(services: TestServices) {
  return async (ref: string): Promise<Row | undefined> => {
    const [row] = await services.database.sql<Row[]>`
      select id::int, status, error, vr_listing_id::int, submit_outcome_unknown, resolution_attempts
      from vr_jobs where product_ref = ${ref}`;
    return row;
  };
}

describe('V&R down for maintenance (every route answers 503)', () => {
  let services: TestServices;
  let producer: Producer;
  let queue: Queue<CreateJobData>;
  const stops: (() => Promise<unknown>)[] = [];
  // One Chromium for the file's processes: each opens its own context on it.
  let browser: Browser;

  before(async () => {
    services = await setupServices();
    browser = await launchSessionChromium();
    // Two attempts per job: a policy that spent attempts on the outage would fail both jobs.
    producer = createProducerFor(services, services.queuePrefix, 2);
    stops.push(() => producer.close());
    queue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await queue.close();
    await browser?.close();
    await services.cleanup();
  });

  test('creation jobs wait it out without using up their attempts, with one warning, and go through after', async () => {
    const sim = await startSimulator({ port: 0, catalogRows: 30, seed: 21, ...FAST_SITE });
    stops.push(() => sim.close());
    sim.setFaults({ down: true });
    const logs = captureLogs();
    const creation: RunningProcess = startCreationProcess({
      config: services.config({
        CREATE_ATTEMPTS: '2',
        CREATE_BACKOFF_MS: '100',
        OUTAGE_RETRY_MAX_MS: '300',
        FLUSH_SETTLE_MS: '600000',
        // The tests share one database and each has its own simulator: a later test's worker must
        // not read back an earlier test's listings on the wrong site (each not found: suspects).
        VERIFY_LISTINGS: 'off',
      }),
      site: site(sim),
      logger: logs.logger,
      browser,
    });
    stops.push(() => creation.stop());
    const row = rowsOf(services);
    const jobs = await producer.enqueueListings([
      { productRef: 'DOWN-1', brand: 'Fender', model: 'Telecaster', price: 1500 },
      { productRef: 'DOWN-2', brand: 'Gibson', model: 'ES-335', price: 3200 },
    ]);
    const jobIds = jobs.map((j) => `listing-${j.id}-0`);
    await waitFor(
      'both jobs to have waited out more tries than CREATE_ATTEMPTS',
      async () => {
        for (const id of jobIds) {
          const job = await queue.getJob(id);
          if ((job?.data.outage?.delays ?? 0) <= 2) return false;
        }
        return true;
      },
      90_000,
    );
    for (const [i, id] of jobIds.entries()) {
      const job = (await queue.getJob(id))!;
      assert.equal(job.attemptsMade, 0, 'no attempt used up by the outage');
      assert.notEqual(await job.getState(), 'failed');
      const r = (await row(`DOWN-${i + 1}`))!;
      assert.ok(['queued', 'in_progress'].includes(r.status), r.status);
    }
    assert.match((await row('DOWN-1'))!.error ?? '', /waiting for V&R to come back: .*503/);
    assert.equal(sim.state('form').listings.length, 0);
    assert.equal(
      outageLines(logs.lines, 'V&R', OUTAGE_EVENT.down).length,
      1,
      'one warning for the whole outage',
    );
    assert.equal(logs.lines.filter((l) => l.event === LOG_EVENT.creationAttemptFailed).length, 0);

    sim.setFaults({ down: false });
    for (const ref of ['DOWN-1', 'DOWN-2']) {
      await waitFor(
        `${ref} submitted`,
        async () => (await row(ref))?.status === 'completed_pending_id',
        90_000,
      );
      assert.equal(onVr(sim, ref).length, 1, `${ref} listed once`);
    }
    assert.equal(outageLines(logs.lines, 'V&R', OUTAGE_EVENT.up).length, 1);
    // The tests share one database and its stored V&R session: stopped here, or this worker would
    // adopt (and replace) the next test's session for its own site.
    await creation.stop();
    await sim.close();
  });

  test('past OUTAGE_GIVE_UP_MS the tries count again, and the job fails with the reason', async () => {
    const sim = await startSimulator({ port: 0, catalogRows: 10, seed: 24, ...FAST_SITE });
    stops.push(() => sim.close());
    sim.setFaults({ down: true });
    const prefix = `${services.queuePrefix}-g`;
    const config = services.config({
      QUEUE_PREFIX: prefix,
      CREATE_ATTEMPTS: '2',
      CREATE_BACKOFF_MS: '100',
      OUTAGE_RETRY_MAX_MS: '200',
      OUTAGE_GIVE_UP_MS: '1500',
      FLUSH_SETTLE_MS: '600000',
      VERIFY_LISTINGS: 'off',
    });
    const creation = startCreationProcess({ config, site: site(sim), logger: silentLogger, browser });
    stops.push(() => creation.stop());
    const giveUp = createProducerFor(services, prefix, 2);
    stops.push(() => giveUp.close());
    await giveUp.enqueueListing({ productRef: 'DOWN-LONG', brand: 'Fender', model: 'Mustang', price: 700 });
    const failed = await waitFor(
      'the job to fail',
      async () => {
        const r = await rowsOf(services)('DOWN-LONG');
        return r?.status === 'failed' ? r : undefined;
      },
      90_000,
    );
    assert.match(failed.error ?? '', /gave up after 2 attempts: .*503/);
    assert.equal(sim.state('form').listings.length, 0);
    await creation.stop(); // as in the test above
    await sim.close();
  });

  test('a hung Publish whose listing V&R does not index is listed once, and goes to a person naming the exports and evidence', async () => {
    const sim = await startSimulator({ port: 0, catalogRows: 30, seed: 23, ...FAST_SITE });
    stops.push(() => sim.close());
    const logs = captureLogs();
    const fast = {
      FLUSH_SETTLE_MS: '200',
      VERIFY_LISTINGS: 'off',
      RESOLUTION_BACKOFF_MS: '200',
      CREATE_BACKOFF_MS: '100',
      VR_SUBMIT_TIMEOUT_MS: '2000',
      SWEEP_INTERVAL_MS: '1000',
      QUEUE_PREFIX: `${services.queuePrefix}-h`,
    };
    const creation = startCreationProcess({
      config: services.config(fast),
      site: site(sim),
      logger: logs.logger,
      browser,
    });
    stops.push(() => creation.stop());
    const resolution = startResolutionProcess({
      config: services.config(fast),
      site: site(sim),
      logger: logs.logger,
      browser,
    });
    stops.push(() => resolution.stop());
    const row = rowsOf(services);
    const hung = createProducerFor(services, fast.QUEUE_PREFIX);
    stops.push(() => hung.close());
    // The audit's duplicate: V&R stores the listing, never answers the Publish, and its export lags.
    sim.setFaults({ hangNextSubmits: 1, neverIndexNext: 1 });
    await hung.enqueueListing({ productRef: 'HUNG-1', brand: 'Fender', model: 'Jazzmaster', price: 2100 });
    const review = await waitFor(
      'needs_review',
      async () => {
        const r = await row('HUNG-1');
        return r?.status === 'needs_review' ? r : undefined;
      },
      120_000,
      () => `${JSON.stringify(sim.state().counters)}\n${lastLines(logs.lines)}`,
    );
    assert.equal(review.submit_outcome_unknown, true);
    assert.match(review.error ?? '', /outcome is unknown .*not found in 3 V&R exports requested between/);
    assert.match(review.error ?? '', /; evidence: publish-\d+\./);
    assert.match(review.error ?? '', /vr-lister retry \d+ --resubmit/);
    // Exports go on (the sweep and later flushes): nothing submits it again.
    const [runs] = await services.database.sql<{ n: number }[]>`
      select count(*)::int as n from vr_resolution_runs where error is null and finished_at is not null`;
    assert.ok(runs!.n >= 3, `${runs!.n} exports`);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    assert.equal(sim.state().counters.submissions, 1, 'submitted once');
    assert.equal(onVr(sim, 'HUNG-1').length, 1, 'on V&R once');
    assert.equal((await row('HUNG-1'))!.status, 'needs_review');
    // Its sweep and flushes share the database: stopped here, or they would act on the next test's jobs.
    await Promise.all([creation.stop(), resolution.stop()]);
    await sim.close();
  });

  test('field errors after a POST that stored the listing: completed with its id, never submitted twice, the wrong verdict a site fact', async () => {
    const sim = await startSimulator({ port: 0, catalogRows: 30, seed: 25, ...FAST_SITE });
    const fast = {
      FLUSH_SETTLE_MS: '200',
      VERIFY_LISTINGS: 'off',
      RESOLUTION_BACKOFF_MS: '200',
      CREATE_BACKOFF_MS: '100',
      SWEEP_INTERVAL_MS: '1000',
      QUEUE_PREFIX: `${services.queuePrefix}-f`,
    };
    const creation = startCreationProcess({
      config: services.config(fast),
      site: site(sim),
      logger: silentLogger,
      browser,
    });
    const resolution = startResolutionProcess({
      config: services.config(fast),
      site: site(sim),
      logger: silentLogger,
      browser,
    });
    const producerF = createProducerFor(services, fast.QUEUE_PREFIX);
    try {
      sim.setFaults({ fieldErrorsAfterStoreNext: 1 });
      await producerF.enqueueListing({
        productRef: 'FIELD-1',
        brand: 'Fender',
        model: 'Bass VI',
        price: 2600,
      });
      const done = await waitFor(
        'completed',
        async () => {
          const r = await rowsOf(services)('FIELD-1');
          return r?.status === 'completed' || r?.status === 'failed' ? r : undefined;
        },
        120_000,
      );
      assert.equal(done.status, 'completed', done.error ?? '');
      const listed = onVr(sim, 'FIELD-1');
      assert.equal(listed.length, 1, 'on V&R once');
      assert.equal(done.vr_listing_id, listed[0]!.product_id);
      assert.equal(sim.state().counters.submissions, 1);
      const [fact] = await services.database.sql<
        { key: string; value: { vrListingId: number; words: string } }[]
      >`
        select key, value from vr_site_facts`;
      assert.equal(fact?.key, 'publish.field_errors_but_stored');
      assert.equal(fact?.value.vrListingId, done.vr_listing_id);
      assert.match(fact?.value.words ?? '', /valid price/);
    } finally {
      await Promise.all([creation.stop(), resolution.stop(), producerF.close()]);
      await sim.close();
    }
  });

  test('field errors after a POST, and a later export without the listing: failed with V&R’s words, the mark cleared', async () => {
    const sim = await startSimulator({ port: 0, catalogRows: 30, seed: 26, ...FAST_SITE });
    const fast = {
      FLUSH_SETTLE_MS: '200',
      VERIFY_LISTINGS: 'off',
      RESOLUTION_BACKOFF_MS: '200',
      CREATE_BACKOFF_MS: '100',
      SWEEP_INTERVAL_MS: '1000',
      QUEUE_PREFIX: `${services.queuePrefix}-r`,
    };
    const creation = startCreationProcess({
      config: services.config(fast),
      site: site(sim),
      logger: silentLogger,
      browser,
    });
    const resolution = startResolutionProcess({
      config: services.config(fast),
      site: site(sim),
      logger: silentLogger,
      browser,
    });
    const producerR = createProducerFor(services, fast.QUEUE_PREFIX);
    try {
      sim.setFaults({ rejectNextSubmits: 1 });
      await producerR.enqueueListing({
        productRef: 'REJ-1',
        brand: 'Fender',
        model: 'Coronado',
        price: 1700,
      });
      const pending = await waitFor(
        'waiting for an export',
        async () => {
          const r = await rowsOf(services)('REJ-1');
          return r && r.status !== 'queued' && r.status !== 'in_progress' ? r : undefined;
        },
        120_000,
      );
      assert.ok(['completed_pending_id', 'failed'].includes(pending.status), pending.status);
      const failed = await waitFor(
        'failed',
        async () => {
          const r = await rowsOf(services)('REJ-1');
          return r?.status === 'failed' ? r : undefined;
        },
        120_000,
      );
      assert.match(failed.error ?? '', /V&R rejected the listing \(field errors after the POST.*valid price/);
      const [mark] = await services.database.sql<{ submit_started_at: Date | null }[]>`
        select submit_started_at from vr_jobs where product_ref = 'REJ-1'`;
      assert.equal(mark?.submit_started_at, null, 'the mark is cleared: a retry may submit');
      const [runs] = await services.database.sql<{ n: number }[]>`
        select count(*)::int as n from vr_resolution_runs where error is null and finished_at is not null`;
      assert.ok(runs!.n >= 1, 'decided by an export');
      assert.equal(sim.state().counters.submissions, 1);
      assert.equal(onVr(sim, 'REJ-1').length, 0);
    } finally {
      await Promise.all([creation.stop(), resolution.stop(), producerR.close()]);
      await sim.close();
    }
  });

  test('a 503 after Publish is an unknown outcome: never resubmitted while down; with RESUBMIT_UNKNOWN_AFTER_MS, resubmitted once, only after that time and the exports', async () => {
    const sim = await startSimulator({
      port: 0,
      catalogRows: 30,
      seed: 22,
      // FAST_SITE scales every latency: a 1.5 s submit, time to take the site down while it is in flight.
      submitLatencyMs: 1_500 / FAST_SITE.timeScale,
      ...FAST_SITE,
    });
    stops.push(() => sim.close());
    const fast = {
      FLUSH_SETTLE_MS: '200',
      VERIFY_LISTINGS: 'off',
      RESOLUTION_BACKOFF_MS: '200',
      CREATE_BACKOFF_MS: '100',
      OUTAGE_RETRY_MAX_MS: '300',
      SWEEP_INTERVAL_MS: '1000',
      RESUBMIT_UNKNOWN_AFTER_MS: '8000',
      QUEUE_PREFIX: `${services.queuePrefix}-b`,
    };
    const creation = startCreationProcess({
      config: services.config(fast),
      site: site(sim),
      logger: silentLogger,
      browser,
    });
    stops.push(() => creation.stop());
    const resolutionLogs = captureLogs();
    const resolution = startResolutionProcess({
      config: services.config(fast),
      site: site(sim),
      logger: resolutionLogs.logger,
      browser,
    });
    stops.push(() => resolution.stop());
    const row = rowsOf(services);
    const other = createProducerFor(services, fast.QUEUE_PREFIX);
    stops.push(() => other.close());
    await other.enqueueListing({ productRef: 'PUB-503', brand: 'Fender', model: 'Jaguar', price: 1900 });
    await waitFor('the submit in flight', () => sim.state().counters.submissions === 1, 60_000);
    sim.setFaults({ down: true });
    const unknown = await waitFor(
      'outcome unknown',
      async () => {
        const r = await row('PUB-503');
        return r?.status === 'completed_pending_id' ? r : undefined;
      },
      60_000,
    );
    assert.equal(unknown.submit_outcome_unknown, true);
    assert.match(unknown.error ?? '', /submit outcome unknown: Publish answered HTTP 503/);
    const [pending] = await services.database.sql<{ submitted_at: Date }[]>`
      select submitted_at from vr_jobs where product_ref = 'PUB-503'`;
    const submittedAt = new Date(pending!.submitted_at);
    // Flushes fail on the 503 export and use up no try; nothing is submitted again meanwhile.
    await waitFor(
      'a failed flush',
      async () =>
        (await services.database.sql`select 1 from vr_resolution_runs where error like '%503%'`).length > 0,
      60_000,
    );
    assert.equal((await row('PUB-503'))!.resolution_attempts, 0);
    assert.equal((await row('PUB-503'))!.status, 'completed_pending_id');
    assert.equal(sim.state().counters.submissions, 1);

    sim.setFaults({ down: false });
    // The 503 came before V&R created it: the exports show it missing, and then only is it resubmitted.
    let cleanExportsBeforeResubmit = -1;
    await waitFor(
      'the second submit',
      async () => {
        const [clean] = await services.database.sql<{ n: number }[]>`
          select count(*)::int as n from vr_resolution_runs where error is null and finished_at is not null`;
        if (sim.state().counters.submissions < 2) return false;
        cleanExportsBeforeResubmit = clean!.n;
        return true;
      },
      120_000,
    );
    assert.ok(cleanExportsBeforeResubmit >= 3, `resubmitted after ${cleanExportsBeforeResubmit} exports`);
    const resubmittedAfterMs = Date.now() - submittedAt.getTime();
    assert.ok(resubmittedAfterMs >= 8_000, `resubmitted ${resubmittedAfterMs} ms after the submit`);
    const done = await waitFor(
      'resolved',
      async () => {
        const r = await row('PUB-503');
        return r?.status === 'completed' ? r : undefined;
      },
      120_000,
    );
    const listed = onVr(sim, 'PUB-503');
    assert.equal(listed.length, 1, 'on V&R once');
    assert.equal(done.vr_listing_id, listed[0]!.product_id);
    assert.equal(sim.state().counters.submissions, 2);
    // The failed flushes during the outage: one warning, then one line when V&R is back.
    assert.equal(outageLines(resolutionLogs.lines, 'V&R', OUTAGE_EVENT.down).length, 1);
    assert.equal(outageLines(resolutionLogs.lines, 'V&R', OUTAGE_EVENT.up).length, 1);
    assert.equal(
      resolutionLogs.lines.filter(
        (l) =>
          l.level >= WARN && (l.event === LOG_EVENT.flushFailed || l.event === LOG_EVENT.resolutionJobFailed),
      ).length,
      0,
    );
  });
});

function createProducerFor(services: TestServices, queuePrefix: string, createAttempts = 5): Producer {
  return createProducer({
    databaseUrl: services.databaseUrl,
    redisUrl: services.redisUrl,
    queuePrefix,
    createAttempts,
    createBackoffMs: 100,
    listingDefaults: TEST_LISTING_DEFAULTS,
  });
}

describe('exports that time out, arrive cut short or arrive suspiciously small', () => {
  let services: TestServices;
  let sim: Simulator;
  let creation: RunningProcess;
  let producer: Producer;

  before(async () => {
    services = await setupServices();
    sim = await startSimulator({ port: 0, catalogRows: 200, seed: 23, ...FAST_SITE });
    producer = services.producer();
    creation = startCreationProcess({
      config: services.config({ FLUSH_SETTLE_MS: '600000' }),
      site: site(sim),
      logger: silentLogger,
    });
  });

  let exportSession: BrowserSession | undefined;
  after(async () => {
    await creation.stop();
    await exportSession?.close();
    await sim.close();
    await services.cleanup();
  });

  const flush = (overrides: Record<string, string> = {}) => {
    const config = services.config({ FLUSH_SETTLE_MS: '0', ...overrides });
    exportSession ??= openBrowserSession({
      config,
      site: site(sim),
      database: services.database,
      logger: silentLogger,
    });
    return runFlush(
      {
        database: services.database,
        session: exportSession,
        config,
        logger: silentLogger,
      },
      'test',
    );
  };
  const row = () => rowsOf(services);
  const links = async () => (await services.database.sql`select 1 from vr_product_links`).length;

  async function submitted(ref: string): Promise<number> {
    await producer.enqueueListing({ productRef: ref, brand: 'Fender', model: 'Precision Bass', price: 1100 });
    await waitFor(
      `${ref} submitted`,
      async () => (await row()(ref))?.status === 'completed_pending_id',
      90_000,
    );
    return onVr(sim, ref)[0]!.product_id;
  }

  test('an export download that times out writes nothing, uses up no try, and the next flush resolves', async () => {
    const id = await submitted('EXP-TIMEOUT');
    sim.setFaults({ exportLatencyMs: 20_000 });
    await assert.rejects(flush({ VR_EXPORT_TIMEOUT_MS: '1000' }), /abort|timeout/i);
    sim.setFaults({ exportLatencyMs: 0 });
    const after = (await row()('EXP-TIMEOUT'))!;
    assert.equal(after.status, 'completed_pending_id');
    assert.equal(after.resolution_attempts, 0);
    assert.equal(await links(), 0);
    const [run] = await services.database.sql`select error from vr_resolution_runs order by id desc limit 1`;
    assert.match(run!.error, /abort|timeout/i);

    const result = await flush();
    assert.equal(result.resolved, 1);
    assert.equal((await row()('EXP-TIMEOUT'))!.vr_listing_id, id);
  });

  test('an export cut off mid-record writes nothing; the next flush resolves', async () => {
    const id = await submitted('EXP-CUT');
    sim.setFaults({ truncateNextExports: 1 });
    await assert.rejects(flush(), /ends inside a quoted field|middle of a record/);
    assert.equal((await row()('EXP-CUT'))!.status, 'completed_pending_id');
    assert.equal((await row()('EXP-CUT'))!.resolution_attempts, 0);
    const result = await flush();
    assert.equal(result.resolved, 1);
    assert.equal((await row()('EXP-CUT'))!.vr_listing_id, id);
  });

  test('a well-formed export with a tenth of the rows is suspect: nothing written although ours is in it; the next flush resolves', async () => {
    const id = await submitted('EXP-SMALL');
    sim.setFaults({ shrinkNextExports: 1 });
    const linksBefore = await links();
    await assert.rejects(flush(), /export looks incomplete: \d+ rows, the last complete export had \d+/);
    const [run] = await services.database.sql<{ error_kind: string | null }[]>`
      select error_kind from vr_resolution_runs order by id desc limit 1`;
    assert.equal(run?.error_kind, 'suspect_export', 'the typed kind, not only the message');
    const pending = (await row()('EXP-SMALL'))!;
    assert.equal(pending.status, 'completed_pending_id', 'not resolved from a suspect export');
    assert.equal(pending.resolution_attempts, 0);
    assert.equal(await links(), linksBefore);
    const result = await flush();
    assert.equal(result.resolved, 1);
    assert.equal((await row()('EXP-SMALL'))!.vr_listing_id, id);
  });
});

describe('suspectExport', () => {
  const last = { rowsScanned: 1000, maxProductId: 9000 };
  test('fewer than half the rows, or 0 rows, or a lower highest id: suspect; otherwise not', () => {
    assert.match(suspectExport({ rows: 499, maxProductId: 9100 }, last, [])!, /499 rows.*1000/);
    assert.match(suspectExport({ rows: 0, maxProductId: 0 }, last, [])!, /incomplete/);
    assert.match(suspectExport({ rows: 1000, maxProductId: 8999 }, last, [])!, /highest id is 8999/);
    assert.equal(suspectExport({ rows: 500, maxProductId: 9000 }, last, []), undefined);
    assert.equal(suspectExport({ rows: 3, maxProductId: 3 }, undefined, []), undefined);
  });

  test('the same smaller export three times in a row is believed (items were deleted)', () => {
    const stats = { rows: 300, maxProductId: 9000 };
    const message = suspectExport(stats, last, [])!;
    assert.match(message, /300 rows/);
    const same = { ...stats, rowsScanned: 300, errorKind: 'suspect_export' };
    assert.ok(suspectExport(stats, last, [same]));
    assert.ok(suspectExport(stats, last, [same, { ...same, rowsScanned: 299 }]));
    assert.ok(suspectExport(stats, last, [same, { ...same, errorKind: null }]));
    assert.equal(suspectExport(stats, last, [same, same]), undefined);
  });
});
