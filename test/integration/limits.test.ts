import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LIMITS, ValidationError, validateListing, validateListings } from '../../src/listing/listing.ts';
import type { Producer } from '../../src/producer/producer.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

const base = { productRef: 'LIMIT-1', brand: 'Fender', model: 'Stratocaster', price: 1000 };

/** The field errors of a listing that must be refused; fails if it is accepted. */
function refusal(input: unknown): { field: string; message: string }[] {
  try {
    validateListing(input);
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    return error.errors;
  }
  assert.fail(`accepted: ${JSON.stringify(input).slice(0, 200)}`);
}

const url = (length: number) => {
  const head = 'https://img.example.com/';
  return head + 'a'.repeat(length - head.length);
};

// [field, value at the limit, value just over it, the limit as the message must name it]
const cases: [string, unknown, unknown, RegExp][] = [
  ['productRef', 'R'.repeat(LIMITS.productRef), 'R'.repeat(LIMITS.productRef + 1), /at most 100 characters/],
  ['brand', 'B'.repeat(LIMITS.brand), 'B'.repeat(LIMITS.brand + 1), /at most 100 characters/],
  ['model', 'M'.repeat(LIMITS.model), 'M'.repeat(LIMITS.model + 1), /at most 200 characters/],
  ['finish', 'F'.repeat(LIMITS.finish), 'F'.repeat(LIMITS.finish + 1), /at most 100 characters/],
  ['category', 'C'.repeat(LIMITS.category), 'C'.repeat(LIMITS.category + 1), /at most 200 characters/],
  [
    'description',
    'd'.repeat(LIMITS.description),
    'd'.repeat(LIMITS.description + 1),
    /at most 60000 characters/,
  ],
  // 3 bytes a character in UTF-8: under the character limit, over the byte limit.
  [
    'description',
    '€'.repeat(LIMITS.descriptionBytes / 3),
    '€'.repeat(LIMITS.descriptionBytes / 3 + 1),
    /at most 60000 bytes/,
  ],
  ['price', LIMITS.price, LIMITS.price + 1, /at most 10000000/],
  [
    'images',
    Array.from({ length: LIMITS.images }, (_, i) => `https://img.example.com/${i}.jpg`),
    Array.from({ length: LIMITS.images + 1 }, (_, i) => `https://img.example.com/${i}.jpg`),
    /at most 20 images/,
  ],
  ['images.0', [url(LIMITS.imageUrl)], [url(LIMITS.imageUrl + 1)], /at most 2000 characters/],
];

describe('limits on one listing', () => {
  for (const [field, atLimit, overLimit, message] of cases) {
    const key = field.split('.')[0]!;
    test(`${field}: at the limit accepted, just over refused naming the field and ${message.source}`, () => {
      assert.doesNotThrow(() => validateListing({ ...base, [key]: atLimit }));
      const errors = refusal({ ...base, [key]: overLimit });
      assert.ok(
        errors.some((e) => e.field === field && message.test(e.message)),
        JSON.stringify(errors).slice(0, 300),
      );
    });
  }

  test('year: 1800 to next year', () => {
    const next = new Date().getUTCFullYear() + 1;
    assert.doesNotThrow(() => validateListing({ ...base, year: 1800 }));
    assert.doesNotThrow(() => validateListing({ ...base, year: next }));
    assert.match(refusal({ ...base, year: 1799 })[0]!.message, /1800 or later/);
    assert.match(refusal({ ...base, year: next + 1 })[0]!.message, new RegExp(`${next} or earlier`));
  });

  test('image URLs: no control characters, spaces or lone surrogates, and a host', () => {
    for (const bad of [
      'http://a.example/x\u0000.jpg',
      'http://a.example/x y.jpg',
      'http://a.example/\uD800.jpg',
      'http://',
      'javascript:alert(1)',
    ]) {
      const errors = refusal({ ...base, images: [bad] });
      assert.ok(
        errors.some((e) => e.field === 'images.0' && /http\(s\) URL/.test(e.message)),
        bad,
      );
    }
  });

  test('the request body limit is exported for the API, and holds a full bulk call of typical listings', () => {
    const typical = JSON.stringify({ ...base, description: 'x'.repeat(2_000) });
    assert.ok(LIMITS.requestBodyBytes >= LIMITS.bulkListings * typical.length);
  });
});

describe('limits on a bulk call', () => {
  let services: TestServices;
  let producer: Producer;

  before(async () => {
    services = await setupServices();
    producer = services.producer();
  });

  after(async () => {
    await services.cleanup();
  });

  const many = (n: number) => Array.from({ length: n }, (_, i) => ({ ...base, productRef: `BULK-${i}` }));

  test(`${LIMITS.bulkListings} listings pass validation; one more is refused, naming the limit, and nothing is written`, async () => {
    assert.equal(validateListings(many(LIMITS.bulkListings)).length, LIMITS.bulkListings);
    await assert.rejects(producer.enqueueListings(many(LIMITS.bulkListings + 1)), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(error.errors, [
        { field: '(listings)', message: `must have at most ${LIMITS.bulkListings} listings per call` },
      ]);
      return true;
    });
    const [row] = await services.database.sql`select count(*)::int as n from vr_jobs`;
    assert.equal(row!.n, 0);
    // BullMQ may write a queue's `meta` key when the producer connects; no job key may exist.
    const keys = await services.redis.keys(`${services.queuePrefix}:*`);
    assert.deepEqual(
      keys.filter((key) => !key.endsWith(':meta')),
      [],
    );
  });
});
