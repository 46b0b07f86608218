import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { connectApiRedis } from '../../src/api/main.ts';
import { descriptionWithMarker } from '../../src/creation/create-listing.ts';
import { vrJobs } from '../../src/db/schema.ts';
import { DESCRIPTION_TAGS, sanitizeDescription } from '../../src/listing/description.ts';
import {
  type Listing,
  ValidationError,
  validateListing,
  validateListings,
} from '../../src/listing/listing.ts';
import { DEFAULT_MARKER_TEMPLATE, extractMarkerRefs, markerFor } from '../../src/listing/normalize.ts';
import { silentLogger } from '../../src/logger.ts';
import { readListingsFile } from '../../src/producer/input-file.ts';
import { createProducer, type Producer } from '../../src/producer/producer.ts';
import { buildTestApi } from '../helpers/api.ts';
import { launchTestChromium } from '../helpers/chromium.ts';
import { setupServices, TEST_LISTING_DEFAULTS, type TestServices } from '../helpers/services.ts';

const TOKEN = 'description-token-0123456789';

const good = (ref: string, extra: Record<string, unknown> = {}) => ({
  productRef: ref,
  brand: 'Fender',
  model: 'Stratocaster',
  price: 1299,
  ...extra,
});

/** Each of these ran code in a page that shows it as HTML. */
const ATTACKS = [
  `<img src=x onerror="window.__ran='img'">Lovely guitar`,
  `<svg onload="window.__ran='svg'"></svg>`,
  `<script>window.__ran='script'</script>`,
  `<iframe srcdoc="<script>parent.__ran='iframe'</script>"></iframe>`,
  `<body onload="window.__ran='body'">`,
  `<details open ontoggle="window.__ran='details'"></details>`,
  `<p style="x" onclick="window.__ran='p'" id=clickme>click</p>`,
  `<a href="javascript:window.__ran='link'" id=clickme>link</a>`,
  `<scr<script>ipt>window.__ran='nested'</scr</script>ipt>`,
  `<math><mtext><table><mglyph><style><img src=x onerror="window.__ran='mxss'">`,
  `<object data="data:text/html,<script>parent.__ran='object'</script>"></object>`,
  `<form action="https://evil.example/"><button id=clickme>go</button></form>`,
  `<meta http-equiv="refresh" content="0;url=javascript:window.__ran='meta'">`,
];

describe('descriptions and text fields, checked and cleaned at enqueue', () => {
  let services: TestServices;
  let producer: Producer;
  let browser: Browser;
  let redis: Redis;
  let api: FastifyInstance;

  before(async () => {
    services = await setupServices();
    producer = services.producer();
    browser = await launchTestChromium();
    redis = connectApiRedis(services.redisUrl, silentLogger);
    api = await buildTestApi(services, {
      env: { API_TOKEN: TOKEN, VR_REF_MARKER_TEMPLATE: '[SKU {ref}]' },
      redis,
    });
  });

  after(async () => {
    await browser?.close();
    await api?.close();
    redis?.disconnect();
    await services.cleanup();
  });

  async function stored(productRef: string): Promise<Listing> {
    const [row] = await services.database.db
      .select({ payload: vrJobs.payload })
      .from(vrJobs)
      .where(sql`${vrJobs.productRef} = ${productRef}`);
    assert.ok(row, `a row for ${productRef}`);
    return row.payload.listing;
  }

  async function rowCount(): Promise<number> {
    const [row] = await services.database.db.select({ n: sql<number>`count(*)::int` }).from(vrJobs);
    return row!.n;
  }

  /** Shows the HTML in a page, clicks what can be clicked, and reports what ran. */
  async function runsCode(html: string): Promise<string | undefined> {
    const page = await browser.newPage();
    try {
      // Nothing leaves the page: an outside request would be an attack of its own.
      await page.route('**/*', (route) => route.abort());
      await page.setContent(`<!doctype html><html><body>${html}</body></html>`, { waitUntil: 'load' });
      const clickable = page.locator('#clickme');
      if (await clickable.count()) await clickable.first().click({ timeout: 2_000, noWaitAfter: true });
      return await page.evaluate(() => (window as unknown as { __ran?: string }).__ran);
    } finally {
      await page.close();
    }
  }

  test('an onerror description (and its cousins) is stored without code, and runs nothing in Chromium', async () => {
    // The test can see an attack: shown as sent today, the first one runs.
    assert.equal(await runsCode(ATTACKS[0]!), 'img');
    for (const [index, attack] of ATTACKS.entries()) {
      await producer.enqueueListing(good(`XSS-${index}`, { description: attack }));
      const description = (await stored(`XSS-${index}`)).description ?? '';
      assert.doesNotMatch(
        description,
        /onerror|onload|ontoggle|onclick|<script|<img|<svg|<iframe|javascript:/i,
      );
      assert.equal(await runsCode(description), undefined, `${attack} → ${description}`);
    }
    assert.equal((await stored('XSS-0')).description, 'Lovely guitar');
  });

  test('the allowed markup is kept, links only to http(s), every element closed', () => {
    const kept =
      '<h3>1962 Stratocaster</h3><p><strong>All</strong> <em>original</em>, <u>refret</u> in <b>2001</b>, <i>case</i>.</p>' +
      '<ul><li>one</li></ul><ol><li>two</li></ol><h4>Notes</h4><blockquote>quote<br />more</blockquote>' +
      '<p><small>small</small> <a href="https://example.com/a?b=1&amp;c=2">specs</a></p>';
    assert.equal(sanitizeDescription(kept), kept);
    assert.equal(
      sanitizeDescription(
        '<a href="javascript:alert(1)">a</a><a href="//evil.example/">b</a><a href="data:x">c</a>',
      ),
      '<a>a</a><a>b</a><a>c</a>',
    );
    assert.equal(
      sanitizeDescription('<p class="x" style="color:red" title="t">unclosed <b>bold'),
      '<p>unclosed <b>bold</b></p>',
    );
    assert.equal(sanitizeDescription('<div>one</div><div>two</div>'), '<br />one<br />two');
  });

  test('the worker cleans a stored description again: a row written around the producer sends no code', () => {
    const tampered = { description: '<p>ok</p><img src=x onerror="alert(1)"><script>steal()</script>' };
    const sent = descriptionWithMarker(tampered as Parameters<typeof descriptionWithMarker>[0], 'Ref: R-1');
    assert.equal(sent, '<p>ok</p>\n<p><small>Ref: R-1</small></p>');
    const clean = { description: '<p><strong>clean</strong></p>' };
    assert.equal(
      descriptionWithMarker(clean as Parameters<typeof descriptionWithMarker>[0], null),
      clean.description,
    );
  });

  test('an unclosed <!-- cannot swallow the reference marker', async () => {
    const openings = [
      'Mint condition <!-- notes to self',
      'Mint <![CDATA[ x',
      'Mint <textarea>',
      'Mint <title>x',
      'Mint <style>',
    ];
    for (const [index, description] of openings.entries()) {
      const productRef = `COMMENT-${index}`;
      await producer.enqueueListing(good(productRef, { description }));
      const listing = await stored(productRef);
      assert.doesNotMatch(listing.description ?? '', /<!--|<!\[|<textarea|<title|<style/);
      const marker = markerFor(DEFAULT_MARKER_TEMPLATE, productRef);
      // What the worker sends, read as the resolver reads the export.
      assert.deepEqual(extractMarkerRefs(DEFAULT_MARKER_TEMPLATE, descriptionWithMarker(listing, marker)), [
        productRef,
      ]);
    }
  });

  test("another product's marker in a seller's text is removed, however it is spelt", async () => {
    const description =
      '<p>Sister guitar of Ref: OTHER-9, ask us.</p><p>Also Ref:</p><p><b>OTHER-10</b> and R&#101;f:&nbsp;OTHER-11 too</p>' +
      '<p>Ｒｅｆ： OTHER-12 here</p><p>Last words Ref:</p>';
    assert.deepEqual(
      extractMarkerRefs(DEFAULT_MARKER_TEMPLATE, description),
      ['OTHER-9', 'OTHER-10', 'OTHER-11', 'OTHER-12'],
      'the description reads as four markers as sent',
    );
    await producer.enqueueListing(good('OWN-1', { description }));
    const listing = await stored('OWN-1');
    assert.deepEqual(extractMarkerRefs(DEFAULT_MARKER_TEMPLATE, listing.description ?? ''), []);
    assert.match(listing.description ?? '', /Sister guitar of/);
    assert.match(listing.description ?? '', /ask us\./);
    // The trailing "Ref:" would have read our own marker as a ref named "Ref:".
    const sent = descriptionWithMarker(listing, markerFor(DEFAULT_MARKER_TEMPLATE, 'OWN-1'));
    assert.deepEqual(extractMarkerRefs(DEFAULT_MARKER_TEMPLATE, sent), ['OWN-1']);
  });

  test('the API removes markers of the configured VR_REF_MARKER_TEMPLATE', async () => {
    const response = await api.inject({
      method: 'POST',
      url: '/api/vr/jobs',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: good('SKU-OWN', { description: '<p>See [SKU OTHER-1] and [SKU  OTHER-2]; Ref: stays.</p>' }),
    });
    assert.ok(response.statusCode < 300, response.body);
    const listing = await stored('SKU-OWN');
    assert.deepEqual(extractMarkerRefs('[SKU {ref}]', listing.description ?? ''), []);
    assert.match(listing.description ?? '', /Ref: stays\./);
  });

  test('a model name with a bidi override is refused, with nothing written', async () => {
    const before = await rowCount();
    await assert.rejects(
      producer.enqueueListing(good('BIDI-1', { model: 'Strat \u202Egnp.exe' })),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.errors.some(
          (e) => e.field === 'model' && /direction-changing character \(U\+202E\)/.test(e.message),
        ),
    );
    const deceptive = [
      '\u202A',
      '\u202D',
      '\u2066',
      '\u2069',
      '\u200B',
      '\u200D',
      '\uFEFF',
      '\u2028',
      '\u2029',
      '\u0085',
      '\u009B',
    ];
    for (const char of deceptive) {
      for (const field of ['brand', 'model', 'finish', 'category']) {
        assert.throws(
          () => validateListing(good('BIDI-2', { [field]: `Gib${char}son` })),
          (error: unknown) => error instanceof ValidationError && error.errors[0]?.field === field,
          `${field} with U+${char.codePointAt(0)!.toString(16)}`,
        );
      }
    }
    assert.equal(await rowCount(), before);
    // A description is many lines of HTML: a right-to-left mark there is the seller's text.
    assert.doesNotThrow(() => validateListing(good('BIDI-3', { description: 'עברית \u200F text' })));
  });

  test('an image URL with a user name or password is refused', () => {
    for (const url of ['https://user:pass@cdn.example/a.jpg', 'https://user@cdn.example/a.jpg']) {
      assert.throws(
        () => validateListing(good('CRED-1', { images: [url] })),
        (error: unknown) =>
          error instanceof ValidationError &&
          error.errors[0]?.field === 'images.0' &&
          /user name or password/.test(error.errors[0].message),
      );
    }
  });

  test('a CSV column named __proto__ is reported as unknown, as constructor is', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vr-csv-'));
    try {
      const file = join(dir, 'listings.csv');
      await writeFile(
        file,
        'productRef,brand,model,price,__proto__,constructor\nCSV-1,Fender,Strat,100,x,y\n',
      );
      const records = await readListingsFile(file);
      assert.throws(
        () => validateListings(records),
        (error: unknown) =>
          error instanceof ValidationError &&
          ['__proto__', 'constructor'].every((field) =>
            error.errors.some((e) => e.field === field && e.message === 'is not a known field'),
          ),
      );
      assert.equal(({} as Record<string, unknown>).x, undefined, 'nothing reached Object.prototype');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('cleaning is stable: a cleaned description cleans to itself and holds only allowed tags', () => {
    const fragment = fc.constantFrom(
      '<p>',
      '</p>',
      '<b>',
      '<!--',
      '-->',
      '<a href="https://x.example/?a=1&b=2">',
      '<a href="javascript:x">',
      '</a>',
      '<img src=x onerror=y>',
      '<div>',
      '<textarea>',
      '<',
      '>',
      '&',
      '&amp;',
      '&nbsp;',
      '"',
      "'",
      'Ref: A-1',
      'text ',
      '<br>',
      '<li>',
      '<script>',
      '</script>',
      '<style>',
    );
    const allowed = new Set<string>(DESCRIPTION_TAGS);
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 30 }), (parts) => {
        const once = sanitizeDescription(parts.join(''));
        assert.equal(sanitizeDescription(once), once);
        for (const [, name] of once.matchAll(/<\/?([a-z0-9]+)/gi))
          assert.ok(allowed.has(name!.toLowerCase()), name);
        assert.ok(!once.includes('<!--'));
      }),
      { numRuns: 300 },
    );
  });
});

describe('the worker composes the description it was given', () => {
  test('createProducer takes the marker template', async () => {
    const services = await setupServices();
    const producer = createProducer({
      databaseUrl: services.databaseUrl,
      redisUrl: services.redisUrl,
      queuePrefix: services.queuePrefix,
      markerTemplate: 'vr#{ref}',
      listingDefaults: TEST_LISTING_DEFAULTS,
    });
    try {
      await producer.enqueueListing(good('TPL-1', { description: 'Pair with vr#TPL-2 please' }));
      const [row] = await services.database.sql<{ d: string }[]>`
        select payload->'listing'->>'description' as d from vr_jobs where product_ref = 'TPL-1'`;
      assert.equal(row?.d, 'Pair with  please');
    } finally {
      await producer.close();
      await services.cleanup();
    }
  });
});
