import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type SimListing, startSimulator, VARIANTS } from '../../simulator/src/server.ts';
import { startCreationProcess } from '../../src/creation/main.ts';
import type { ListingInput } from '../../src/listing/listing.ts';
import { silentLogger } from '../../src/logger.ts';
import { startResolutionProcess } from '../../src/resolution/main.ts';
import { resolveCategory, shippedCategoryTree } from '../../src/vr/categories.ts';
import { launchSessionChromium } from '../helpers/chromium.ts';
import { checkOutcome, listingsFor } from '../helpers/outcome.ts';
import { type PhotoServer, startPhotoServer } from '../helpers/photo-server.ts';
import { setupServices, TEST_LISTING_DEFAULTS, type TestServices, waitFor } from '../helpers/services.ts';
import { FAST_SITE } from '../helpers/sim-timing.ts';

/**
 * Creation on the real form's markup, through the Cloudflare gate (headless browsers refused), in
 * every markup variant. Variant 0 gets a covering set: every value of every field below at least
 * once (7 leaves of every depth, 7 brands, fees per region with the others removed, pickup,
 * processing times, flags, and each photo kind: a WebP, a PNG, a set over 10 MB, a mixed set).
 * Every other variant gets the listings that meet its own markup: brand suggestions for a name
 * with a quote and one with a comma (its suggestion call's spacing), its pre-filled or blank fee
 * rows (all removed, some set, the account's defaults), its editor start-up, its Publish answer and
 * success message three times in one session, and its export format in resolution.
 * All ending `completed`, each listing on V&R once with its own id.
 */

const LEAVES = [
  'Guitars>Archtop>Electric',
  'amps > COMBO',
  'Basses>Upright bass>Acoustic / Electric',
  'Effects>Oscillator, Modulator, Filter, Frequenzy and other',
  'Guitars>Lefthands>Classical & Nylon (LH)',
  'guitars>electric solid body',
  'Effects>Delay & Echo',
];

const BRANDS = ['Fender', 'gibson', 'Vox', "O'Hagan", 'Smith, Jones & Co', 'PRS Paul Reed Smith', 'Gretsch'];

type Shipping = ListingInput['shipping'];
const SHIPPING: Shipping[] = [
  { fees: { uk: 40, usa: 90 } },
  { fees: { europe: 55 }, localPickup: true },
  undefined, // the account's defaults (VR_SHIPPING_FEES)
  { fees: {}, localPickup: true },
  { fees: { world: 150, uk: 0 } },
];

/** Listing `i` of the set: each field cycles through its values, so 0..6 show every value of every field. */
function listingAt(prefix: string, photos: PhotoServer, i: number): ListingInput {
  const images =
    i === 0
      ? [`${photos.url}/photo.webp`]
      : i === 1
        ? [`${photos.url}/photo.png`]
        : i === 2
          ? [1, 2, 3, 4].map((n) => `${photos.url}/big-${n}.jpg`)
          : i === 3
            ? [`${photos.url}/small.jpg`, `${photos.url}/photo.png`, `${photos.url}/photo.webp`]
            : undefined;
  return {
    productRef: `${prefix}-${i}`,
    brand: BRANDS[i % BRANDS.length]!,
    model: `Model ${i} “special”`,
    price: 500 + i,
    ...(i % 2 === 0 ? { year: 1955 + i } : {}),
    ...(i % 3 === 0 ? { finish: 'Sunburst' } : {}),
    category: LEAVES[i % LEAVES.length]!,
    ...(SHIPPING[i % SHIPPING.length] ? { shipping: SHIPPING[i % SHIPPING.length] } : {}),
    ...(i % 3 === 0 ? { processingTime: '2 weeks' } : i % 3 === 1 ? { processingTime: '5 Days' } : {}),
    ...(i % 2 === 1 ? { showVat: true } : {}),
    description: `<p>Listing ${i}: it’s all original.</p>`,
    ...(images ? { images } : {}),
  };
}

/** Variant 0: every value of every field, every photo kind. */
const COVERING_SET = [0, 1, 2, 3, 4, 5, 6];
/**
 * The other variants: O'Hagan with every fee row removed and pickup (and three photo types), a brand
 * with a comma and an ampersand with two regions removed and a fee of 0, and the account's defaults.
 */
const VARIANT_SET = [3, 4, 7];
/**
 * Variant 4's editor starts after 3 s: its test runs at full scale, so that a filler that didn't
 * wait for a late editor would lose the description (and its reference marker) and fail. The rest
 * run twenty times faster, where the delays only cost time.
 */
const FULL_SCALE_VARIANT = 4;

function expectedFees(listing: ListingInput): Record<string, number> {
  return (listing.shipping?.fees ?? TEST_LISTING_DEFAULTS.shippingFees) as Record<string, number>;
}

describe('creation on the real form, through the gate, in every variant', () => {
  let photos: PhotoServer;
  let services: TestServices;
  // One Chromium for the file: each process opens its own context on it.
  let browser: Browser;

  before(async () => {
    photos = await startPhotoServer();
    services = await setupServices();
    browser = await launchSessionChromium();
  });

  after(async () => {
    await browser?.close();
    await photos?.close();
    await services?.cleanup();
  });

  test('the photo set is over 10 MB as served', () => {
    const big = [1, 2, 3, 4].reduce((n, i) => n + photos.sizes.get(`/big-${i}.jpg`)!, 0);
    assert.ok(big > 10 * 1024 * 1024, `big set is ${big} bytes`);
  });

  test('the covering set shows every value of every field, and every photo kind', () => {
    const set = COVERING_SET.map((i) => listingAt('C', photos, i));
    const seen = (f: (l: ListingInput) => unknown) =>
      new Set(set.map((l) => JSON.stringify(f(l) ?? null))).size;
    assert.equal(
      seen((l) => l.category),
      LEAVES.length,
    );
    assert.equal(
      seen((l) => l.brand),
      BRANDS.length,
    );
    assert.equal(
      seen((l) => l.shipping),
      SHIPPING.length,
    );
    assert.equal(
      seen((l) => l.processingTime),
      3,
    );
    assert.equal(
      seen((l) => l.year === undefined),
      2,
    );
    assert.equal(
      seen((l) => l.finish),
      2,
    );
    assert.equal(
      seen((l) => l.showVat),
      2,
    );
    assert.equal(
      seen((l) => l.images),
      5,
      'WebP, PNG, the big set, the mixed set, none',
    );
  });

  for (const variant of VARIANTS) {
    const set = variant.id === 0 ? COVERING_SET : VARIANT_SET;
    const timeScale = variant.id === FULL_SCALE_VARIANT ? 1 : FAST_SITE.timeScale;
    const late = timeScale === 1 ? `, its editor ready after ${variant.tinymceInitMs / 1000} s` : '';
    test(`variant ${variant.id}: ${set.length} listings completed, each once, as asked${late}`, async (t) => {
      await services.database
        .sql`truncate vr_jobs, vr_product_links, vr_resolution_runs, vr_sessions cascade`;
      await services.redis.del(`${services.queuePrefix}:vr-site-state`);
      const sim = await startSimulator({
        port: 0,
        catalogRows: 40,
        seed: 100 + variant.id,
        variant: variant.id,
        cloudflareHeadlessBlock: true,
        timeScale,
      });
      t.after(() => sim.close());
      assert.notEqual(sim.state().cloudflare, 'off', 'the gate is on');
      const env = {
        CREATE_BACKOFF_MS: '200',
        MAX_BATCH_SIZE: '10',
        FLUSH_SETTLE_MS: '300',
        RESOLUTION_BACKOFF_MS: '300',
        IMAGE_ALLOW_HOSTS: '127.0.0.1',
        VR_SESSION_KEY: 'test-session-key-0123456789',
      };
      const site = { baseUrl: sim.url, username: 'demo', password: 'demo' };
      const prefix = `V${variant.id}`;
      const listings = set.map((i) => listingAt(prefix, photos, i));
      const producer = services.producer();
      const config = services.config(env);
      const creation = startCreationProcess({ config, site, logger: silentLogger, browser });
      const resolution = startResolutionProcess({ config, site, logger: silentLogger, browser });
      try {
        await producer.enqueueListings(listings);
        await waitFor(
          'every job completed',
          async () => {
            const rows = await services.database.sql<{ status: string; error: string | null }[]>`
              select status, error from vr_jobs`;
            const stuck = rows.find((r) => r.status === 'failed' || r.status === 'needs_review');
            if (stuck) throw new Error(`a job ended ${stuck.status}: ${stuck.error}`);
            return rows.length === listings.length && rows.every((r) => r.status === 'completed');
          },
          300_000,
        );
      } finally {
        await creation.stop();
        await resolution.stop();
      }
      assert.ok(browser.isConnected(), 'stopping the processes left the shared browser running');
      assert.equal(browser.contexts().length, 0, 'and closed their own contexts');
      const outcome = await checkOutcome(
        services.database.sql,
        sim.url,
        listings.map((l) => l.productRef),
      );
      assert.deepEqual(outcome.problems, []);
      assert.equal(outcome.ok.length, listings.length);
      const state = sim.state('form');
      assert.equal(state.counters.submissions, listings.length, 'one Publish per listing');
      assert.equal(state.counters.refusedRequests, 0, 'nothing reached V&R outside the browser');
      assert.equal(state.counters.headlessBlocked, 0, 'no browser of ours gave automation away');
      assert.equal(state.counters.logins, 1, 'creation and resolution share one login');
      for (const listing of listings) {
        const [onVr] = listingsFor(state.listings, listing.productRef) as SimListing[];
        assert.ok(onVr, listing.productRef);
        const where = `${listing.productRef} (variant ${variant.id})`;
        const leaf = resolveCategory(shippedCategoryTree(), listing.category!);
        assert.ok(leaf.ok);
        assert.deepEqual(
          onVr.category_path,
          leaf.nodes.map((n) => n.name),
          `${where}: category`,
        );
        const fees = expectedFees(listing);
        assert.deepEqual(onVr.shipping_fees, fees, `${where}: fees, removed regions absent`);
        assert.equal(onVr.available_for_shipment, Object.keys(fees).length > 0, `${where}: shipping`);
        assert.equal(onVr.local_pickup, listing.shipping?.localPickup ?? false, `${where}: pickup`);
        assert.equal(onVr.photo_count, listing.images?.length ?? 0, `${where}: photos`);
        assert.ok(onVr.photo_bytes <= 10 * 1024 * 1024, `${where}: ${onVr.photo_bytes} bytes of photos`);
        assert.ok(
          onVr.photos.every((p) => p.type === 'image/jpeg'),
          `${where}: JPEG only`,
        );
        assert.equal(
          onVr.processing_time,
          listing.processingTime === '2 weeks'
            ? '2 Weeks'
            : listing.processingTime === '5 Days'
              ? '5 Days'
              : '3 Days',
          `${where}: processing time`,
        );
        assert.equal(onVr.show_vat, listing.showVat === true, `${where}: show VAT`);
        assert.equal(onVr.buy_now, true, `${where}: buy now`);
        assert.equal(onVr.product_model_name, listing.model);
        assert.equal(
          onVr.decade,
          listing.year ? `${Math.floor(listing.year / 10) * 10}` : '',
          `${where}: decade`,
        );
      }
    });
  }
});
