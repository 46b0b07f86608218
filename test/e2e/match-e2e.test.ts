import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import type { Producer } from '../../src/producer/producer.ts';
import { RESOLVE_QUEUE } from '../../src/queues.ts';
import { type FlushJobData, requestFlush } from '../../src/resolution/trigger.ts';
import { type CliProcess, startCli } from '../helpers/cli.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';

/**
 * Issue 11, end to end with real worker processes: the reference marker off, identical look-alikes
 * made by hand on V&R before vr-lister first starts and while it runs, and a flush that races V&R's
 * indexing delay. No job may end with an id that isn't its own listing's.
 */

// Wide enough that the racing flush (started the moment the second amp is submitted) requests its
// export inside it on a loaded machine: at 400 ms it once came too late, and the race didn't happen.
const INDEX_DELAY_MS = 2_000;
const PEDAL = {
  brand: 'Fender',
  model: 'Blender Fuzz',
  price: 450,
  year: 1998,
  finish: 'Silver',
  description: '<p>Reissue fuzz, boxed.</p>',
};
const AMP = { ...PEDAL, model: 'Blues Junior', price: 600, description: '<p>Tube amp, 15 W.</p>' };

interface Row {
  product_ref: string;
  status: string;
  vr_listing_id: number | null;
  error: string | null;
  candidates: number[] | null;
  submit_started_at: Date | string;
  submitted_at: Date | string;
}

/** postgres.js may hand timestamps over as text here: milliseconds either way. */
const ms = (value: Date | string) => new Date(value).getTime();

interface SimRow {
  product_id: number;
  product_model_name: string;
  created_at: string;
  source: string;
}

async function makeByHand(sim: Simulator, item: typeof PEDAL): Promise<number> {
  const response = await fetch(`${sim.url}/__sim/listings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      brand_name: item.brand,
      product_model_name: item.model,
      product_description: item.description,
      product_price: item.price,
      product_year: String(item.year),
      product_finish: item.finish,
      category_name: 'Effects>Fuzz',
    }),
  });
  assert.equal(response.status, 200);
  return ((await response.json()) as { product_id: number }).product_id;
}

describe('marker off: identical look-alikes and a flush racing the indexing delay', () => {
  let services: TestServices;
  let sim: Simulator;
  let producer: Producer;
  let resolveQueue: Queue<FlushJobData>;
  const children: CliProcess[] = [];

  before(async () => {
    services = await setupServices();
    sim = await startSimulator({ port: 0, catalogRows: 200, seed: 111, indexDelayMs: INDEX_DELAY_MS });
    producer = services.producer();
    resolveQueue = new Queue(RESOLVE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
  });

  after(async () => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    await resolveQueue.close();
    await sim.close();
    await services.cleanup();
  });

  test('0 wrong ids: the baseline separates the old look-alike, the new one sends its group to review', async () => {
    // On the shop before vr-lister first runs: a hand-made twin of the pedal.
    const oldTwin = await makeByHand(sim, PEDAL);
    await waitFor('the hand-made pedal in the export', () =>
      sim.state().listings.some((l) => l.product_id === oldTwin && l.visible_in_export),
    );

    const refs = ['PEDAL-1', 'PEDAL-2', 'PEDAL-3', 'AMP-1', 'AMP-2', 'OTHER-1', 'OTHER-2'];
    await producer.enqueueListings([
      ...['PEDAL-1', 'PEDAL-2', 'PEDAL-3'].map((productRef) => ({ productRef, ...PEDAL })),
      ...['AMP-1', 'AMP-2'].map((productRef) => ({ productRef, ...AMP })),
      { productRef: 'OTHER-1', brand: 'Gibson', model: 'SG Junior', price: 1300 },
      { productRef: 'OTHER-2', brand: 'Gibson', model: 'ES-335', price: 3300 },
    ]);
    const env = services.env({
      VR_BASE_URL: sim.url,
      VR_USERNAME: 'demo',
      VR_PASSWORD: 'demo',
      VR_REF_MARKER: 'off',
      // The allowance covers the indexing delay. A batch flush now waits out the newest listing's
      // allowance, so it no longer races on its own: the test starts the racing flush itself.
      FLUSH_SETTLE_MS: String(INDEX_DELAY_MS + 200),
      MAX_BATCH_SIZE: '10',
      RESOLUTION_BACKOFF_MS: '300',
      CREATE_BACKOFF_MS: '200',
      SWEEP_INTERVAL_MS: '600000',
      // No read-back jobs on the resolution queue: the racing flush below must start at once.
      VERIFY_LISTINGS: 'off',
      LOG_LEVEL: 'info',
    });
    const creation = startCli(['worker', 'create'], env);
    const resolution = startCli(['worker', 'resolve'], env);
    children.push(creation, resolution);

    const status = async (ref: string) =>
      (await services.database.sql`select status from vr_jobs where product_ref = ${ref}`)[0]?.status;
    // While vr-lister runs: a hand-made twin of the amp, after the baseline, before our amps.
    await waitFor(
      'the first pedal submitted',
      async () => (await status('PEDAL-1')) === 'completed_pending_id',
      120_000,
    );
    const newTwin = await makeByHand(sim, AMP);
    // A flush the moment our second amp is submitted: V&R hasn't indexed it yet.
    const deadline = Date.now() + 120_000;
    // Polled tighter than waitFor does: the flush must start within the indexing delay.
    while ((await status('AMP-2')) !== 'completed_pending_id') {
      assert.ok(Date.now() < deadline, 'timed out waiting for the second amp to be submitted');
      await new Promise((r) => setTimeout(r, 10));
    }
    await requestFlush(resolveQueue, 'racing the indexing delay');

    await waitFor(
      'every job settled',
      async () => {
        const [row] = await services.database.sql`
          select count(*) filter (where status in ('completed', 'needs_review'))::int as n from vr_jobs`;
        return row!.n === refs.length;
      },
      180_000,
    );

    const rows = await services.database.sql<Row[]>`
      select product_ref, status, vr_listing_id::int, error, payload->'candidates' as candidates,
        submit_started_at, submitted_at
      from vr_jobs order by submit_started_at`;
    const state = (await (await fetch(`${sim.url}/__sim/state`)).json()) as { listings: SimRow[] };
    // Each job's own listing: the one V&R created while its Publish was in flight (one at a time).
    const ours = state.listings.filter((l) => l.source === 'form');
    assert.equal(ours.length, refs.length, 'each listing submitted once');
    const own = new Map<string, number>();
    for (const row of rows) {
      const made = ours.filter((l) => {
        const at = Date.parse(l.created_at);
        return at >= ms(row.submit_started_at) && at <= ms(row.submitted_at);
      });
      assert.equal(made.length, 1, `${row.product_ref}: one listing made during its submit`);
      own.set(row.product_ref, made[0]!.product_id);
    }

    // Never a wrong id.
    for (const row of rows) {
      if (row.vr_listing_id !== null)
        assert.equal(row.vr_listing_id, own.get(row.product_ref), row.product_ref);
    }
    const byRef = new Map(rows.map((r) => [r.product_ref, r]));
    // The baseline puts the old twin below every pedal's last known id: the pedals are told apart.
    for (const ref of ['PEDAL-1', 'PEDAL-2', 'PEDAL-3', 'OTHER-1', 'OTHER-2']) {
      const row = byRef.get(ref)!;
      assert.equal(row.status, 'completed', `${ref}: ${row.error}`);
    }
    // The new twin can't be told from our amps: both go to review, naming it and their own listing.
    for (const ref of ['AMP-1', 'AMP-2']) {
      const row = byRef.get(ref)!;
      assert.equal(row.status, 'needs_review', ref);
      assert.equal(row.vr_listing_id, null);
      assert.ok(row.candidates?.includes(newTwin), `${ref} names the hand-made amp: ${row.error}`);
      assert.ok(row.candidates?.includes(own.get(ref)!), `${ref} names its own listing: ${row.error}`);
      assert.match(row.error ?? '', /cannot tell which V&R listing is ours/);
    }
    assert.ok(!rows.some((r) => r.vr_listing_id === oldTwin || r.vr_listing_id === newTwin));

    // The baseline was taken once, before the first submit, and the race did happen: an export
    // requested while our second amp was pending and not yet indexed.
    const runs = await services.database.sql<{ kind: string; export_requested_at: Date | string }[]>`
      select kind, export_requested_at from vr_resolution_runs order by id`;
    assert.equal(runs.filter((r) => r.kind === 'baseline').length, 1);
    assert.equal(runs[0]!.kind, 'baseline');
    assert.ok(ms(runs[0]!.export_requested_at) < ms(rows[0]!.submit_started_at));
    const amp2 = byRef.get('AMP-2')!;
    assert.ok(
      runs.some(
        (r) =>
          r.kind === 'flush' &&
          ms(r.export_requested_at) > ms(amp2.submitted_at) &&
          ms(r.export_requested_at) < ms(amp2.submitted_at) + INDEX_DELAY_MS,
      ),
      'a flush raced the indexing of the second amp',
    );

    for (const process of [creation, resolution]) process.child.kill('SIGTERM');
    for (const process of [creation, resolution]) {
      assert.equal((await process.exited).code, 0, process.output().slice(-3000));
    }
  });
});
