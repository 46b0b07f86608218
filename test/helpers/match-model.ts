/**
 * A model of V&R and of vr-lister's bookkeeping, to drive the real matcher and the real planResolution
 * flush after flush. V&R: ids grow with time (with gaps: other shops list too), every listing is
 * indexed into the export after a delay of its own, strangers list look-alikes by hand whenever they
 * like. vr-lister: one submit at a time, each recording the highest id known before it (a baseline
 * taken before the first submit), flushes at arbitrary moments.
 *
 * The only promise about V&R the resolver relies on: a listing is in any export requested at least
 * the indexing allowance after it was created. Our listings' delays stay within it; strangers' don't
 * have to (a stranger missing from an export can't be mistaken for anything).
 */
import fc from 'fast-check';
import { loadConfig } from '../../src/config.ts';
import { buildMatchCriteria, descriptionWithMarker } from '../../src/creation/create-listing.ts';
import { resolutionTransition } from '../../src/db/jobs.ts';
import type { VrJob } from '../../src/db/schema.ts';
import { DEFAULT_MARKER_TEMPLATE, markerFor } from '../../src/listing/normalize.ts';
import type { ExportRow } from '../../src/resolution/export-stream.ts';
import { planResolution } from '../../src/resolution/flush.ts';
import { createMatcher, type PendingJob } from '../../src/resolution/match.ts';

export const ALLOWANCE_MS = 1_000;

interface Product {
  brand: string;
  model: string;
  price: number;
  year: number | null;
  finish: string | null;
  description: string;
}

/** P0 and P1 differ only by description; P2 is another brand; P3 is P0 at a very different price. */
export const PRODUCTS: Product[] = [
  {
    brand: 'Fender',
    model: 'Stratocaster',
    price: 1200,
    year: 1965,
    finish: 'Sunburst',
    description: '<p>A lovely Strat.</p>',
  },
  {
    brand: 'Fender',
    model: 'Stratocaster',
    price: 1200,
    year: 1965,
    finish: 'Sunburst',
    description: '<p>Another Strat.</p>',
  },
  { brand: 'Gibson', model: 'Les Paul', price: 9000, year: null, finish: null, description: '<p>Burst</p>' },
  {
    brand: 'Fender',
    model: 'Stratocaster',
    price: 4000,
    year: 1965,
    finish: 'Sunburst',
    description: '<p>A lovely Strat.</p>',
  },
];

/** How a stranger's hand-made listing relates to one of our products. */
export type Variant = 'copy' | 'price+1' | 'no-year' | 'other-finish' | 'other-description' | 'copy-marker';
/** A row the evidence can't tell from our own listing of `p` (marker off): the matcher ranks it as ours. */
function lookAlike(row: ExportRow, p: Product): boolean {
  return (
    row.description === p.description &&
    row.year === p.year &&
    row.finish === (p.finish ?? '') &&
    row.price !== null &&
    Math.abs(row.price - p.price) <= 1
  );
}

export type SubmitOutcome = 'known' | 'landed' | 'lost' | 'rejected' | 'rejected_landed';

export type Step =
  | {
      kind: 'ours';
      product: number;
      marker: boolean;
      /** Indexing delay of this listing, within the allowance. */
      delay: number;
      /** Time from V&R creating the listing to our worker seeing Publish answer. */
      lag: number;
      /**
       * `lost`/`landed`: the submit's outcome is unknown to us, and it did not / did reach V&R.
       * `rejected`/`rejected_landed`: the page after the POST showed field errors, and V&R did not /
       * did store the listing anyway.
       */
      outcome: SubmitOutcome;
      idGap: number;
    }
  | { kind: 'stranger'; product: number; variant: Variant; delay: number; idGap: number }
  | { kind: 'wait'; ms: number }
  | { kind: 'flush' };

export interface History {
  /** Strangers' listings made before vr-lister first ran (all long indexed). */
  before: { product: number; variant: Variant; idGap: number }[];
  steps: Step[];
  /** Whether the install takes a baseline before its first submit. */
  baseline: boolean;
}

const product = fc.integer({ min: 0, max: PRODUCTS.length - 1 });
const variant = fc.constantFrom<Variant>(
  'copy',
  'copy',
  'price+1',
  'no-year',
  'other-finish',
  'other-description',
  'copy-marker',
);
const idGap = fc.integer({ min: 0, max: 3 });

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('ours' as const),
      product,
      marker: fc.boolean(),
      delay: fc.integer({ min: 0, max: ALLOWANCE_MS }),
      lag: fc.integer({ min: 0, max: 50 }),
      outcome: fc.constantFrom<SubmitOutcome>(
        'known',
        'known',
        'known',
        'known',
        'landed',
        'lost',
        'rejected',
        'rejected_landed',
      ),
      idGap,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('stranger' as const),
      product,
      variant,
      delay: fc.integer({ min: 0, max: 3 * ALLOWANCE_MS }),
      idGap,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('wait' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 3 * ALLOWANCE_MS })),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'flush' as const }) },
);

export const history: fc.Arbitrary<History> = fc.record({
  before: fc.array(fc.record({ product, variant, idGap }), { maxLength: 4 }),
  steps: fc.array(step, { minLength: 1, maxLength: 30 }),
  baseline: fc.boolean(),
});

interface Listing {
  id: number;
  createdAt: number;
  delay: number;
  row: ExportRow;
  /** The job whose submit made it; undefined for a stranger's. */
  owner: number | undefined;
  product: number;
  variant: Variant | 'ours';
  /** The ref of the marker it carries, if any. */
  markerRef: string | null;
}

interface ModelJob {
  job: VrJob;
  product: number;
  ref: string | null;
  delay: number;
}

export class WrongIdError extends Error {}
export class UnresolvedError extends Error {}

const T0 = Date.parse('2026-01-01T00:00:00Z');

function rowFor(id: number, p: Product, description: string, v: Variant | 'ours'): ExportRow {
  return {
    productId: id,
    brandName: p.brand,
    modelName: p.model,
    description,
    price: v === 'price+1' ? p.price + 1 : p.price,
    year: v === 'no-year' ? null : p.year,
    finish: v === 'other-finish' ? 'Olympic White' : (p.finish ?? ''),
    categoryName: 'Guitars>Electric solid body',
    sold: false,
  };
}

/** Runs one history; throws WrongIdError or UnresolvedError when the property fails. */
export function runHistory(h: History): { resolved: number; review: number } {
  const config = loadConfig({
    FLUSH_SETTLE_MS: String(ALLOWANCE_MS),
    RESOLUTION_BACKOFF_MS: String(ALLOWANCE_MS),
    MAX_RESOLUTION_ATTEMPTS: '3',
    STALE_PENDING_MS: String(30 * 24 * 3_600_000),
  });
  let now = T0;
  let nextId = 1_000;
  const listings: Listing[] = [];
  const jobs: ModelJob[] = [];
  const linked = new Map<number, number>(); // vr id -> job id
  let runsMax: number | null = null;
  let lastMarkerRef = 0;

  const visibleAt = (t: number) =>
    listings.filter((l) => l.createdAt + l.delay <= t).sort((a, b) => a.id - b.id);
  const newId = (gap: number) => {
    nextId += 1 + gap;
    return nextId;
  };
  const lastKnown = () => Math.max(runsMax ?? 0, ...linked.keys(), 0);

  const addStranger = (p: number, v: Variant, delay: number, gap: number, createdAt: number) => {
    const prod = PRODUCTS[p]!;
    // A stranger copying a marker-on listing of ours, marker included (the item is on V&R twice).
    // Only a listing of ours that is on V&R can be copied.
    const onVr = (j: ModelJob) =>
      listings.some((l) => l.owner === j.job.id && l.createdAt + l.delay <= createdAt);
    const copied =
      v === 'copy-marker' ? jobs.filter((j) => j.ref && j.product === p && onVr(j)).at(-1) : undefined;
    // With no marker-on listing of ours to copy, it is a plain copy.
    const kind: Variant = v === 'copy-marker' && !copied ? 'copy' : v;
    let description = v === 'other-description' ? '<p>Made by hand</p>' : prod.description;
    let markerRef: string | null = null;
    if (copied?.ref) {
      description = descriptionWithMarker(
        { ...prod, productRef: copied.ref, finish: prod.finish ?? undefined, year: prod.year ?? undefined },
        markerFor(DEFAULT_MARKER_TEMPLATE, copied.ref),
      );
      markerRef = copied.ref;
    }
    const id = newId(gap);
    listings.push({
      id,
      createdAt,
      delay,
      row: rowFor(id, prod, description, kind === 'copy-marker' ? 'copy' : kind),
      owner: undefined,
      product: p,
      variant: kind,
      markerRef,
    });
  };

  for (const s of h.before) addStranger(s.product, s.variant, 0, s.idGap, now - 10 * ALLOWANCE_MS);

  const submit = (m: ModelJob, outcome: SubmitOutcome, lag: number, gap: number) => {
    if (runsMax === null && linked.size === 0 && h.baseline) {
      // The baseline: one export before the first submit.
      runsMax = Math.max(0, ...visibleAt(now).map((l) => l.id));
    }
    const prod = PRODUCTS[m.product]!;
    const listing = {
      productRef: m.job.productRef,
      brand: prod.brand,
      model: prod.model,
      price: prod.price,
      year: prod.year ?? undefined,
      finish: prod.finish ?? undefined,
      description: prod.description,
    };
    const marker = m.ref ? markerFor(DEFAULT_MARKER_TEMPLATE, m.ref) : null;
    const html = descriptionWithMarker(listing, marker);
    const criteria = buildMatchCriteria(listing, prod.brand, html, marker, lastKnown());
    m.job.payload = {
      listing,
      matchCriteria: criteria,
      ...(outcome.startsWith('rejected') ? { fieldErrorsAfterPost: 'price: is below the minimum' } : {}),
    };
    m.job.submitStartedAt = new Date(now);
    if (outcome !== 'lost' && outcome !== 'rejected') {
      const id = newId(gap);
      listings.push({
        id,
        createdAt: now,
        delay: m.delay,
        row: rowFor(id, prod, html, 'ours'),
        owner: m.job.id,
        product: m.product,
        variant: 'ours',
        markerRef: m.ref,
      });
    }
    now += lag;
    m.job.status = 'completed_pending_id';
    m.job.submittedAt = new Date(now);
    m.job.nextResolutionAt = new Date(now);
    // As creation records it: field errors after a POST leave the outcome unknown too.
    m.job.submitOutcomeUnknown = outcome !== 'known';
  };

  const flush = () => {
    const pendingJobs = jobs.filter((j) => j.job.status === 'completed_pending_id');
    if (pendingJobs.length === 0) return;
    const requestedAt = new Date(now);
    const exported = visibleAt(now);
    const matcher = createMatcher({
      jobs: pendingJobs.map(
        (j): PendingJob => ({
          id: j.job.id,
          submittedAt: j.job.submittedAt!,
          submitStartedAt: j.job.submitStartedAt,
          submitOutcomeUnknown: j.job.submitOutcomeUnknown,
          criteria: j.job.payload.matchCriteria!,
          resolutionAttempts: j.job.resolutionAttempts,
        }),
      ),
      linkedIds: new Set(linked.keys()),
      markerTemplate: DEFAULT_MARKER_TEMPLATE,
      exportRequestedAt: requestedAt,
      indexingAllowanceMs: config.flushSettleMs,
    });
    for (const l of exported) matcher.offer(l.row);
    const outcome = matcher.finish();
    const byId = new Map(listings.map((l) => [l.id, l]));
    for (const m of outcome.matched) {
      const l = byId.get(m.vrListingId);
      const ref = jobs.find((j) => j.job.id === m.jobId)?.ref ?? null;
      if (ref !== null && l?.markerRef !== ref) {
        throw new WrongIdError(
          `marker-on job ${m.jobId} took row ${m.vrListingId}, which lacks its marker ${ref}`,
        );
      }
      if (l?.owner !== m.jobId) {
        throw new WrongIdError(
          `job ${m.jobId} was given V&R id ${m.vrListingId}, which is ${l?.owner === undefined ? "a stranger's" : `job ${l.owner}'s`}`,
        );
      }
    }
    const steps = planResolution(
      pendingJobs.map((j) => j.job),
      outcome,
      config,
      requestedAt,
      new Date(now),
    );
    for (const [id, step] of steps) {
      if (step.kind !== 'rejected') continue;
      // Field errors after a POST are a rejection only on proof: an export taken after the
      // indexing allowance that doesn't show the listing.
      const m = jobs.find((j) => j.job.id === id)!;
      if (m.job.payload.fieldErrorsAfterPost === undefined)
        throw new WrongIdError(`job ${id} was failed as rejected without field errors after its POST`);
      if (now - m.job.submittedAt!.getTime() < config.flushSettleMs)
        throw new WrongIdError(
          `job ${id} was failed as rejected by an export taken before the indexing allowance`,
        );
      const shown = exported.find((l) => l.owner === id);
      if (shown)
        throw new WrongIdError(
          `job ${id} was failed as rejected, but its listing ${shown.id} is in the export`,
        );
    }
    for (const [id, step] of steps) {
      const m = jobs.find((j) => j.job.id === id)!;
      // The flush's own transition, replayed on the model's row (unset fields are left alone, as in SQL).
      const { set } = resolutionTransition(m.job, step);
      for (const [key, value] of Object.entries(set))
        if (value !== undefined) Object.assign(m.job, { [key]: value });
      if (step.kind === 'complete') linked.set(step.vrListingId, id);
    }
    if (exported.length) runsMax = Math.max(runsMax ?? 0, ...exported.map((l) => l.id));
    // Listings handed back to creation are submitted again straight away (outcome known this time).
    for (const [id, step] of steps) {
      if (step.kind !== 'resubmit') continue;
      // A second submit of a listing that may exist is for a person, or the opt-in policy, to decide.
      if (config.resubmitUnknownAfterMs === undefined)
        throw new WrongIdError(`job ${id} was submitted again by itself, without RESUBMIT_UNKNOWN_AFTER_MS`);
      const m = jobs.find((j) => j.job.id === id)!;
      submit(m, 'known', 0, 0);
    }
  };

  for (const s of h.steps) {
    if (s.kind === 'wait') now += s.ms;
    else if (s.kind === 'flush') flush();
    else if (s.kind === 'stranger') addStranger(s.product, s.variant, s.delay, s.idGap, now);
    else {
      const id = jobs.length + 1;
      const ref = s.marker ? `P-${++lastMarkerRef}` : null;
      const job = {
        id,
        productRef: ref ?? `plain-${id}`,
        status: 'in_progress',
        payload: { listing: {} },
        attempts: 1,
        resolutionAttempts: 0,
        generation: 0,
        submitStartedAt: null,
        submittedAt: null,
        submitOutcomeUnknown: false,
        nextResolutionAt: null,
        vrListingId: null,
        error: null,
        createdAt: new Date(now),
        updatedAt: new Date(now),
        completedAt: null,
        artifacts: null,
        verification: null,
      } as unknown as VrJob;
      const m: ModelJob = { job, product: s.product, ref, delay: s.delay };
      jobs.push(m);
      submit(m, s.outcome, s.lag, s.idGap);
    }
  }

  // The end: everything has long been indexed; one more export.
  now += 4 * ALLOWANCE_MS;
  const pendingBefore = jobs.filter((j) => j.job.status === 'completed_pending_id');
  const final = visibleAt(now).filter((l) => !linked.has(l.id));
  flush();
  for (const m of pendingBefore) {
    const c = m.job.payload.matchCriteria!;
    let unambiguous: boolean;
    if (m.ref) {
      // Exactly one unlinked row carries its marker.
      unambiguous = final.filter((l) => l.markerRef === m.ref && l.id > c.lastKnownId).length === 1;
    } else {
      const group = pendingBefore.filter((o) => !o.ref && o.product === m.product);
      const floor = Math.min(...group.map((o) => o.job.payload.matchCriteria!.lastKnownId));
      const lookAlikes = final.filter(
        (l) =>
          l.id > floor &&
          l.markerRef === null &&
          l.product === m.product &&
          lookAlike(l.row, PRODUCTS[m.product]!),
      );
      unambiguous =
        group.every((o) => !o.job.submitOutcomeUnknown) &&
        lookAlikes.length === group.length &&
        lookAlikes.every((l) => group.some((o) => o.job.id === l.owner));
    }
    if (unambiguous && m.job.status !== 'completed') {
      throw new UnresolvedError(
        `job ${m.job.id} (${m.ref ?? 'marker off'}) has unambiguous evidence at the end but is ${m.job.status}`,
      );
    }
  }
  return {
    resolved: jobs.filter((j) => j.job.status === 'completed').length,
    review: jobs.filter((j) => j.job.status === 'needs_review').length,
  };
}
