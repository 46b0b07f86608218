import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import { vrJobs, vrProductLinks } from '../../src/db/schema.ts';
import { LIMITS, ValidationError } from '../../src/listing/listing.ts';
import {
  AlreadyListedError,
  createProducer,
  type Producer,
  QueueUnavailableError,
} from '../../src/producer/producer.ts';
import { CREATE_QUEUE } from '../../src/queues.ts';
import { setupServices, TEST_LISTING_DEFAULTS, type TestServices } from '../helpers/services.ts';

const good = (ref: string, extra: Record<string, unknown> = {}) => ({
  productRef: ref,
  brand: 'Fender',
  model: 'Stratocaster',
  price: 1299,
  ...extra,
});

describe('producer', () => {
  let services: TestServices;
  let producer: Producer;
  let queue: Queue;

  before(async () => {
    services = await setupServices();
    producer = services.producer();
    queue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
  });

  after(async () => {
    await producer.close();
    await producer.close(); // safe twice, and again in cleanup
    await queue.close();
    await services.cleanup();
  });

  async function rowCount(): Promise<number> {
    const [row] = await services.database.db.select({ n: sql<number>`count(*)::int` }).from(vrJobs);
    return row!.n;
  }

  test('migrations created the tables on a fresh database', async () => {
    const tables = await services.database.sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
    assert.deepEqual(
      tables.map((t) => t.table_name),
      [
        'vr_actions',
        'vr_job_events',
        'vr_jobs',
        'vr_product_links',
        'vr_resolution_runs',
        'vr_sessions',
        'vr_site_facts',
        'vr_site_trust',
        'vr_webhook_deliveries',
      ],
    );
  });

  test('one listing: a queued row and a BullMQ job pointing at it', async () => {
    const job = await producer.enqueueListing(good('SINGLE-1', { description: '<p>Nice</p>', year: 1962 }));
    assert.equal(job.created, true);
    assert.equal(job.status, 'queued');
    const [row] = await services.database.sql`select * from vr_jobs where id = ${job.id}`;
    assert.equal(row!.product_ref, 'SINGLE-1');
    assert.equal(row!.payload.listing.year, 1962);
    const bull = await queue.getJob(`listing-${job.id}-0`);
    assert.ok(bull, 'the BullMQ job exists');
    assert.deepEqual(bull.data, { rowId: job.id, productRef: 'SINGLE-1' });
  });

  test('a second enqueue of the same product returns the same job', async () => {
    const first = await producer.enqueueListing(good('DUP-1'));
    const second = await producer.enqueueListing(good('DUP-1', { price: 999 }));
    assert.equal(second.id, first.id);
    assert.equal(second.created, false);
    const [row] = await services.database
      .sql`select count(*)::int as n from vr_jobs where product_ref = 'DUP-1'`;
    assert.equal(row!.n, 1);
  });

  test('1,000 listings in bulk: rows and BullMQ jobs agree one for one', async () => {
    const listings = Array.from({ length: 1000 }, (_, i) => good(`BULK-${i}`, { price: 100 + i }));
    const jobs = await producer.enqueueListings(listings);
    assert.equal(jobs.length, 1000);
    assert.ok(jobs.every((j) => j.created));
    const rows = await services.database.sql<{ id: number; product_ref: string }[]>`
      select id::int, product_ref from vr_jobs where product_ref like 'BULK-%' order by id`;
    assert.equal(rows.length, 1000);
    const bullJobs = await queue.getJobs(['waiting', 'delayed', 'prioritized'], 0, -1);
    const bullByRow = new Map(bullJobs.map((j) => [j.data.rowId as number, j]));
    for (const row of rows) {
      const bull = bullByRow.get(row.id);
      assert.ok(bull, `job for row ${row.id}`);
      assert.equal(bull.id, `listing-${row.id}-0`);
      assert.equal(bull.data.productRef, row.product_ref);
    }
    // Re-enqueueing the same batch creates nothing new.
    const again = await producer.enqueueListings(listings);
    assert.ok(again.every((j, i) => !j.created && j.id === jobs[i]!.id));
    assert.equal((await queue.getJobs(['waiting', 'delayed', 'prioritized'], 0, -1)).length, bullJobs.length);
  });

  test('a product that already has a V&R id is refused, and nothing is written', async () => {
    await services.database.db.insert(vrProductLinks).values({ productRef: 'LISTED-1', vrListingId: 99001 });
    const before = await rowCount();
    await assert.rejects(producer.enqueueListing(good('LISTED-1')), (error: unknown) => {
      assert.ok(error instanceof AlreadyListedError);
      assert.match(error.message, /LISTED-1.*already on V&R as listing 99001/);
      return true;
    });
    assert.equal(await rowCount(), before);
  });

  const longString = 'x'.repeat(10 * 1024 * 1024);
  const badListings: [string, unknown, string][] = [
    ['not an object', 'hello', '(listing)'],
    ['null', null, '(listing)'],
    ['an array', [good('A')], '(listing)'],
    ['missing productRef', { brand: 'Fender', model: 'Strat', price: 10 }, 'productRef'],
    ['numeric productRef', good('x', { productRef: 123 }), 'productRef'],
    ['empty productRef', good(''), 'productRef'],
    ['productRef with spaces', good('A B'), 'productRef'],
    ['productRef too long', good('A'.repeat(LIMITS.productRef + 1)), 'productRef'],
    ['productRef with markup', good('<script>'), 'productRef'],
    ['missing brand', { productRef: 'A', model: 'Strat', price: 10 }, 'brand'],
    ['empty brand', good('A', { brand: '   ' }), 'brand'],
    ['brand as number', good('A', { brand: 42 }), 'brand'],
    ['10 MB brand', good('A', { brand: longString }), 'brand'],
    ['missing model', { productRef: 'A', brand: 'Fender', price: 10 }, 'model'],
    ['empty model', good('A', { model: '' }), 'model'],
    ['model with a newline', good('A', { model: 'Strat\nocaster' }), 'model'],
    ['missing price', { productRef: 'A', brand: 'Fender', model: 'Strat' }, 'price'],
    ['price as string', good('A', { price: '1299' }), 'price'],
    ['negative price', good('A', { price: -5 }), 'price'],
    ['zero price', good('A', { price: 0 }), 'price'],
    ['absurd price', good('A', { price: 1e12 }), 'price'],
    ['fractional price', good('A', { price: 12.5 }), 'price'],
    ['NaN price', good('A', { price: Number.NaN }), 'price'],
    ['infinite price', good('A', { price: Number.POSITIVE_INFINITY }), 'price'],
    ['unknown currency', good('A', { currency: 'XYZ' }), 'currency'],
    ['year too early', good('A', { year: 1066 }), 'year'],
    ['year in the future', good('A', { year: 3000 }), 'year'],
    ['year as text', good('A', { year: 'sixties' }), 'year'],
    ['10 MB description', good('A', { description: longString }), 'description'],
    ['description with NUL', good('A', { description: 'a\u0000b' }), 'description'],
    ['lone surrogate in model', good('A', { model: 'Strat \uD800' }), 'model'],
    ['lone low surrogate in finish', good('A', { finish: '\uDC00red' }), 'finish'],
    ['images not an array', good('A', { images: 'http://x/a.jpg' }), 'images'],
    ['image not a URL', good('A', { images: ['file:///etc/passwd'] }), 'images.0'],
    [
      'too many images',
      good('A', { images: Array.from({ length: 21 }, (_, i) => `http://x/${i}.jpg`) }),
      'images',
    ],
    ['allowFallbackBrand as string', good('A', { allowFallbackBrand: 'yes' }), 'allowFallbackBrand'],
    ['unknown extra field', good('A', { colour: 'red' }), 'colour'],
    ['category with an empty level', good('A', { category: 'Guitars>>Solid' }), 'category'],
  ];

  for (const [name, listing, field] of badListings) {
    test(`rejects ${name}, naming ${field}, and writes nothing`, async () => {
      const before = await rowCount();
      const waiting = await queue.getJobCounts();
      await assert.rejects(producer.enqueueListing(listing), (error: unknown) => {
        assert.ok(error instanceof ValidationError, `ValidationError, got ${String(error)}`);
        assert.ok(
          error.errors.some((e) => e.field === field),
          `field ${field} named in ${JSON.stringify(error.errors)}`,
        );
        assert.ok(error.errors.every((e) => e.message.length > 0));
        return true;
      });
      assert.equal(await rowCount(), before);
      assert.deepEqual(await queue.getJobCounts(), waiting);
    });
  }

  test('a bulk call with one bad entry among good ones is rejected whole, naming index and field', async () => {
    const before = await rowCount();
    const listings = [good('OK-1'), good('OK-2', { price: -1 }), good('OK-3'), good('OK-4', { brand: '' })];
    await assert.rejects(producer.enqueueListings(listings), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(
        error.errors.map((e) => [e.index, e.field]),
        [
          [1, 'price'],
          [3, 'brand'],
        ],
      );
      assert.match(error.message, /\[1\] price/);
      return true;
    });
    assert.equal(await rowCount(), before);
  });

  test('a bulk call repeating a productRef is rejected', async () => {
    await assert.rejects(producer.enqueueListings([good('R-1'), good('R-1')]), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(
        error.errors.map((e) => [e.index, e.field]),
        [[1, 'productRef']],
      );
      return true;
    });
  });

  test('Redis unreachable: the call says so and the row stays queued for the sweep', async () => {
    const offline = createProducer({
      databaseUrl: services.databaseUrl,
      redisUrl: 'redis://127.0.0.1:1',
      queuePrefix: services.queuePrefix,
      queueTimeoutMs: 1_000,
      listingDefaults: TEST_LISTING_DEFAULTS,
    });
    try {
      await assert.rejects(offline.enqueueListing(good('OFFLINE-1')), (error: unknown) => {
        assert.ok(error instanceof QueueUnavailableError, String(error));
        assert.equal(error.jobs[0]?.productRef, 'OFFLINE-1');
        assert.match(error.message, /saved in Postgres.*sweep/);
        return true;
      });
    } finally {
      await offline.close().catch(() => {});
    }
    const [row] = await services.database.sql`select status from vr_jobs where product_ref = 'OFFLINE-1'`;
    assert.equal(row!.status, 'queued');
  });
});
