import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { startCreationProcess } from '../../src/creation/main.ts';
import type { JobPayload } from '../../src/db/schema.ts';
import { descriptionText } from '../../src/listing/normalize.ts';
import { silentLogger } from '../../src/logger.ts';
import type { Producer } from '../../src/producer/producer.ts';
import { CREATE_QUEUE } from '../../src/queues.ts';
import { type PhotoServer, startPhotoServer } from '../helpers/photo-server.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';
import { FAST_SITE } from '../helpers/sim-timing.ts';

describe('creation worker', () => {
  let services: TestServices;
  let sim: Simulator;
  let producer: Producer;
  let queue: Queue;
  let photos: PhotoServer;

  before(async () => {
    services = await setupServices();
    sim = await startSimulator({ port: 0, catalogRows: 50, seed: 7, ...FAST_SITE });
    photos = await startPhotoServer();
    producer = services.producer();
    queue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
  });

  after(async () => {
    await queue.close();
    await sim.close();
    await photos.close();
    await services.cleanup();
  });

  function start(overrides: Record<string, string> = {}) {
    const config = services.config({
      CREATE_BACKOFF_MS: '200',
      IMAGE_ALLOW_HOSTS: '127.0.0.1',
      ...overrides,
    });
    return startCreationProcess({
      config,
      site: { baseUrl: sim.url, username: 'demo', password: 'demo' },
      logger: silentLogger,
    });
  }

  async function rows(refPrefix: string) {
    return services.database.sql<
      {
        product_ref: string;
        status: string;
        error: string | null;
        payload: JobPayload;
        submit_outcome_unknown: boolean;
      }[]
    >`select * from vr_jobs where product_ref like ${`${refPrefix}%`} order by id`;
  }

  const formListings = (prefix: string) =>
    sim.state('form').listings.filter((l) => l.product_description.includes(`Ref: ${prefix}`));

  test('5 listings: each on V&R once with every field as submitted, one login, criteria stored', async () => {
    const listings = [
      {
        productRef: 'FIVE-1',
        brand: 'Fender',
        model: 'Stratocaster',
        price: 1299,
        year: 1962,
        finish: 'Sunburst',
        description: '<p>Clean <strong>1962</strong> Strat, all original.</p>',
        category: 'Guitars > Electric solid body',
      },
      {
        productRef: 'FIVE-2',
        brand: 'gibson',
        model: "'59 Les Paul",
        price: 250000,
        year: 1959,
        finish: 'Cherry Sunburst',
        description: '<p>The real thing.</p><ul><li>Case</li></ul>',
      },
      {
        productRef: 'FIVE-3',
        brand: 'Vox',
        model: 'AC30',
        price: 900,
        category: 'Amps>Combo',
        images: [`${photos.url}/small.jpg`],
      },
      { productRef: 'FIVE-4', brand: 'Marshall', model: 'JTM45', price: 4000, year: 1965, finish: 'Black' },
      {
        productRef: 'FIVE-5',
        brand: 'Gretsch',
        model: 'White Falcon',
        price: 8000,
        description: 'Plain text, no tags, "quotes" & ampersands',
      },
    ];
    await producer.enqueueListings(listings);
    const before = sim.state('form').counters;
    const worker = start();
    try {
      await waitFor('5 rows pending their id', async () =>
        (await rows('FIVE-')).every((r) => r.status === 'completed_pending_id'),
      );
    } finally {
      await worker.stop();
    }
    const after = sim.state('form');
    assert.equal(after.counters.logins - before.logins, 1, 'a single login for the batch');
    const created = formListings('FIVE-');
    assert.equal(created.length, 5, 'each listing exactly once');
    for (const listing of listings) {
      const [onVr, ...more] = created.filter((l) =>
        l.product_description.includes(`Ref: ${listing.productRef}<`),
      );
      assert.ok(onVr, `${listing.productRef} is on V&R`);
      assert.equal(more.length, 0);
      assert.equal(onVr.brand_name.toLowerCase(), listing.brand.toLowerCase());
      assert.equal(onVr.product_model_name, listing.model);
      assert.equal(Number(onVr.product_price), listing.price);
      assert.equal(String(onVr.product_year ?? ''), String(listing.year ?? ''));
      assert.equal(onVr.product_finish ?? '', listing.finish ?? '');
      if (listing.description) {
        assert.ok(descriptionText(onVr.product_description).startsWith(descriptionText(listing.description)));
      }
    }
    const three = created.find((l) => l.product_description.includes('Ref: FIVE-3<'))!;
    assert.equal(three.category_name, 'Amps>Combo');
    assert.equal(three.image_names.length, 1);
    assert.equal(
      created.find((l) => l.product_description.includes('Ref: FIVE-1<'))!.category_name,
      'Guitars>Electric solid body',
    );
    for (const row of await rows('FIVE-')) {
      const criteria = row.payload.matchCriteria;
      assert.ok(criteria, `${row.product_ref} has match criteria`);
      assert.equal(criteria.marker, `Ref: ${row.product_ref}`);
      assert.equal(typeof criteria.lastKnownId, 'number');
      assert.match(criteria.descriptionHash ?? '', /^[0-9a-f]{40}$/);
      assert.equal(row.error, null);
    }
  });

  test('the session expires mid-batch: the worker logs in again, nothing fails, nothing twice', async () => {
    const listings = Array.from({ length: 4 }, (_, i) => ({
      productRef: `EXP-${i}`,
      brand: 'Ibanez',
      model: `RG${i}`,
      price: 500 + i,
    }));
    const worker = start();
    try {
      await producer.enqueueListings(listings.slice(0, 2));
      await waitFor(
        'first two submitted',
        async () => (await rows('EXP-')).filter((r) => r.status === 'completed_pending_id').length === 2,
      );
      const logins = sim.state('form').counters.logins;
      await fetch(`${sim.url}/__sim/expire-sessions`, { method: 'POST' });
      await producer.enqueueListings(listings.slice(2));
      await waitFor('all four submitted', async () =>
        (await rows('EXP-')).every((r) => r.status === 'completed_pending_id'),
      );
      assert.equal(sim.state('form').counters.logins, logins + 1, 'logged in again once');
    } finally {
      await worker.stop();
    }
    assert.equal(formListings('EXP-').length, 4);
  });

  test('an unknown brand fails at once, naming the brand, with nothing submitted', async () => {
    const submissions = sim.state('form').counters.submissions;
    const [job] = await producer.enqueueListings([
      { productRef: 'BRAND-1', brand: 'Nonexistent Guitar Co', model: 'X', price: 100 },
    ]);
    const worker = start();
    try {
      await waitFor('the job failed', async () => (await rows('BRAND-1'))[0]?.status === 'failed');
    } finally {
      await worker.stop();
    }
    const [row] = await rows('BRAND-1');
    assert.match(row!.error!, /unknown brand on V&R: "Nonexistent Guitar Co"/);
    assert.equal(sim.state('form').counters.submissions, submissions);
    const bull = await queue.getJob(`listing-${job!.id}-0`);
    assert.equal(await bull!.getState(), 'failed');
    assert.equal(bull!.attemptsMade, 1, 'a definite failure is not retried');
  });

  test('a crashed browser is relaunched and the next listing goes through', async () => {
    const worker = start();
    try {
      await producer.enqueueListings([
        { productRef: 'CRASH-1', brand: 'Martin', model: 'D-18', price: 2000 },
      ]);
      await waitFor(
        'first listed',
        async () => (await rows('CRASH-1'))[0]?.status === 'completed_pending_id',
      );
      // Kill the Chromium this test process launched (its direct children), as a crash would.
      const { stdout } = await promisify(execFile)('pgrep', ['-P', String(process.pid)]).catch(() => ({
        stdout: '',
      }));
      const pids = stdout.split('\n').filter(Boolean).map(Number);
      assert.ok(pids.length > 0, 'Chromium was running');
      for (const pid of pids) process.kill(pid, 'SIGKILL');
      await producer.enqueueListings([
        { productRef: 'CRASH-2', brand: 'Martin', model: 'D-28', price: 2500 },
      ]);
      await waitFor(
        'second listed',
        async () => (await rows('CRASH-2'))[0]?.status === 'completed_pending_id',
      );
    } finally {
      await worker.stop();
    }
    assert.equal(formListings('CRASH-1').length, 1);
    assert.equal(formListings('CRASH-2').length, 1);
  });

  test('a stored category that is no leaf (an older row) fails naming it, with nothing submitted', async () => {
    const [job] = await producer.enqueueListings([
      { productRef: 'CAT-1', brand: 'Fender', model: 'X', price: 100 },
    ]);
    await services.database.sql`
      update vr_jobs set payload = jsonb_set(payload, '{listing,category}', '"Guitars>Archtop"')
      where product_ref = 'CAT-1'`;
    const submissions = sim.state('form').counters.submissions;
    const worker = start();
    try {
      await waitFor('the job failed', async () => (await rows('CAT-1'))[0]?.status === 'failed');
    } finally {
      await worker.stop();
    }
    const [row] = await rows('CAT-1');
    assert.match(row!.error!, /category is not a leaf category: choose one of Guitars>Archtop>Acoustic/);
    assert.equal(sim.state('form').counters.submissions, submissions);
    assert.ok(job);
  });

  test('a submit that hangs after creating the listing: outcome unknown, never submitted twice', async () => {
    sim.setFaults({ hangNextSubmits: 1 });
    await producer.enqueueListings([{ productRef: 'HANG-1', brand: 'Guild', model: 'D-55', price: 3000 }]);
    const worker = start({ VR_SUBMIT_TIMEOUT_MS: '2000' });
    try {
      await waitFor('pending', async () => (await rows('HANG-1'))[0]?.status === 'completed_pending_id');
    } finally {
      await worker.stop();
    }
    const [row] = await rows('HANG-1');
    assert.equal(row!.submit_outcome_unknown, true);
    assert.match(row!.error!, /submit outcome unknown/);
    assert.equal(formListings('HANG-1').length, 1);
  });
});
