import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { FORM_FILLED_STEP } from '../../src/creation/create-listing.ts';
import { startCreationProcess } from '../../src/creation/main.ts';
import { LOG_EVENT } from '../../src/log-events.ts';
import { silentLogger } from '../../src/logger.ts';
import type { Producer } from '../../src/producer/producer.ts';
import { startResolutionProcess } from '../../src/resolution/main.ts';
import { type CliProcess, startCli } from '../helpers/cli.ts';
import { parseLogLines } from '../helpers/log-capture.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';
import { FAST_SITE, realMs } from '../helpers/sim-timing.ts';

describe('creation worker process', () => {
  let services: TestServices;
  let sim: Simulator;
  let producer: Producer;
  const children: CliProcess[] = [];

  before(async () => {
    services = await setupServices();
    sim = await startSimulator({ port: 0, catalogRows: 50, seed: 3, ...FAST_SITE });
    producer = services.producer();
  });

  after(async () => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sim.close();
    await services.cleanup();
  });

  function worker(extra: Record<string, string> = {}): CliProcess {
    const process = startCli(
      ['worker', 'create'],
      services.env({
        VR_BASE_URL: sim.url,
        VR_USERNAME: 'demo',
        VR_PASSWORD: 'demo',
        WORKER_LOCK_MS: '3000',
        CREATE_BACKOFF_MS: '200',
        FLUSH_SETTLE_MS: '60000',
        LOG_LEVEL: 'info',
        ...extra,
      }),
    );
    children.push(process);
    return process;
  }

  async function row(ref: string) {
    const [found] = await services.database.sql`select * from vr_jobs where product_ref = ${ref}`;
    return found;
  }

  const onVr = (ref: string) =>
    sim.state('form').listings.filter((l) => l.product_description.includes(`Ref: ${ref}<`));

  test('SIGKILL while a submit is in flight: after a restart the listing exists once, outcome unknown', async () => {
    sim.setFaults({ hangNextSubmits: 1 });
    await producer.enqueueListing({
      productRef: 'KILL-1',
      brand: 'Fender',
      model: 'Jazzmaster',
      price: 2100,
    });
    const first = worker({ VR_SUBMIT_TIMEOUT_MS: '600000' });
    await waitFor('the listing created while the response hangs', () => onVr('KILL-1').length === 1, 60_000);
    assert.notEqual((await row('KILL-1'))!.submit_started_at, null, 'submit recorded before Publish');
    first.child.kill('SIGKILL');
    assert.equal((await first.exited).signal, 'SIGKILL');

    const second = worker();
    const done = await waitFor(
      'the job handed to resolution',
      async () => {
        const r = await row('KILL-1');
        return r?.status === 'completed_pending_id' ? r : undefined;
      },
      60_000,
    );
    assert.equal(done!.submit_outcome_unknown, true);
    assert.match(done!.error, /submit outcome unknown/);
    assert.equal(onVr('KILL-1').length, 1, 'never submitted twice');
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
  });

  test('SIGTERM during a job: the job finishes and the process exits 0', async () => {
    sim.setFaults({ hangNextSubmits: 0 });
    const slow = await startSimulator({
      port: 0,
      catalogRows: 10,
      seed: 4,
      submitLatencyMs: realMs(2_000),
      ...FAST_SITE,
    });
    try {
      await producer.enqueueListing({ productRef: 'TERM-1', brand: 'Gibson', model: 'SG', price: 1800 });
      const process = startCli(
        ['worker', 'create'],
        services.env({ VR_BASE_URL: slow.url, VR_USERNAME: 'demo', VR_PASSWORD: 'demo', LOG_LEVEL: 'info' }),
      );
      children.push(process);
      await waitFor(
        'the submit in flight',
        () =>
          slow.state('form').counters.formLoads >= 1 &&
          parseLogLines(process.output()).some(
            (l) => l.event === LOG_EVENT.jobStep && l.step === FORM_FILLED_STEP,
          ),
        60_000,
      );
      process.child.kill('SIGTERM');
      const exit = await process.exited;
      assert.equal(exit.code, 0, process.output());
      const r = await row('TERM-1');
      assert.equal(r!.status, 'completed_pending_id', 'the job finished before the exit');
      assert.equal(
        slow.state('form').listings.length,
        1,
        JSON.stringify(slow.state('form').counters) + process.output().slice(-3000),
      );
    } finally {
      await slow.close();
    }
  });

  // A failed submit's outcome is unknown: by default it goes to a person (faults-vr proves that).
  // Here the operator opted in to resubmitting, which must still list each item exactly once.
  test('30% of submits failing, RESUBMIT_UNKNOWN_AFTER_MS on: every listing ends up on V&R exactly once', async (t) => {
    const flaky = await startSimulator({
      port: 0,
      catalogRows: 20,
      seed: 5,
      submitFailRate: 0.3,
      indexDelayMs: realMs(100),
      ...FAST_SITE,
    });
    t.after(() => flaky.close());
    const config = services.config({
      FLUSH_SETTLE_MS: '300',
      RESOLUTION_BACKOFF_MS: '200',
      CREATE_BACKOFF_MS: '100',
      SWEEP_INTERVAL_MS: '600000',
      RESUBMIT_UNKNOWN_AFTER_MS: '1000',
    });
    const site = { baseUrl: flaky.url, username: 'demo', password: 'demo' };
    // Another V&R with ids of its own: what the earlier tests learnt about their sites' ids (the
    // baseline, a last known id above every id of this one) doesn't hold here.
    await services.database.sql`delete from vr_resolution_runs`;
    const creation = startCreationProcess({ config, site, logger: silentLogger });
    const resolution = startResolutionProcess({ config, site, logger: silentLogger });
    const refs = Array.from({ length: 8 }, (_, i) => `FLAKY-${i}`);
    try {
      await producer.enqueueListings(
        refs.map((productRef, i) => ({
          productRef,
          brand: 'Rickenbacker',
          model: `${330 + i}`,
          price: 1000 + i,
        })),
      );
      await waitFor(
        'every listing resolved',
        async () => {
          const rows = await services.database
            .sql`select status from vr_jobs where product_ref like 'FLAKY-%'`;
          return rows.length === refs.length && rows.every((r) => r.status === 'completed');
        },
        240_000,
      );
    } finally {
      await Promise.all([creation.stop(), resolution.stop()]);
    }
    const state = flaky.state('form');
    assert.ok(state.counters.failedSubmissions > 0, 'some submits failed');
    for (const ref of refs) {
      const listings = state.listings.filter((l) => l.product_description.includes(`Ref: ${ref}<`));
      assert.equal(listings.length, 1, `${ref} on V&R exactly once`);
      const [r] = await services.database
        .sql`select vr_listing_id::int as id from vr_jobs where product_ref = ${ref}`;
      assert.equal(r!.id, listings[0]!.product_id, `${ref} got its own id`);
    }
  });
});
