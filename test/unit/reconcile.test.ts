import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { reconcileText } from '../../src/cli/reconcile.ts';
import { readExportRows } from '../../src/resolution/export-stream.ts';
import {
  compareWithExport,
  type Expected,
  type OurListing,
  type ReconcileRow,
} from '../../src/resolution/reconcile.ts';

function ours(
  ref: string,
  id: number,
  price = 1000,
  fields: Partial<OurListing['submitted']> = {},
): OurListing {
  return {
    productRef: ref,
    vrListingId: id,
    submitted: { brand: 'Fender', model: "'59 Stratocaster", year: 1959, price, ...fields },
  };
}

function row(id: number, fields: Partial<ReconcileRow> = {}): ReconcileRow {
  return {
    productId: id,
    brandName: 'Fender',
    modelName: "'59 Stratocaster",
    year: 1959,
    price: 1000,
    sold: false,
    ...fields,
  };
}

test('a listing as we listed it is no surprise; rows of others are only counted', () => {
  const report = compareWithExport([ours('A', 10)], [row(9), row(10), row(11)]);
  assert.deepEqual(report, {
    soldOnVr: [],
    missingOnVr: [],
    changedOnVr: [],
    notOurs: 2,
    checked: 1,
    rows: 3,
  });
});

test('sold, missing and repriced on V&R are found, with their refs', () => {
  const listings = [ours('SOLD', 10), ours('GONE', 11), ours('PRICE', 12), ours('SAME', 13)];
  const report = compareWithExport(listings, [
    row(10, { sold: true }),
    row(12, { price: 1250 }),
    row(13),
    row(14),
  ]);
  assert.deepEqual(report.soldOnVr, [{ productRef: 'SOLD', vrListingId: 10 }]);
  assert.deepEqual(report.missingOnVr, [{ productRef: 'GONE', vrListingId: 11 }]);
  assert.deepEqual(report.changedOnVr, [
    { productRef: 'PRICE', vrListingId: 12, field: 'price', ours: 1000, vr: 1250 },
  ]);
  assert.equal(report.notOurs, 1);
  assert.equal(report.checked, 4);
});

test('fields are normalised as the matcher does: spelling is no change, another value is', () => {
  const listings = [ours('SPELLING', 10), ours('OTHER', 11), ours('NOYEAR', 12, 1000, { year: null })];
  const report = compareWithExport(listings, [
    // Case and spaces of a brand, quotes and punctuation of a model, V&R's rounding of a price.
    row(10, { brandName: ' FENDER ', modelName: '59 stratocaster', price: 1000.5 }),
    row(11, { brandName: 'Squier', modelName: 'Telecaster', year: 1962 }),
    row(12, { year: 1970 }),
  ]);
  assert.deepEqual(report.changedOnVr, [
    { productRef: 'OTHER', vrListingId: 11, field: 'brand', ours: 'Fender', vr: 'Squier' },
    { productRef: 'OTHER', vrListingId: 11, field: 'model', ours: "'59 Stratocaster", vr: 'Telecaster' },
    { productRef: 'OTHER', vrListingId: 11, field: 'year', ours: 1959, vr: 1962 },
  ]);
});

test('what we asked for ourselves is no surprise', () => {
  const listings = [
    ours('WE-SOLD', 10),
    ours('WE-DELETED', 11),
    ours('WE-DELETED-PENDING', 12),
    ours('WE-REPRICED', 13),
    ours('WE-REPRICED-PENDING', 14),
    ours('PERSON-SOLD', 15),
  ];
  const expected: Expected = (ref) =>
    ({
      'WE-SOLD': { sold: true },
      'WE-DELETED': { deleted: true },
      'WE-DELETED-PENDING': { deleted: true },
      'WE-REPRICED': { price: 800 },
      'WE-REPRICED-PENDING': { price: 800 },
      'PERSON-SOLD': { price: 1000 },
    })[ref];
  const report = compareWithExport(
    listings,
    [
      row(10, { sold: true }),
      // Deleted by us but still shown (the delete is on its way), even sold and repriced since.
      row(12, { sold: true, price: 5 }),
      row(13, { price: 800 }),
      // Our new price not applied yet: the old one is still ours.
      row(14, { price: 1000 }),
      row(15, { sold: true }),
    ],
    expected,
  );
  assert.deepEqual(report.soldOnVr, [{ productRef: 'PERSON-SOLD', vrListingId: 15 }]);
  assert.deepEqual(report.missingOnVr, []);
  assert.deepEqual(report.changedOnVr, []);
  // A price that is neither ours nor the one we asked for is a person's.
  const again = compareWithExport([ours('WE-REPRICED', 13)], [row(13, { price: 900 })], expected);
  assert.deepEqual(again.changedOnVr, [
    { productRef: 'WE-REPRICED', vrListingId: 13, field: 'price', ours: 800, vr: 900 },
  ]);
});

test('a product linked without a known job: only sold, missing and the price asked for', () => {
  const linked: OurListing = { productRef: 'LINKED', vrListingId: 10, submitted: null };
  const report = compareWithExport([linked], [row(10, { brandName: 'Other', sold: true })]);
  assert.deepEqual(report.soldOnVr, [{ productRef: 'LINKED', vrListingId: 10 }]);
  assert.deepEqual(report.changedOnVr, []);
  assert.deepEqual(compareWithExport([linked], []).missingOnVr, [{ productRef: 'LINKED', vrListingId: 10 }]);
});

test('product_sold is read from the export by name (spaces or underscores), yes or no', async () => {
  const csv = [
    'brand name,product model name,product id,product description,product price,product sold,',
    'Fender,Stratocaster,10,<p>a</p>,1000,yes,',
    'Fender,Stratocaster,11,<p>b</p>,1000,no,',
    'Fender,Stratocaster,12,<p>c</p>,1200, Yes ,',
  ].join('\r\n');
  const rows: ReconcileRow[] = [];
  for await (const r of readExportRows(Readable.from([Buffer.from(csv)]))) rows.push(r);
  assert.deepEqual(
    rows.map((r) => [r.productId, r.sold]),
    [
      [10, true],
      [11, false],
      [12, true],
    ],
  );
  const report = compareWithExport(
    [ours('A', 10), ours('B', 11), ours('C', 12)].map((l) => ({
      ...l,
      submitted: { brand: 'Fender', model: 'Stratocaster', year: null, price: 1000 },
    })),
    rows,
  );
  assert.deepEqual(
    report.soldOnVr.map((s) => s.productRef),
    ['A', 'C'],
  );
  assert.deepEqual(
    report.changedOnVr.map((c) => [c.productRef, c.field, c.vr]),
    [['C', 'price', 1200]],
  );
});

test('the human report names each surprise with its ref, or says there is none', () => {
  const report = compareWithExport(
    [ours('SOLD-1', 10), ours('GONE-1', 11), ours('PRICE-1', 12)],
    [row(10, { sold: true }), row(12, { price: 1500 }), row(13)],
  );
  assert.equal(
    reconcileText(report),
    [
      'Compared 3 listing(s) of ours with the V&R export (3 rows, 1 not ours).',
      '',
      'Sold on V&R, not by vr-lister: 1',
      '  SOLD-1\tV&R 10',
      '',
      'Gone from the export (deleted on V&R), not by vr-lister: 1',
      '  GONE-1\tV&R 11',
      '',
      'Changed on V&R: 1',
      '  PRICE-1\tV&R 12\tprice: ours 1000, V&R 1500',
    ].join('\n'),
  );
  assert.match(
    reconcileText(compareWithExport([ours('A', 10)], [row(10)])),
    /\nNothing changed on V&R behind vr-lister\.$/,
  );
});
