import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { silentLogger } from '../../src/logger.ts';
import { BrowserSession } from '../../src/vr/browser-session.ts';
import { openEditPage } from '../../src/vr/edit-page.ts';
import { launchSessionChromium, TEST_CHROMIUM_PATH } from '../helpers/chromium.ts';
import { FAST_SITE } from '../helpers/sim-timing.ts';

async function handListing(sim: Simulator, body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${sim.url}/__sim/listings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return String(((await res.json()) as { product_id: number }).product_id);
}

describe('the edit page read back (openEditPage, readStoredListing)', () => {
  let sim: Simulator;
  let browser: Browser;
  let session: BrowserSession;

  before(async () => {
    sim = await startSimulator({ ...FAST_SITE, catalogRows: 20 });
    browser = await launchSessionChromium();
    session = new BrowserSession({
      site: { baseUrl: sim.url, username: 'demo', password: 'demo' },
      chromiumPath: TEST_CHROMIUM_PATH,
      pageTimeoutMs: 15_000,
      logger: silentLogger,
      challengeWaitMs: 10_000,
      browser,
    });
  });

  after(async () => {
    await session?.close();
    await browser?.close();
    await sim?.close();
  });

  test('reads what V&R stored: category cascade, fields, fees per region, pickup, processing time, photos, description', async () => {
    const id = await handListing(sim, {
      brand_name: 'Fender',
      product_model_name: 'Stratocaster "59',
      product_price: 1234,
      product_year: '1959',
      category_name: 'Amps>Combo',
      product_description: '<p>Lovely &amp; <b>loud</b></p><p>Ref: ABC-1</p>',
      shipping_fees: { uk: 40, world: 150 },
      local_pickup: true,
      processing_time: '2 Weeks',
      photo_count: 3,
    });
    const outcome = await openEditPage(session, id);
    assert.equal(outcome.kind, 'found');
    if (outcome.kind !== 'found') return;
    const l = outcome.listing;
    assert.equal(l.vrListingId, id);
    assert.deepEqual(
      l.categoryPath.map((c) => c.label),
      ['Amps', 'Combo'],
    );
    assert.ok(l.categoryPath.every((c) => /^\d+$/.test(c.id)));
    assert.equal(l.price, '1234');
    assert.equal(l.brand, 'Fender');
    assert.equal(l.model, 'Stratocaster "59');
    assert.equal(l.year, '1959');
    assert.deepEqual(l.shippingFees, { uk: 40, world: 150 });
    assert.deepEqual(
      l.shippingRows.map((r) => [r.region, r.fee]),
      [
        ['uk', '40'],
        ['europe', ''],
        ['usa', ''],
        ['world', '150'],
      ],
    );
    assert.equal(l.localPickup, true);
    assert.equal(l.availableForShipment, true);
    assert.deepEqual(l.processingTime, { amount: '2', unit: 'Weeks' });
    assert.equal(l.photoCount, 3);
    assert.equal(new Set(l.photoMediaIds).size, 3);
    assert.equal(l.descriptionHtml, '<p>Lovely &amp; <b>loud</b></p><p>Ref: ABC-1</p>');
    // Read only: nothing was submitted.
    assert.equal(sim.state().counters.edits, 0);
  });

  test('a listing V&R does not have is not_found; a logged-out session logs in again', async () => {
    const missing = await openEditPage(session, '999999999');
    assert.equal(missing.kind, 'not_found');
    const id = await handListing(sim, {
      brand_name: 'Gibson',
      product_model_name: 'Les Paul',
      product_price: 900,
    });
    const logins = sim.state().counters.logins;
    const expired = await fetch(`${sim.url}/__sim/expire-sessions`, { method: 'POST' });
    assert.equal(expired.status, 200);
    const outcome = await openEditPage(session, id);
    assert.equal(outcome.kind, 'found');
    assert.equal(outcome.kind === 'found' && outcome.listing.brand, 'Gibson');
    assert.equal(outcome.kind === 'found' && outcome.listing.photoCount, 0);
    assert.ok(sim.state().counters.logins > logins, 'logged in again');
  });
});
