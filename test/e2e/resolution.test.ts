import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import type { Browser } from 'playwright-core';
import { type SimListing, type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { startCreationProcess } from '../../src/creation/main.ts';
import { silentLogger } from '../../src/logger.ts';
import type { Producer } from '../../src/producer/producer.ts';
import { RESOLVE_QUEUE } from '../../src/queues.ts';
import { startResolutionProcess } from '../../src/resolution/main.ts';
import { type FlushJobData, requestFlush } from '../../src/resolution/trigger.ts';
import { launchSessionChromium } from '../helpers/chromium.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';
import { FAST_SITE, realMs } from '../helpers/sim-timing.ts';

const FAST = {
  FLUSH_SETTLE_MS: '400',
  RESOLUTION_BACKOFF_MS: '300',
  CREATE_BACKOFF_MS: '200',
  SWEEP_INTERVAL_MS: '600000',
};

interface JobRow {
  id: number;
  product_ref: string;
  status: string;
  vr_listing_id: number | null;
  error: string | null;
  payload: {
    candidates?: number[];
    reviewKind?: string;
    candidateDetails?: { id: number; brand: string; model: string; price: number | null }[];
  };
  submitted_at: Date | null;
}

/** A listing made by a person on V&R's own form, outside vr-lister. */
async function createByHand(
  sim: Simulator,
  fields: {
    brand: string;
    model: string;
    price: number;
    description: string;
    year?: number;
    finish?: string;
  },
) {
  // Through the simulator's test route: behind its Cloudflare gate, V&R's own form answers browsers only.
  const response = await fetch(`${sim.url}/__sim/listings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      brand_name: fields.brand,
      product_model_name: fields.model,
      product_price: fields.price,
      product_description: fields.description,
      ...(fields.year ? { product_year: String(fields.year) } : {}),
      ...(fields.finish ? { product_finish: fields.finish } : {}),
    }),
  });
  assert.equal(response.status, 200);
  return ((await response.json()) as { product_id: number }).product_id;
}

/** Two Strats a person lists meanwhile: same brand and model as ours, their own descriptions. */
async function createTwoHandMadeStrats(sim: Simulator): Promise<number[]> {
  const ids: number[] = [];
  for (const n of [1, 2]) {
    const description = `<p>My own strat ${n}</p>`;
    ids.push(await createByHand(sim, { brand: 'Fender', model: 'Stratocaster', price: 1500, description }));
  }
  return ids;
}

function scenario(prefix: string) {
  const identicalDescription = '<p>Player grade, refret 2019.</p>\n<p>Ships in a gig bag.</p>';
  const listings: Record<string, unknown>[] = [];
  for (let i = 0; i < 8; i += 1) {
    listings.push({
      productRef: `${prefix}-SAME-${i}`,
      brand: 'Fender',
      model: 'Stratocaster',
      price: 1500,
      description: identicalDescription,
    });
  }
  const brandSpellings = ['Gibson', 'gibson', ' GIB SON '];
  brandSpellings.forEach((brand, i) => {
    listings.push({
      productRef: `${prefix}-CASE-${i}`,
      brand: brand.trim() === 'GIB SON' ? 'GIBSON' : brand,
      model: 'Les Paul Standard',
      price: 3000 + i,
      description: `<p>Les Paul number ${i}</p>`,
    });
  });
  // One of each brand: more of them only made more form fills (23 listings, then 15).
  for (let i = 0; i < 4; i += 1) {
    listings.push({
      productRef: `${prefix}-UNIQUE-${i}`,
      brand: ['Martin', 'Gretsch', 'Rickenbacker', 'Guild'][i % 4],
      model: `Model ${i}`,
      price: 700 + i * 10,
      year: 1960 + i,
      finish: i % 2 ? 'Sunburst' : 'Natural',
      description: `<p>Unique instrument ${i}</p>`,
    });
  }
  return { listings, identicalDescription };
}

describe('resolution', () => {
  let services: TestServices;
  let sim: Simulator;
  let producer: Producer;
  // One Chromium for the file: each worker a context of its own in it, as the faults tests do.
  let browser: Browser;

  before(async () => {
    services = await setupServices();
    browser = await launchSessionChromium();
    sim = await startSimulator({
      port: 0,
      catalogRows: 300,
      seed: 11,
      indexDelayMs: realMs(150),
      ...FAST_SITE,
    });
    producer = services.producer();
  });

  after(async () => {
    await browser?.close();
    await sim.close();
    await services.cleanup();
  });

  function startWorkers(overrides: Record<string, string> = {}) {
    const config = services.config({ ...FAST, ...overrides });
    const site = { baseUrl: sim.url, username: 'demo', password: 'demo' };
    const creation = startCreationProcess({ config, site, logger: silentLogger, browser });
    const resolution = startResolutionProcess({ config, site, logger: silentLogger, browser });
    return { stop: () => Promise.all([creation.stop(), resolution.stop()]) };
  }

  async function jobs(prefix: string): Promise<JobRow[]> {
    return services.database.sql<JobRow[]>`
      select id::int, product_ref, status, vr_listing_id::int, error, payload, submitted_at
      from vr_jobs where product_ref like ${`${prefix}-%`} order by submitted_at, id`;
  }

  const settled = (rows: JobRow[]) =>
    rows.every((r) => ['completed', 'failed', 'needs_review'].includes(r.status));

  /** Our listings on the simulator in id order, hand-made ones left out. */
  function ours(since: number, handMade: number[]): SimListing[] {
    return sim
      .state('form')
      .listings.filter((l) => l.product_id > since && !handMade.includes(l.product_id))
      .sort((a, b) => a.product_id - b.product_id);
  }

  test('marker on: 15 listings, a batch and a drain, each get exactly their own id; hand-made listings are never taken', async () => {
    const { listings } = scenario('MK');
    const since = Math.max(0, ...sim.state('form').listings.map((l) => l.product_id));
    const exportsBefore = sim.state().counters.exports;
    await producer.enqueueListings(listings);
    const workers = startWorkers();
    const handMade: number[] = [];
    try {
      await waitFor('5 submitted', async () => (await jobs('MK')).filter((j) => j.submitted_at).length >= 5);
      handMade.push(...(await createTwoHandMadeStrats(sim)));
      await waitFor('every job settled', async () => settled(await jobs('MK')), 120_000);
    } finally {
      await workers.stop();
    }
    const rows = await jobs('MK');
    const onVr = ours(since, handMade);
    assert.equal(onVr.length, listings.length, 'each listing on V&R exactly once');
    for (const row of rows) {
      assert.equal(row.status, 'completed', `${row.product_ref}: ${row.error}`);
      const listing = onVr.find((l) => l.product_id === row.vr_listing_id);
      assert.ok(listing, `${row.product_ref} got a listing of ours`);
      assert.ok(
        listing.product_description.includes(`Ref: ${row.product_ref}<`),
        `${row.product_ref} got its own listing`,
      );
    }
    for (const id of handMade)
      assert.ok(!rows.some((r) => r.vr_listing_id === id), `hand-made ${id} not taken`);
    const exports = sim.state().counters.exports - exportsBefore;
    const runs = await services.database.sql<{ trigger: string; pending_at_start: number }[]>`
      select trigger, pending_at_start from vr_resolution_runs order by id`;
    // The install's baseline, then one export per ten listings and the drain's for the rest.
    assert.ok(
      exports <= 1 + Math.ceil(listings.length / 10),
      `${exports} exports for ${listings.length} listings: ${runs.map((r) => `${r.trigger}(${r.pending_at_start})`).join(', ')}`,
    );
  });

  test('marker off: resolved wherever the evidence separates them; an indistinguishable one goes to review', async () => {
    const { listings } = scenario('NM');
    const since = Math.max(0, ...sim.state('form').listings.map((l) => l.product_id));
    await producer.enqueueListings(listings);
    // Resolution starts only after every submit, so no export has yet shown the hand-made
    // listings to be older than ours: only the evidence can tell them apart.
    const config = services.config({ ...FAST, VR_REF_MARKER: 'off' });
    const site = { baseUrl: sim.url, username: 'demo', password: 'demo' };
    const creation = startCreationProcess({ config, site, logger: silentLogger, browser });
    const handMade: number[] = [];
    try {
      await waitFor('5 submitted', async () => (await jobs('NM')).filter((j) => j.submitted_at).length >= 5);
      handMade.push(...(await createTwoHandMadeStrats(sim)));
      // A person copies one of our listings word for word: nothing can tell them apart.
      handMade.push(
        await createByHand(sim, {
          brand: 'Martin',
          model: 'Model 0',
          price: 700,
          year: 1960,
          finish: 'Natural',
          description: '<p>Unique instrument 0</p>',
        }),
      );
      await waitFor('all submitted', async () => (await jobs('NM')).every((j) => j.submitted_at), 120_000);
    } finally {
      await creation.stop();
    }
    const resolution = startResolutionProcess({ config, site, logger: silentLogger, browser });
    try {
      await waitFor('every job settled', async () => settled(await jobs('NM')), 120_000);
    } finally {
      await resolution.stop();
    }
    const rows = await jobs('NM');
    const onVr = ours(since, handMade);
    assert.equal(onVr.length, listings.length);
    // One worker creates in order, so the n-th submitted job owns the n-th of our listings.
    rows.forEach((row, index) => {
      if (row.product_ref === 'NM-UNIQUE-0') {
        assert.equal(row.status, 'needs_review', `${row.product_ref}: ${row.error}`);
        assert.equal(row.vr_listing_id, null);
        assert.deepEqual(
          [...(row.payload.candidates ?? [])].sort(),
          [onVr[index]!.product_id, handMade[2]!].sort(),
        );
        assert.match(row.error!, /candidates/);
        // What the export showed of each candidate, kept for the person who decides (vr-lister review).
        assert.equal(row.payload.reviewKind, 'ambiguous');
        assert.deepEqual(
          row.payload.candidateDetails?.map((d) => d.id).sort(),
          [...(row.payload.candidates ?? [])].sort(),
        );
        for (const detail of row.payload.candidateDetails ?? [])
          assert.ok(detail.brand && detail.model, JSON.stringify(detail));
        return;
      }
      assert.equal(row.status, 'completed', `${row.product_ref}: ${row.error}`);
      assert.equal(row.vr_listing_id, onVr[index]!.product_id, `${row.product_ref} got its own listing`);
    });
    for (const id of handMade) assert.ok(!rows.some((r) => r.vr_listing_id === id));
  });

  test('indexing slower than the first flush: found by a later one; never indexed: failed after 3 tries', async () => {
    sim.setFaults({ indexDelayMs: realMs(1_500) });
    await producer.enqueueListings([{ productRef: 'SLOW-1', brand: 'Vox', model: 'AC15', price: 600 }]);
    const workers = startWorkers();
    try {
      await waitFor('SLOW-1 settled', async () => settled(await jobs('SLOW')), 60_000);
      sim.setFaults({ indexDelayMs: realMs(150), neverIndexNext: 1 });
      await producer.enqueueListings([{ productRef: 'NEVER-1', brand: 'Vox', model: 'AC4', price: 300 }]);
      await waitFor('NEVER-1 settled', async () => settled(await jobs('NEVER')), 60_000);
    } finally {
      await workers.stop();
    }
    const [slow] = await jobs('SLOW');
    assert.equal(slow!.status, 'completed');
    const [never] = await jobs('NEVER');
    assert.equal(never!.status, 'failed');
    assert.equal(never!.error, 'not found in the V&R export after 3 attempts');
    const runs = await services.database
      .sql`select count(*)::int as n from vr_resolution_runs where error is null`;
    assert.ok(runs[0]!.n >= 4);
  });

  test('a trigger during a running flush produces exactly one more flush, and nothing is left pending', async (t) => {
    sim.setFaults({ indexDelayMs: 0 });
    const config = services.config({ ...FAST, FLUSH_SETTLE_MS: '0' });
    const site = { baseUrl: sim.url, username: 'demo', password: 'demo' };
    const creation = startCreationProcess({ config, site, logger: silentLogger, browser });
    t.after(() => creation.stop()); // stop() runs once: also when the test fails before it
    await producer.enqueueListings([
      { productRef: 'TRIG-1', brand: 'Epiphone', model: 'Casino', price: 900 },
    ]);
    await waitFor('submitted', async () => (await jobs('TRIG'))[0]?.submitted_at);
    await creation.stop();
    const queue = new Queue<FlushJobData>(RESOLVE_QUEUE, {
      connection: services.redis,
      prefix: services.queuePrefix,
    });
    t.after(() => queue.close());
    // Drain whatever the creation worker scheduled, then make the next download slow.
    await queue.obliterate({ force: true });
    sim.setFaults({ exportLatencyMs: realMs(1_500) });
    const resolution = startResolutionProcess({ config, site, logger: silentLogger, browser });
    try {
      await requestFlush(queue, 'first');
      await waitFor('a flush running', async () => (await queue.getJobCounts('active')).active === 1);
      for (const reason of ['second', 'third', 'fourth']) await requestFlush(queue, reason);
      await waitFor('flushes done', async () => {
        const open = await queue.getJobs(['active', 'waiting', 'delayed', 'prioritized']);
        return open.every((job) => job.name !== 'flush');
      });
    } finally {
      sim.setFaults({ exportLatencyMs: 0 });
      await resolution.stop();
    }
    const flushes = (await queue.getJobs(['completed']))
      .filter((job) => job.name === 'flush' && job.data.reason !== 'retry')
      .sort((a, b) => a.timestamp - b.timestamp)
      .map((job) => job.data.reason);
    assert.deepEqual(flushes, ['first', 'fourth'], 'one more flush, carrying the latest request');
    const [row] = await jobs('TRIG');
    assert.equal(row!.status, 'completed');
  });
});
