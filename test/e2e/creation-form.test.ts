import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SimListing, startSimulator, VARIANTS } from '../../simulator/src/server.ts';
import { startCreationProcess } from '../../src/creation/main.ts';
import type { ListingInput } from '../../src/listing/listing.ts';
import { silentLogger } from '../../src/logger.ts';
import { startResolutionProcess } from '../../src/resolution/main.ts';
import { resolveCategory, shippedCategoryTree } from '../../src/vr/categories.ts';
import { checkOutcome, listingsFor } from '../helpers/outcome.ts';
import { type PhotoServer, startPhotoServer } from '../helpers/photo-server.ts';
import { setupServices, TEST_LISTING_DEFAULTS, waitFor } from '../helpers/services.ts';

/**
 * Creation on the real form's markup, through the Cloudflare gate, in every markup variant: 20
 * listings each, on leaves of every depth, with fees per region (the others removed), pickup,
 * processing times, flags and photos (a WebP, a PNG, and a set over 10 MB), all ending `completed`.
 */

const LISTINGS = 20;

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

function listingsFor20(prefix: string, photos: PhotoServer): ListingInput[] {
  return Array.from({ length: LISTINGS }, (_, i) => {
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
  });
}

function expectedFees(listing: ListingInput): Record<string, number> {
  return (listing.shipping?.fees ?? TEST_LISTING_DEFAULTS.shippingFees) as Record<string, number>;
}

describe('creation on the real form, through the gate, in every variant', () => {
  let photos: PhotoServer;
  let artifacts: string;

  before(async () => {
    photos = await startPhotoServer();
    artifacts = await mkdtemp(join(tmpdir(), 'vr-form-artifacts-'));
  });

  after(async () => {
    await photos.close();
    await rm(artifacts, { recursive: true, force: true });
  });

  test('the photo set is over 10 MB as served', () => {
    const big = [1, 2, 3, 4].reduce((n, i) => n + photos.sizes.get(`/big-${i}.jpg`)!, 0);
    assert.ok(big > 10 * 1024 * 1024, `big set is ${big} bytes`);
  });

  for (const variant of VARIANTS) {
    test(`variant ${variant.id}: ${LISTINGS} listings completed, each once, as asked`, async (t) => {
      const services = await setupServices();
      t.after(() => services.cleanup());
      const sim = await startSimulator({
        port: 0,
        catalogRows: 40,
        seed: 100 + variant.id,
        variant: variant.id,
      });
      t.after(() => sim.close());
      assert.notEqual(sim.state().cloudflare, 'off', 'the gate is on');
      const env = {
        CREATE_BACKOFF_MS: '200',
        MAX_BATCH_SIZE: '10',
        FLUSH_SETTLE_MS: '300',
        RESOLUTION_BACKOFF_MS: '300',
        IMAGE_ALLOW_HOSTS: '127.0.0.1',
        ARTIFACTS_DIR: artifacts,
      };
      const site = { baseUrl: sim.url, username: 'demo', password: 'demo' };
      const prefix = `V${variant.id}`;
      const listings = listingsFor20(prefix, photos);
      const producer = services.producer();
      const creation = startCreationProcess({ config: services.config(env), site, logger: silentLogger });
      const resolution = startResolutionProcess({ config: services.config(env), site, logger: silentLogger });
      try {
        await producer.enqueueListings(listings);
        await waitFor(
          'every job completed',
          async () => {
            const rows = await services.database.sql<{ status: string; error: string | null }[]>`
              select status, error from vr_jobs`;
            const stuck = rows.find((r) => r.status === 'failed' || r.status === 'needs_review');
            if (stuck) throw new Error(`a job ended ${stuck.status}: ${stuck.error}`);
            return rows.length === LISTINGS && rows.every((r) => r.status === 'completed');
          },
          300_000,
        );
      } finally {
        await creation.stop();
        await resolution.stop();
      }
      const outcome = await checkOutcome(
        services.database.sql,
        sim.url,
        listings.map((l) => l.productRef),
      );
      assert.deepEqual(outcome.problems, []);
      assert.equal(outcome.ok.length, LISTINGS);
      const state = sim.state('form');
      assert.equal(state.counters.submissions, LISTINGS, 'one Publish per listing');
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
