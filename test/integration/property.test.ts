import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import fc from 'fast-check';
import { sanitizeDescription } from '../../src/listing/description.ts';
import { LIMITS, ValidationError } from '../../src/listing/listing.ts';
import type { Producer } from '../../src/producer/producer.ts';
import { CREATE_QUEUE } from '../../src/queues.ts';
import { runCli } from '../helpers/cli.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

/**
 * Whatever a producer is handed, it either takes a genuinely valid listing (a row and a job), or
 * refuses it with a ValidationError naming a field, writing nothing and enqueueing nothing. Never
 * another error, never a crash.
 */

const INJECTIONS = [
  "'; drop table vr_jobs; --",
  'Robert"); DROP TABLE vr_jobs;--',
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  `\${process.exit(1)}`,
  '{{7*7}}',
  '../../etc/passwd',
  '%00',
  '%s%s%n',
  '__proto__',
  'constructor',
  '\u202Eevil\u202C',
  'مرحبا بالعالم',
  'שלום',
  '🎸🔥👩‍👩‍👧',
  'Ｆｅｎｄｅｒ',
  'e\u0301',
];
const BAD_CHARACTERS = ['\u0000', '\u0007', '\u001B', '\u007F', '\uD800', '\uDFFF', '\n', '\r'];
const SINGLE_LINE = /[\u0000-\u001F\u007F]/;
// Refused in one-line fields on purpose (bidi controls, zero-width, line separators, C1): see listing.ts.
const DECEPTIVE = /[\u0080-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/;

/** Text a seller may genuinely send in a one-line field: anything printable, injections included. */
const lineText = (max: number) =>
  fc
    .oneof(
      fc.constantFrom(...INJECTIONS),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: Math.min(max, 40) }),
      fc.string({ unit: 'grapheme-ascii', minLength: max - 2, maxLength: max }),
    )
    .filter((s) => s.length <= max && s.trim().length > 0 && !SINGLE_LINE.test(s) && !DECEPTIVE.test(s));

const description = fc
  .array(
    fc.oneof(
      fc.constantFrom(...INJECTIONS, '\n', '\r\n', '\t', '<p>', '</p>'),
      fc.string({ unit: 'grapheme' }),
    ),
    {
      maxLength: 12,
    },
  )
  .map((parts) => parts.join(''))
  .filter((s) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(s));

let serial = 0;
const validListing = fc
  .record(
    {
      productRef: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:/#@+-]{0,40}$/),
      brand: lineText(LIMITS.brand),
      model: lineText(LIMITS.model),
      price: fc.integer({ min: 1, max: LIMITS.price }),
      currency: fc.constantFrom('GBP', 'EUR', 'USD', 'JPY'),
      year: fc.integer({ min: 1800, max: new Date().getUTCFullYear() + 1 }),
      finish: lineText(LIMITS.finish),
      description,
      images: fc.array(
        fc.webUrl({ validSchemes: ['http', 'https'] }).filter((u) => u.length <= LIMITS.imageUrl),
        {
          maxLength: LIMITS.images,
        },
      ),
      allowFallbackBrand: fc.boolean(),
    },
    { requiredKeys: ['productRef', 'brand', 'model', 'price'] },
  )
  // Unique per run, so every valid listing makes a new row.
  .map((l) => ({ ...l, productRef: `${l.productRef}-${++serial}` }));

type Mutation = { field: string; apply: (l: Record<string, unknown>) => Record<string, unknown> };

const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.object({ maxDepth: 1 }),
);
const TEXT_FIELDS = {
  brand: LIMITS.brand,
  model: LIMITS.model,
  finish: LIMITS.finish,
  category: LIMITS.category,
};

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  // A value of the wrong type in any field.
  fc
    .tuple(
      fc.constantFrom(
        'productRef',
        'brand',
        'model',
        'price',
        'year',
        'finish',
        'description',
        'images',
        'currency',
      ),
      wrongType,
    )
    .filter(
      ([field, value]) =>
        !(['price', 'year'].includes(field) && typeof value === 'number') &&
        !(field === 'images' && Array.isArray(value)),
    )
    .map(([field, value]) => ({ field, apply: (l: Record<string, unknown>) => ({ ...l, [field]: value }) })),
  // Just over a length limit (in characters, i.e. code points: an emoji counts once).
  fc
    .tuple(
      fc.constantFrom(...Object.entries(TEXT_FIELDS)),
      fc.integer({ min: 1, max: 5 }),
      fc.constantFrom('x', 'é', '🎸'),
    )
    .map(([[field, max], extra, ch]) => ({
      field,
      apply: (l: Record<string, unknown>) => ({
        ...l,
        [field]: ch.repeat(max + extra),
      }),
    })),
  fc.integer({ min: 1, max: 5 }).map((extra) => ({
    field: 'productRef',
    apply: (l: Record<string, unknown>) => ({ ...l, productRef: 'R'.repeat(LIMITS.productRef + extra) }),
  })),
  fc.integer({ min: 1, max: 1000 }).map((extra) => ({
    field: 'price',
    apply: (l: Record<string, unknown>) => ({ ...l, price: LIMITS.price + extra }),
  })),
  fc.constant<Mutation>({
    field: 'description',
    apply: (l: Record<string, unknown>) => ({
      ...l,
      description: '🎸'.repeat(LIMITS.descriptionBytes / 4 + 1),
    }),
  }),
  fc.integer({ min: 1, max: 3 }).map((extra) => ({
    field: 'images',
    apply: (l: Record<string, unknown>) => ({
      ...l,
      images: Array.from({ length: LIMITS.images + extra }, (_, i) => `https://img.example.com/${i}.jpg`),
    }),
  })),
  // A character that has no place in the field, anywhere in it.
  fc
    .tuple(
      fc.constantFrom('brand', 'model', 'finish'),
      fc.constantFrom(...BAD_CHARACTERS),
      fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 10 }),
    )
    .map(([field, bad, around]) => ({
      field,
      apply: (l: Record<string, unknown>) => ({ ...l, [field]: `${around}${bad}${around}` }),
    })),
  fc.constantFrom('\u0000', '\u0007', '\uD800', '\uDC00').map((bad) => ({
    field: 'description',
    apply: (l: Record<string, unknown>) => ({ ...l, description: `<p>a${bad}b</p>` }),
  })),
  fc.constantFrom(...INJECTIONS.slice(0, 9), 'a b', '', ' lead').map((ref) => ({
    field: 'productRef',
    apply: (l: Record<string, unknown>) => ({ ...l, productRef: ref }),
  })),
  fc
    .constantFrom(
      'javascript:alert(1)',
      'file:///etc/passwd',
      'http://a b/',
      'http://x/\u0000',
      '../../x.jpg',
    )
    .map((u) => ({ field: 'images.0', apply: (l: Record<string, unknown>) => ({ ...l, images: [u] }) })),
  // Missing required fields, unknown fields.
  fc.constantFrom('productRef', 'brand', 'model', 'price').map((field) => ({
    field,
    apply: (l: Record<string, unknown>) => Object.fromEntries(Object.entries(l).filter(([k]) => k !== field)),
  })),
  fc.constantFrom('colour', 'vr_listing_id', 'status', '__proto__', 'constructor').map((key) => ({
    field: key,
    apply: (l: Record<string, unknown>) =>
      JSON.parse(JSON.stringify({ ...l }).replace(/^\{/, `{"${key}":1,`)),
  })),
);

describe('property: producer input', () => {
  let services: TestServices;
  let producer: Producer;
  let queue: Queue;
  let dir: string;

  before(async () => {
    services = await setupServices();
    producer = services.producer();
    queue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
    dir = await mkdtemp(join(tmpdir(), 'vrl-prop-'));
  });

  after(async () => {
    await queue.close();
    await rm(dir, { recursive: true, force: true });
    await services.cleanup();
  });

  const rowCount = async () =>
    (await services.database.sql`select count(*)::int as n from vr_jobs`)[0]!.n as number;
  const jobCount = async () => Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0);

  /** Runs one enqueue and checks the contract; returns whether it was accepted. */
  async function enqueueChecked(
    call: () => Promise<unknown>,
  ): Promise<{ accepted: boolean; error?: ValidationError }> {
    const rows = await rowCount();
    const jobs = await jobCount();
    try {
      await call();
      return { accepted: true };
    } catch (error) {
      assert.ok(error instanceof ValidationError, `only ValidationError, got ${String(error).slice(0, 300)}`);
      assert.ok(error.errors.length > 0);
      for (const e of error.errors) {
        assert.equal(typeof e.field, 'string');
        assert.ok(e.field.length > 0 && e.message.length > 0, JSON.stringify(e));
      }
      assert.equal(await rowCount(), rows, 'no row written');
      assert.equal(await jobCount(), jobs, 'no job enqueued');
      return { accepted: false, error };
    }
  }

  test('genuinely valid listings (injections, emoji, RTL, sizes up to each limit) are stored exactly, descriptions cleaned', async () => {
    await fc.assert(
      fc.asyncProperty(validListing, async (listing) => {
        const outcome = await enqueueChecked(() => producer.enqueueListing(listing));
        assert.ok(outcome.accepted, outcome.error?.message);
        const [row] = await services.database.sql`
          select id::int, status, payload from vr_jobs where product_ref = ${listing.productRef}`;
        assert.equal(row!.status, 'queued');
        const stored = row!.payload.listing;
        assert.equal(stored.brand, listing.brand.trim());
        assert.equal(stored.model, listing.model.trim());
        // Stored as cleaned HTML (no script, no handler), which is what V&R is sent.
        assert.equal(
          stored.description,
          listing.description === undefined ? undefined : sanitizeDescription(listing.description),
        );
        assert.equal(stored.price, listing.price);
        assert.ok(await queue.getJob(`listing-${row!.id}-0`), 'its job is on the queue');
      }),
      { numRuns: 40 },
    );
  });

  test('a valid listing with one thing wrong is refused, naming that field, with nothing written', async () => {
    await fc.assert(
      fc.asyncProperty(validListing, mutation, async (listing, { field, apply }) => {
        const outcome = await enqueueChecked(() => producer.enqueueListing(apply(listing)));
        assert.equal(outcome.accepted, false, `accepted with ${field} broken`);
        assert.ok(
          outcome.error!.errors.some((e) => e.field === field),
          `${field} not named in ${JSON.stringify(outcome.error!.errors).slice(0, 300)}`,
        );
      }),
      { numRuns: 150 },
    );
  });

  test('arbitrary JSON and JavaScript values: accepted only if valid, else a ValidationError, never a crash', async () => {
    const anyValue = fc.oneof(
      fc.jsonValue(),
      fc.anything({
        withBigInt: true,
        withDate: true,
        withMap: true,
        withNullPrototype: true,
        withTypedArray: true,
      }),
      validListing.chain((l) =>
        fc.dictionary(fc.constantFrom(...Object.keys(l)), fc.jsonValue()).map((d) => ({ ...l, ...d })),
      ),
    );
    await fc.assert(
      fc.asyncProperty(anyValue, async (value) => {
        const outcome = await enqueueChecked(() => producer.enqueueListing(value));
        if (outcome.accepted) {
          const ref = (value as { productRef: string }).productRef;
          assert.equal(
            (await services.database.sql`select 1 from vr_jobs where product_ref = ${ref}`).length,
            1,
          );
        }
      }),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue(), fc.array(fc.oneof(fc.jsonValue(), validListing), { maxLength: 5 })),
        async (value) => {
          await enqueueChecked(() => producer.enqueueListings(value as unknown[]));
        },
      ),
      { numRuns: 60 },
    );
  });

  test('the CLI: a file with one bad listing writes nothing and names it; a good file is enqueued whole', async () => {
    let file = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(validListing, { minLength: 1, maxLength: 4 }),
        fc.option(fc.tuple(mutation, fc.nat()), { nil: undefined }),
        async (listings, broken) => {
          const content: Record<string, unknown>[] = [...listings];
          let badIndex = -1;
          if (broken) {
            badIndex = broken[1] % content.length;
            content[badIndex] = broken[0].apply(content[badIndex]!);
          }
          const path = join(dir, `listings-${++file}.json`);
          await writeFile(path, JSON.stringify(content));
          const rows = await rowCount();
          const result = await runCli(['enqueue', path, '--json'], services.env());
          if (badIndex < 0) {
            assert.equal(result.code, 0, result.stderr);
            assert.equal(await rowCount(), rows + listings.length);
          } else {
            assert.equal(result.code, 1, result.stderr);
            assert.match(
              result.stderr,
              new RegExp(`listing ${badIndex}: ${broken![0].field.replace(/[.$]/g, '\\$&')} `),
            );
            assert.equal(await rowCount(), rows, 'nothing written');
          }
          assert.doesNotMatch(result.stderr, /TypeError|ReferenceError|\n\s+at /);
        },
      ),
      { numRuns: 5 },
    );
  });
});
