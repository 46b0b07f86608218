import assert from 'node:assert/strict';
import { createReadStream, existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildMatchCriteria, descriptionWithMarker } from '../../src/creation/create-listing.ts';
import type { MatchCriteria } from '../../src/db/schema.ts';
import {
  brandKey,
  DEFAULT_MARKER_TEMPLATE,
  descriptionHash,
  finishKey,
  markerFor,
  modelKey,
} from '../../src/listing/normalize.ts';
import { type ExportRow, readExportRows } from '../../src/resolution/export-stream.ts';
import {
  createMatcher,
  type MatchOutcome,
  type PendingJob,
  summarizeOutcome,
} from '../../src/resolution/match.ts';

const T0 = Date.parse('2025-01-01T00:00:00Z');

interface Product {
  brand: string;
  model: string;
  price: number;
  year?: number | null;
  finish?: string | null;
  description: string;
}

/** Criteria as the creation worker records them just before Publish, through its own code. */
function criteriaFor(p: Product, lastKnownId: number, ref: string | null = null): MatchCriteria {
  const marker = ref === null ? null : markerFor(DEFAULT_MARKER_TEMPLATE, ref);
  const listing = {
    productRef: ref ?? 'any',
    brand: p.brand,
    model: p.model,
    price: p.price,
    year: p.year ?? undefined,
    finish: p.finish ?? undefined,
    description: p.description,
  };
  const criteria = buildMatchCriteria(
    listing,
    p.brand,
    descriptionWithMarker(listing, marker),
    marker,
    lastKnownId,
  );
  return { ...criteria, recordedAt: new Date(T0).toISOString() };
}

let nextJobId = 1;
function job(
  p: Product,
  lastKnownId: number,
  opts: { ref?: string; at?: number; id?: number } = {},
): PendingJob {
  const id = opts.id ?? nextJobId++;
  return {
    id,
    submittedAt: new Date(T0 + (opts.at ?? id) * 1000),
    criteria: criteriaFor(p, lastKnownId, opts.ref ?? null),
    resolutionAttempts: 0,
  };
}

/** The row V&R shows for a product (optionally with the listing's marker in the description). */
function row(
  productId: number,
  p: Product,
  opts: { ref?: string; brand?: string; model?: string } = {},
): ExportRow {
  const marker = opts.ref === undefined ? '' : `<p>${markerFor(DEFAULT_MARKER_TEMPLATE, opts.ref)}</p>`;
  return {
    productId,
    brandName: opts.brand ?? p.brand,
    modelName: opts.model ?? p.model,
    description: p.description + marker,
    price: p.price,
    year: p.year ?? null,
    finish: p.finish ?? '',
    categoryName: 'Guitars>Electric solid body',
    sold: false,
  };
}

/** Exports are requested an hour after T0 unless said otherwise: every job is long indexed. */
const ALLOWANCE = 5_000;
function run(
  jobs: PendingJob[],
  rows: ExportRow[],
  linkedIds: number[] = [],
  exportRequestedAt = new Date(T0 + 3_600_000),
): MatchOutcome {
  const matcher = createMatcher({
    jobs,
    linkedIds: new Set(linkedIds),
    markerTemplate: DEFAULT_MARKER_TEMPLATE,
    exportRequestedAt,
    indexingAllowanceMs: ALLOWANCE,
  });
  for (const r of rows) matcher.offer(r);
  return matcher.finish();
}

const pairs = (o: MatchOutcome) => o.matched.map((m) => [m.jobId, m.vrListingId]);

const strat: Product = {
  brand: 'Fender',
  model: 'Stratocaster',
  price: 1200,
  year: 1965,
  finish: 'Sunburst',
  description: '<p>A <strong>lovely</strong> Strat.</p>',
};
const lesPaul: Product = {
  brand: 'Gibson',
  model: "'59 Les Paul",
  price: 9000,
  year: null,
  finish: null,
  description: '<p>Burst&rsquo;s the word</p>',
};
const tele: Product = {
  brand: 'Fender',
  model: 'Telecaster',
  price: 900,
  year: 1972,
  finish: 'Butterscotch',
  description: '<p>A Tele.</p>',
};

function noise(from: number, n: number): ExportRow[] {
  const out: ExportRow[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      row(from + i, {
        brand: ['Fender', 'Gibson', 'Martin', 'fender'][i % 4]!,
        model: `Other model ${i}`,
        price: 100 + i,
        description: `<p>Unrelated ${i}</p>`,
      }),
    );
  }
  return out;
}

test('unique products resolve to their rows', () => {
  const jobs = [job(strat, 100, { id: 1 }), job(lesPaul, 100, { id: 2 }), job(tele, 100, { id: 3 })];
  const rows = [...noise(50, 40), row(120, strat), row(121, lesPaul), row(125, tele), ...noise(130, 10)];
  const o = run(jobs, rows);
  assert.deepEqual(pairs(o), [
    [1, 120],
    [2, 121],
    [3, 125],
  ]);
  assert.deepEqual(o.matched[0]?.evidence, 'description+model');
  assert.deepEqual([o.ambiguous, o.duplicates, o.unmatched], [[], [], []]);
  assert.equal(summarizeOutcome(o), 'matched 3, ambiguous 0, duplicates 0, unmatched 0');
});

test('8 identical jobs and 8 rows pair in submission order with product_id order', () => {
  // Job ids deliberately not in submission order.
  const ids = [18, 11, 15, 12, 17, 13, 16, 14];
  const jobs = ids.map((id, i) => job(strat, 500, { id, at: i }));
  const rowIds = [505, 501, 507, 503, 502, 508, 504, 506];
  const o = run([...jobs].reverse(), [...noise(400, 20), ...rowIds.map((r) => row(r, strat))]);
  assert.deepEqual(
    pairs(o),
    ids.map((id, i) => [id, 501 + i]).sort((a, b) => a[0]! - b[0]!),
  );
  assert.equal(o.ambiguous.length, 0);
});

test('8 identical jobs and 9 identical rows (one made by hand): all ambiguous, none matched', () => {
  const jobs = Array.from({ length: 8 }, (_, i) => job(strat, 500, { at: i }));
  const rows = Array.from({ length: 9 }, (_, i) => row(501 + i, strat));
  const o = run(jobs, rows);
  assert.equal(o.matched.length, 0);
  assert.equal(o.ambiguous.length, 8);
  for (const a of o.ambiguous) assert.deepEqual(a.candidates, [501, 502, 503, 504, 505, 506, 507, 508, 509]);
});

test('fewer rows than identical jobs: nothing paired, all wait', () => {
  const jobs = Array.from({ length: 3 }, (_, i) => job(strat, 500, { at: i }));
  const o = run(jobs, [row(501, strat), row(502, strat)]);
  assert.deepEqual(o.matched, []);
  assert.deepEqual(o.ambiguous, []);
  assert.deepEqual(
    o.unmatched,
    jobs.map((j) => j.id),
  );
});

test('marker on: the row with our ref matches, an identical hand-made row is never taken', () => {
  const ours = job(strat, 500, { ref: 'SKU-1' });
  // Hand-made listing of the same guitar, created after ours and before it: both without the marker.
  const rows = [
    row(501, strat),
    row(502, strat, { ref: 'SKU-1' }),
    row(503, strat),
    row(504, strat, { ref: 'SKU-12' }),
  ];
  const o = run([ours], rows);
  assert.deepEqual(o.matched, [{ jobId: ours.id, vrListingId: 502, evidence: 'marker' }]);
  // Without our row in the export yet: the job waits, hand-made rows are not candidates.
  const later = run([ours], [row(501, strat), row(503, strat), row(504, strat, { ref: 'SKU-12' })]);
  assert.deepEqual(later.matched, []);
  assert.deepEqual(later.unmatched, [ours.id]);
});

test('marker on: our ref on two rows is a duplicate, never a pick', () => {
  const ours = job(strat, 500, { ref: 'SKU-1' });
  const o = run([ours], [row(510, strat, { ref: 'SKU-1' }), row(520, strat, { ref: 'SKU-1' })]);
  assert.deepEqual(o.matched, []);
  assert.deepEqual(o.duplicates, [{ jobId: ours.id, vrListingIds: [510, 520] }]);
});

test('marker on: the marker decides even when other fields were edited, entity-encoded markers count', () => {
  const ours = job(strat, 500, { ref: 'A/7' });
  const edited = { ...row(505, strat), modelName: 'Strat (edited)', price: 999 };
  edited.description = `${strat.description}<p>Ref:&nbsp;A/7</p>`;
  const o = run([ours], [edited]);
  assert.deepEqual(pairs(o), [[ours.id, 505]]);
});

test('a row with another job’s marker is never a candidate for a marker-off job', () => {
  const plain = job(strat, 500);
  const o = run([plain], [row(501, { ...strat, description: strat.description }, { ref: 'OTHER-9' })]);
  assert.deepEqual(o.matched, []);
  assert.deepEqual(o.unmatched, [plain.id]);
  // The marker-on job for that ref takes it; the marker-off job still waits for its own row.
  const markerJob = job(strat, 500, { ref: 'OTHER-9' });
  const o2 = run([plain, markerJob], [row(501, strat, { ref: 'OTHER-9' })]);
  assert.deepEqual(pairs(o2), [[markerJob.id, 501]]);
  assert.deepEqual(o2.unmatched, [plain.id]);
});

test('brand is case- and space-insensitive', () => {
  const j1 = job({ ...strat, brand: 'Fender' }, 0);
  const j2 = job({ ...lesPaul, brand: ' gibson ' }, 0);
  const j3 = job({ ...tele, brand: 'FEN DER' }, 0);
  const o = run(
    [j1, j2, j3],
    [
      row(1, strat, { brand: 'fender' }),
      row(2, lesPaul, { brand: 'GIBSON' }),
      row(3, tele, { brand: ' Fender ' }),
    ],
  );
  assert.deepEqual(pairs(o), [
    [j1.id, 1],
    [j2.id, 2],
    [j3.id, 3],
  ]);
  // Another brand with the same model and description is not a candidate.
  const o2 = run([job(strat, 0)], [row(4, strat, { brand: 'Squier' })]);
  assert.equal(o2.matched.length, 0);
});

test('rows at or below lastKnownId are never candidates', () => {
  const j = job(strat, 500);
  const o = run([j], [row(499, strat), row(500, strat)]);
  assert.deepEqual(o.unmatched, [j.id]);
  const o2 = run([j], [row(499, strat), row(500, strat), row(501, strat)]);
  assert.deepEqual(pairs(o2), [[j.id, 501]]);
});

test('identical jobs with different lastKnownIds pair only when every pair respects them', () => {
  const a = job(strat, 100, { at: 1 });
  const b = job(strat, 300, { at: 2 });
  assert.deepEqual(pairs(run([a, b], [row(150, strat), row(350, strat)])), [
    [a.id, 150],
    [b.id, 350],
  ]);
  // 150 and 250: b can't own either, so a has two candidates: a person must look.
  const o = run([a, b], [row(150, strat), row(250, strat)]);
  assert.deepEqual(o.matched, []);
  assert.equal(o.ambiguous.length, 2);
});

test('rows already linked to a product are excluded', () => {
  const j = job(strat, 500);
  const o = run([j], [row(501, strat), row(502, strat)], [501]);
  assert.deepEqual(pairs(o), [[j.id, 502]]);
  const o2 = run([j], [row(501, strat)], [501]);
  assert.deepEqual(o2.unmatched, [j.id]);
});

test('model quirks: padded names and quotes still match; fuzzy model needs the price', () => {
  const j = job(lesPaul, 0);
  const o = run([j], [row(10, lesPaul, { model: '  ‘59 Les Paul ' })]);
  assert.deepEqual(pairs(o), [[j.id, 10]]);

  // Description changed by V&R (not equal), model equal and price equal → tier B.
  const j2 = job(strat, 0);
  const edited = { ...row(11, strat), description: '<p>different text</p>' };
  assert.deepEqual(run([j2], [edited]).matched, [{ jobId: j2.id, vrListingId: 11, evidence: 'model+price' }]);
  // Fuzzy model with the same price → tier C; with another model → not a candidate.
  const fuzzy = { ...edited, modelName: 'Stratocastr' };
  assert.deepEqual(run([j2], [fuzzy]).matched, [
    { jobId: j2.id, vrListingId: 11, evidence: 'fuzzy-model+price' },
  ]);
  assert.deepEqual(run([j2], [{ ...edited, modelName: 'Telecaster' }]).unmatched, [j2.id]);
});

test('contradictions disqualify: year, finish, price', () => {
  const j = job(strat, 0);
  const base = row(20, strat);
  assert.deepEqual(run([j], [{ ...base, year: 1966 }]).unmatched, [j.id]);
  assert.deepEqual(run([j], [{ ...base, finish: 'Olympic White' }]).unmatched, [j.id]);
  assert.deepEqual(run([j], [{ ...base, price: 1250 }]).unmatched, [j.id]);
  // Missing year or finish on the row is not a contradiction.
  assert.deepEqual(pairs(run([j], [{ ...base, year: null, finish: '' }])), [[j.id, 20]]);
});

test('only the best tier counts: an exact row beats a model+price row', () => {
  const j = job(strat, 0);
  const weaker = { ...row(30, strat), description: '<p>hand-made listing</p>' };
  const o = run([j], [weaker, row(31, strat)]);
  assert.deepEqual(pairs(o), [[j.id, 31]]);
});

test('a row that is the best candidate of two different groups at the same tier: both ambiguous', () => {
  // Same model and description, prices one apart (not a contradiction), no description difference.
  const a = job(strat, 0);
  const b = job({ ...strat, price: 1201 }, 0);
  const o = run([a, b], [row(40, strat)]);
  assert.deepEqual(o.matched, []);
  assert.deepEqual(
    o.ambiguous.map((x) => x.jobId),
    [a.id, b.id],
  );
});

test('a row taken by a stronger group is not given to a weaker one', () => {
  // Two listings with the same model and price but different descriptions.
  const p1 = { ...strat, description: '<p>first</p>' };
  const p2 = { ...strat, description: '<p>second</p>' };
  const a = job(p1, 0);
  const b = job(p2, 0);
  const both = run([a, b], [row(50, p1), row(51, p2)]);
  assert.deepEqual(pairs(both), [
    [a.id, 50],
    [b.id, 51],
  ]);
  // Only the first listing is indexed yet: b must wait, not take a's row.
  const one = run([a, b], [row(50, p1)]);
  assert.deepEqual(pairs(one), [[a.id, 50]]);
  assert.deepEqual(one.unmatched, [b.id]);
});

test('offer after finish throws; no jobs means nothing to do', () => {
  const m = createMatcher({
    jobs: [],
    linkedIds: new Set(),
    markerTemplate: DEFAULT_MARKER_TEMPLATE,
    exportRequestedAt: new Date(T0),
    indexingAllowanceMs: ALLOWANCE,
  });
  m.offer(row(1, strat));
  assert.deepEqual(m.finish(), { matched: [], ambiguous: [], duplicates: [], unmatched: [] });
  assert.throws(() => m.offer(row(2, strat)));
});

// --- reference data -------------------------------------------------------------------------

const REFERENCE = new URL('../../../shared/vr-reference/inventory-sample.csv', import.meta.url);

/** A catalogue with the reference sample's quirks, for when the sample isn't there. */
function generatedCatalogue(): ExportRow[] {
  const brands = ['Fender', 'fender', 'Gibson', 'gibson', 'Smith, "Quoted"', 'Martin '];
  const models = ['Stratocaster', "'59 Les Paul", ' Telecaster ', 'D-28', 'Jazz Bass'];
  const rows: ExportRow[] = [];
  for (let i = 0; i < 200; i++) {
    const identical = i % 10 === 0; // a block of identical rows, like fender/Stratocaster in the sample
    rows.push({
      productId: 1000 + i * 3,
      brandName: brands[i % brands.length]!,
      modelName: identical ? 'Stratocaster' : models[(i * 7) % models.length]!,
      description: identical ? '<p>Same text</p>' : `<p>Item ${i}</p>\n<ul><li>Detail &amp; more</li></ul>`,
      price: identical ? 1500 : 100 + ((i * 37) % 50) * 10,
      year: identical ? null : i % 3 === 0 ? null : 1950 + (i % 60),
      finish: identical ? '' : ['Sunburst', '', 'Black '][i % 3]!,
      categoryName: 'Guitars',
      sold: false,
    });
  }
  return rows;
}

function assertEachRowResolvesToItself(rows: ExportRow[]): void {
  const sorted = [...rows].sort((a, b) => a.productId - b.productId);
  const jobs: PendingJob[] = sorted.map((r, i) => ({
    id: i + 1,
    submittedAt: new Date(T0 + i * 1000),
    criteria: {
      brand: r.brandName,
      brandKey: brandKey(r.brandName),
      model: r.modelName,
      modelKey: modelKey(r.modelName),
      year: r.year,
      finish: r.finish === '' ? null : r.finish,
      finishKey: finishKey(r.finish),
      price: r.price ?? 0,
      descriptionHash: descriptionHash(r.description),
      marker: null,
      lastKnownId: 0,
      recordedAt: new Date(T0).toISOString(),
    },
    resolutionAttempts: 0,
  }));
  const o = run(jobs, rows);
  const expected = new Map(jobs.map((j, i) => [j.id, sorted[i]!.productId]));
  assert.deepEqual(o.ambiguous, []);
  assert.deepEqual(o.duplicates, []);
  assert.deepEqual(o.unmatched, []);
  assert.equal(o.matched.length, jobs.length);
  for (const m of o.matched) assert.equal(m.vrListingId, expected.get(m.jobId), `job ${m.jobId}`);
  assert.equal(new Set(o.matched.map((m) => m.vrListingId)).size, jobs.length);
}

test('every row of the reference export (generated rows when absent), taken as a job, resolves to itself', async () => {
  let rows: ExportRow[];
  if (existsSync(REFERENCE)) {
    rows = [];
    for await (const r of readExportRows(createReadStream(fileURLToPath(REFERENCE)))) rows.push(r);
    console.log(`reference data: ${rows.length} rows from ${fileURLToPath(REFERENCE)}`);
    assert.ok(rows.length > 300);
  } else {
    rows = generatedCatalogue();
    console.log(`reference data not present: ${rows.length} generated rows instead`);
  }
  assertEachRowResolvesToItself(rows);
});

test('every row of a generated catalogue, taken as a job, resolves to itself', () => {
  assertEachRowResolvesToItself(generatedCatalogue());
});

test('a relisted item with fewer fields: each job takes the row whose year and finish are as sent', () => {
  // As in the reference sample: the same guitar listed twice, the second time without year and finish.
  const full = { ...strat };
  const bare = { ...strat, year: null, finish: null };
  const a = job(full, 0);
  const b = job(bare, 0);
  const o = run([a, b], [row(60, full), row(61, bare)]);
  assert.deepEqual(pairs(o), [
    [a.id, 60],
    [b.id, 61],
  ]);
  // A hand-made copy lacking the year we sent is not one of ours; if ours is missing, wait.
  const jobs = Array.from({ length: 3 }, (_, i) => job(full, 0, { at: i }));
  const handMade = row(72, bare);
  const o2 = run(jobs, [row(70, full), row(71, full), handMade, row(73, full)]);
  assert.deepEqual(
    o2.matched.map((m) => m.vrListingId),
    [70, 71, 73],
  );
  const o3 = run(jobs, [row(70, full), row(71, full), handMade]);
  assert.deepEqual(o3.matched, []);
  assert.equal(o3.unmatched.length, 3);
});

test('identical jobs pair by count only when every one of them is certainly in the export', () => {
  // A hand-made twin made during the run (id 80) and our first listing (81); our second (submitted
  // 1 s before the export was requested, inside the 5 s allowance) is not indexed yet.
  const a = job(strat, 70, { at: 10 });
  const b = job(strat, 70, { at: 20 });
  const requested = new Date(T0 + 21_000);
  const racing = run([a, b], [row(80, strat), row(81, strat)], [], requested);
  assert.deepEqual(racing.matched, []);
  assert.deepEqual(
    racing.ambiguous.map((x) => [x.jobId, x.candidates]),
    [
      [a.id, [80, 81]],
      [b.id, [80, 81]],
    ],
  );
  // Once both are certainly in: three rows for two jobs, still no pick.
  const later = run([a, b], [row(80, strat), row(81, strat), row(82, strat)]);
  assert.deepEqual(later.matched, []);
  assert.equal(later.ambiguous.length, 2);
  // Without the twin, the same two rows pair as soon as both jobs are certainly in the export.
  assert.deepEqual(pairs(run([a, b], [row(81, strat), row(82, strat)])), [
    [a.id, 81],
    [b.id, 82],
  ]);
  // A lone job submitted inside the allowance doesn't take a lone look-alike either.
  const fresh = job(tele, 70, { at: 20 });
  assert.deepEqual(run([fresh], [row(90, tele)], [], requested).ambiguous, [
    { jobId: fresh.id, candidates: [90] },
  ]);
});

test('a submit whose outcome is unknown is never paired by count; with its marker it is', () => {
  const lost = { ...job(strat, 70), submitOutcomeUnknown: true };
  const o = run([lost], [row(80, strat)]);
  assert.deepEqual(o.matched, []);
  assert.deepEqual(o.ambiguous, [{ jobId: lost.id, candidates: [80] }]);
  // Nothing on V&R: it waits (and is submitted again after its tries, as before).
  assert.deepEqual(run([lost], []).unmatched, [lost.id]);
  const marked = { ...job(strat, 70, { ref: 'SKU-9' }), submitOutcomeUnknown: true };
  assert.deepEqual(pairs(run([marked], [row(80, strat), row(81, strat, { ref: 'SKU-9' })])), [
    [marked.id, 81],
  ]);
});

test('identical jobs whose submits overlap are not paired in order', () => {
  const a = job(strat, 70, { at: 10 });
  const b = { ...job(strat, 70, { at: 11 }), submitStartedAt: new Date(T0 + 9_000) };
  const o = run([a, b], [row(80, strat), row(81, strat)]);
  assert.deepEqual(o.matched, []);
  assert.equal(o.ambiguous.length, 2);
  const apart = { ...b, submitStartedAt: new Date(T0 + 10_500) };
  assert.equal(run([a, apart], [row(80, strat), row(81, strat)]).matched.length, 2);
});

test('a row held by a waiting group is not counted away by a weaker one', () => {
  // Group A (exact) waits: its second job is fresh. Group B (model+price, other description) sees
  // A's row 80 at a weaker tier and must not take it, nor count around it.
  const p2 = { ...strat, description: '<p>second</p>' };
  const a1 = job(strat, 70, { at: 10 });
  const a2 = job(strat, 70, { at: 20 });
  const b = job(p2, 70, { at: 5 });
  const o = run([a1, a2, b], [row(80, strat)], [], new Date(T0 + 21_000));
  assert.deepEqual(o.matched, []);
  assert.ok(o.ambiguous.some((x) => x.jobId === b.id));
});
