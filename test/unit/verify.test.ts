import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JobPayload } from '../../src/db/schema.ts';
import { askedFromJob, compareStored } from '../../src/resolution/verify.ts';
import type { StoredListing } from '../../src/vr/edit-page.ts';

const payload: JobPayload = {
  listing: {
    productRef: 'ABC-1',
    brand: 'fender',
    model: 'Stratocaster',
    price: 2500,
    year: 1962,
    category: 'Guitars>Electric solid body',
    shipping: { fees: { uk: 40, usa: 90 }, localPickup: true },
    processingTime: '2 weeks',
    images: ['https://img.example/1.jpg', 'https://img.example/2.jpg'],
    description: '<p>Nice</p>',
  },
  matchCriteria: {
    brand: 'Fender',
    brandKey: 'fender',
    model: 'Stratocaster',
    modelKey: 'stratocaster',
    year: 1962,
    finish: null,
    finishKey: null,
    price: 2500,
    descriptionHash: null,
    marker: 'Ref: ABC-1',
    lastKnownId: 100,
    recordedAt: '2026-01-01T00:00:00.000Z',
  },
};

/** What V&R stores when it stores exactly what was asked. */
function storedAsAsked(): StoredListing {
  return {
    vrListingId: '501',
    categoryPath: [
      { id: '51', label: 'Guitars' },
      { id: '83', label: 'Electric solid body' },
    ],
    price: '2500',
    brand: 'Fender',
    model: 'Stratocaster',
    year: '1962',
    shippingRows: [],
    shippingFees: { uk: 40, usa: 90 },
    localPickup: true,
    availableForShipment: true,
    processingTime: { amount: '2', unit: 'Weeks' },
    photoCount: 2,
    photoMediaIds: ['1', '2'],
    descriptionHtml: '<p>Nice</p>\n<p><small>Ref: ABC-1</small></p>',
  };
}

describe('read-back: what V&R stored against what was asked', () => {
  const asked = askedFromJob(payload);

  test('asked is the listing as creation filled the form: tree spelling, the brand used, the unit parsed', () => {
    assert.deepEqual(
      asked.category.map((c) => c.name),
      ['Guitars', 'Electric solid body'],
    );
    assert.equal(asked.brand, 'Fender');
    assert.deepEqual(asked.processingTime, { amount: 2, unit: 'Weeks' });
    assert.equal(asked.photoCount, 2);
    assert.equal(asked.marker, 'Ref: ABC-1');
  });

  test('the same listing is ok (case and spacing of the brand, a price written 2,500.00)', () => {
    const stored = { ...storedAsAsked(), brand: ' FENDER ', price: '2,500.00' };
    assert.deepEqual(compareStored(asked, stored), { status: 'ok', differences: [] });
  });

  test('V&R stored no fees: a shipping mismatch per region asked', () => {
    const result = compareStored(asked, { ...storedAsAsked(), shippingFees: {} });
    assert.equal(result.status, 'mismatch');
    assert.deepEqual(result.differences, [
      { field: 'shipping.fees.uk', asked: 40, found: null },
      { field: 'shipping.fees.usa', asked: 90, found: null },
    ]);
  });

  test('each field differs on its own: category, price, brand, model, year, fee, pickup, processing time, photos, marker', () => {
    const stored: StoredListing = {
      ...storedAsAsked(),
      categoryPath: [
        { id: '51', label: 'Guitars' },
        { id: '84', label: 'Electric hollow body' },
      ],
      price: '2400',
      brand: 'Gibson',
      model: 'Telecaster',
      year: '1963',
      shippingFees: { uk: 40, usa: 90, world: 5 },
      localPickup: false,
      processingTime: { amount: '2', unit: 'Days' },
      photoCount: 1,
      descriptionHtml: '<p>Nice</p>',
    };
    const result = compareStored(asked, stored);
    assert.equal(result.status, 'mismatch');
    assert.deepEqual(
      result.differences.map((d) => d.field),
      [
        'category',
        'price',
        'brand',
        'model',
        'year',
        'shipping.fees.world',
        'shipping.localPickup',
        'processingTime',
        'photos',
        'description.marker',
      ],
    );
    assert.deepEqual(result.differences[0], {
      field: 'category',
      asked: 'Guitars>Electric solid body',
      found: 'Guitars>Electric hollow body',
    });
    assert.deepEqual(result.differences.at(-1), {
      field: 'description.marker',
      asked: 'Ref: ABC-1',
      found: null,
    });
  });

  test('another ref in the description is a marker mismatch; marker mode off and no year asked compare neither', () => {
    const other = compareStored(asked, { ...storedAsAsked(), descriptionHtml: '<p>Ref: ABC-12</p>' });
    assert.deepEqual(other.differences, [
      { field: 'description.marker', asked: 'Ref: ABC-1', found: 'Ref: ABC-12' },
    ]);
    const loose = askedFromJob({
      listing: { ...payload.listing, year: undefined, processingTime: undefined },
    });
    assert.equal(loose.marker, null);
    assert.equal(loose.brand, 'fender');
    const stored = {
      ...storedAsAsked(),
      year: '',
      descriptionHtml: '',
      processingTime: { amount: '3', unit: 'Days' },
    };
    assert.deepEqual(compareStored(loose, stored), { status: 'ok', differences: [] });
  });

  test('a listing from an older version (no category, no shipping) is completed from the defaults', () => {
    const old = askedFromJob(
      { listing: { productRef: 'X', brand: 'Fender', model: 'Strat', price: 10 } },
      { category: 'Amps>Combo', shippingFees: { world: 150 } },
    );
    assert.deepEqual(
      old.category.map((c) => c.name),
      ['Amps', 'Combo'],
    );
    assert.deepEqual(old.shippingFees, { world: 150 });
    assert.equal(old.localPickup, false);
  });
});
