import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { connectApiRedis } from '../../src/api/main.ts';
import { validateListing, validateListings } from '../../src/listing/listing.ts';
import { silentLogger } from '../../src/logger.ts';
import { CREATE_QUEUE } from '../../src/queues.ts';
import { buildTestApi } from '../helpers/api.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

const TOKEN = 'fuzz-token-0123456789abcdef';

const NASTY = [
  "'; drop table vr_jobs; --",
  '<script>alert(1)</script>',
  '{{7*7}}',
  ['$', '{7*7}'].join(''),
  '../../etc/passwd',
  '..\\..\\windows',
  '\u0000',
  '\uD800',
  '\uDC00abc',
  'a\u0007b',
  '\u202Eevil',
  '💥🎸',
  '__proto__',
  'constructor',
  ' ',
  '',
  'x'.repeat(70_000),
  'https://example.com/a.jpg',
];

const anyString = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);
const anyValue = fc.oneof(
  anyString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(anyString, { maxLength: 3 }),
  fc.dictionary(anyString, anyString, { maxKeys: 2 }),
);
const ref = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:/#@+-]{0,20}$/), anyString);

/** Listing-shaped objects: each field right, wrong-typed, absent or hostile; sometimes an extra key. */
const listingLike = fc.record(
  {
    productRef: ref,
    brand: fc.oneof(fc.constantFrom('Fender', 'Gibson'), anyValue),
    model: fc.oneof(fc.constant('Stratocaster'), anyValue),
    price: fc.oneof(fc.integer({ min: 1, max: 20_000 }), anyValue),
    year: fc.oneof(fc.integer({ min: 1700, max: 2100 }), anyValue),
    description: fc.oneof(anyString, anyValue),
    images: fc.oneof(fc.array(anyString, { maxLength: 3 }), anyValue),
    allowFallbackBrand: fc.oneof(fc.boolean(), anyValue),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

const validListing = fc.record(
  {
    productRef: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:/#@+-]{0,30}$/),
    brand: fc.constantFrom('Fender', 'Gibson', 'Gretsch'),
    model: fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim().length > 0),
    price: fc.integer({ min: 1, max: 10_000_000 }),
    year: fc.integer({ min: 1800, max: 2020 }),
    description: fc.constantFrom(
      ...NASTY.filter((s) => s.length < 1000 && /^[^\u0000-\u001f\uD800-\uDFFF]*$/.test(s)),
    ),
  },
  { requiredKeys: ['productRef', 'brand', 'model', 'price'] },
);

const body = fc.oneof(
  { weight: 2, arbitrary: validListing },
  { weight: 1, arbitrary: fc.array(validListing, { minLength: 1, maxLength: 3 }) },
  { weight: 4, arbitrary: listingLike },
  { weight: 2, arbitrary: fc.array(listingLike, { maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc.record({ listings: fc.oneof(fc.array(listingLike, { maxLength: 3 }), anyValue) }),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** What the producer's own validation says about a body, the way the API reads its shape. */
function accepted(value: unknown): boolean {
  try {
    if (Array.isArray(value)) validateListings(value);
    else if (value !== null && typeof value === 'object' && 'listings' in value) {
      if (Object.keys(value).length !== 1) return false;
      validateListings((value as { listings: unknown }).listings);
    } else validateListing(value);
    return true;
  } catch {
    return false;
  }
}

describe('POST /api/vr/jobs under arbitrary input', () => {
  let services: TestServices;
  let redis: Redis;
  let app: FastifyInstance;
  let queue: Queue;

  before(async () => {
    services = await setupServices();
    redis = connectApiRedis(services.redisUrl, silentLogger);
    app = await buildTestApi(services, { env: { API_TOKEN: TOKEN }, redis });
    queue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
  });

  after(async () => {
    await queue.close();
    await app.close();
    redis.disconnect();
    await services.cleanup();
  });

  const state = async () => ({
    rows: Number((await services.database.sql`select count(*)::int as n from vr_jobs`)[0]!.n),
    jobs: (await queue.getJobCounts('waiting')).waiting ?? 0,
  });

  function checkAnswer(status: number, text: string): { error?: unknown } {
    assert.ok([200, 201, 400, 409, 413, 415].includes(status), `status ${status}: ${text.slice(0, 300)}`);
    const parsed = JSON.parse(text);
    if (status >= 400) {
      assert.equal(typeof parsed.error, 'string', text.slice(0, 300));
      if (parsed.errors) {
        for (const e of parsed.errors) {
          assert.equal(typeof e.field, 'string');
          assert.equal(typeof e.message, 'string');
        }
      }
    }
    return parsed;
  }

  test('JSON values: 4xx with a clear error and nothing written, or 2xx for valid listings; never 5xx', async () => {
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(body, async (value) => {
        const before = await state();
        const response = await app.inject({
          method: 'POST',
          url: '/api/vr/jobs',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          payload: JSON.stringify(value),
        });
        const answer = checkAnswer(response.statusCode, response.body);
        const valid = accepted(value);
        seen[response.statusCode >= 400 ? 'refused' : 'accepted'] += 1;
        if (response.statusCode >= 400) {
          assert.equal(valid, false, `a valid body was refused: ${response.body.slice(0, 300)}`);
          assert.deepEqual(await state(), before, 'a refused body wrote or enqueued something');
        } else {
          assert.equal(valid, true, `an invalid body was accepted: ${JSON.stringify(value).slice(0, 300)}`);
          assert.ok('job' in answer || 'jobs' in answer);
          const after = await state();
          assert.equal(after.rows - before.rows, after.jobs - before.jobs, 'one job per new row');
        }
      }),
      { numRuns: 200 },
    );
    assert.ok(seen.accepted > 0 && seen.refused > 0, JSON.stringify(seen));
  });

  test('raw bodies that are not JSON, or not declared as JSON: 4xx, nothing written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom(...NASTY)),
        fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
        async (payload, contentType) => {
          const before = await state();
          const response = await app.inject({
            method: 'POST',
            url: '/api/vr/jobs',
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType },
            payload,
          });
          checkAnswer(response.statusCode, response.body);
          assert.ok(
            response.statusCode >= 400,
            `${contentType} ${JSON.stringify(payload)} -> ${response.statusCode}`,
          );
          assert.deepEqual(await state(), before);
        },
      ),
      { numRuns: 100 },
    );
  });
});
