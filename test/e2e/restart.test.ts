import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { FORM_FILLED_STEP } from '../../src/creation/create-listing.ts';
import { LOG_EVENT } from '../../src/log-events.ts';
import type { Producer } from '../../src/producer/producer.ts';
import { type CliProcess, runCli, startCli } from '../helpers/cli.ts';
import { parseLogLines } from '../helpers/log-capture.ts';
import { checkOutcome, fetchFormListings, listingsFor } from '../helpers/outcome.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';
import { FAST_SITE, realMs } from '../helpers/sim-timing.ts';

// Enough that each restart lands mid-run with listings after it (15 before: more form fills, no more cases).
const COUNT = 10;

describe('restarting one worker process at a time during a run', () => {
  let services: TestServices;
  let sim: Simulator;
  let producer: Producer;
  const children: CliProcess[] = [];

  before(async () => {
    services = await setupServices();
    // Slow enough that a restart lands mid-listing and mid-download; the page's other waits (the
    // editor's start-up) fast.
    sim = await startSimulator({
      port: 0,
      catalogRows: 200,
      seed: 15,
      submitLatencyMs: realMs(300),
      exportLatencyMs: realMs(2_000),
      indexDelayMs: realMs(500),
      ...FAST_SITE,
    });
    producer = services.producer();
  });

  after(async () => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sim.close();
    await services.cleanup();
  });

  const env = () =>
    services.env({
      VR_BASE_URL: sim.url,
      VR_USERNAME: 'demo',
      VR_PASSWORD: 'demo',
      WORKER_LOCK_MS: '3000',
      CREATE_BACKOFF_MS: '200',
      // Settle above the indexing delay, so a try only counts once the listing could show; a listing
      // SIGKILL stopped short of V&R is then given up after four exports (7.5 s), not eight (2 min).
      FLUSH_SETTLE_MS: '1000',
      RESOLUTION_BACKOFF_MS: '500',
      MAX_RESOLUTION_ATTEMPTS: '4',
      SWEEP_INTERVAL_MS: '2000',
      LOG_LEVEL: 'info',
    });

  function start(kind: 'create' | 'resolve'): CliProcess {
    const process = startCli(['worker', kind], env());
    children.push(process);
    return process;
  }

  const submitted = async () => (await fetchFormListings(sim.url)).length;

  test('all 10 listings complete once with their own id while each worker is restarted alone', async () => {
    const refs = Array.from({ length: COUNT }, (_, i) => `RESTART-${i}`);
    await producer.enqueueListings(
      refs.map((productRef, i) => ({
        productRef,
        brand: i % 2 ? 'Gibson' : 'Fender',
        model: `Restart Model ${i}`,
        price: 1500 + i,
      })),
    );
    let creation = start('create');
    let resolution = start('resolve');

    // The creation worker: SIGTERM (it finishes its listing and exits 0), then a new one.
    await waitFor('2 listings on V&R', async () => (await submitted()) >= 2, 120_000);
    creation.child.kill('SIGTERM');
    assert.equal((await creation.exited).code, 0, creation.output().slice(-3000));
    creation = start('create');

    // SIGKILL while it is working on a listing, then a new one.
    await waitFor('5 listings on V&R', async () => (await submitted()) >= 5, 120_000);
    const formsFilled = () =>
      parseLogLines(creation.output()).filter(
        (l) => l.event === LOG_EVENT.jobStep && l.step === FORM_FILLED_STEP,
      ).length;
    const before = formsFilled();
    await waitFor('the next form filled', () => formsFilled() > before, 60_000);
    creation.child.kill('SIGKILL');
    assert.equal((await creation.exited).signal, 'SIGKILL');
    creation = start('create');

    // The resolution worker: SIGKILL while it downloads the export, then a new one.
    await waitFor(
      'an export download in progress',
      async () => {
        const [run] = await services.database.sql`
          select id from vr_resolution_runs where export_requested_at is not null and finished_at is null`;
        return run;
      },
      120_000,
    );
    resolution.child.kill('SIGKILL');
    assert.equal((await resolution.exited).signal, 'SIGKILL');
    resolution = start('resolve');

    // A SIGKILL between the submit mark and the POST leaves a listing whose Publish may or may not
    // have reached V&R: vr-lister never submits it again by itself, it goes to a person. The
    // person looks (not on V&R) and says so: `retry --resubmit`.
    await waitFor(
      'every listing completed, or in review',
      async () => {
        const [row] = await services.database.sql`
          select count(*) filter (where status in ('completed', 'needs_review'))::int as settled from vr_jobs`;
        return row!.settled === COUNT;
      },
      240_000,
    );
    const review = await services.database.sql<{ id: number; product_ref: string }[]>`
      select id::int, product_ref from vr_jobs where status = 'needs_review'`;
    assert.ok(
      review.length <= 1,
      `only the listing killed mid-submit may need a person: ${JSON.stringify(review)}`,
    );
    for (const job of review) {
      assert.deepEqual(listingsFor(await fetchFormListings(sim.url), job.product_ref), [], 'not on V&R');
      const retried = await runCli(['retry', String(job.id), '--resubmit'], env());
      assert.equal(retried.code, 0, retried.stderr);
    }
    await waitFor(
      'every listing completed',
      async () => {
        const [row] = await services.database.sql`
          select count(*) filter (where status = 'completed')::int as done from vr_jobs`;
        return row!.done === COUNT;
      },
      120_000,
    );
    const outcome = await checkOutcome(services.database.sql, sim.url, refs);
    assert.deepEqual(outcome.problems, []);
    assert.equal(outcome.ok.length, COUNT);

    for (const process of [creation, resolution]) process.child.kill('SIGTERM');
    for (const process of [creation, resolution]) {
      assert.equal((await process.exited).code, 0, process.output().slice(-3000));
    }
  });
});
