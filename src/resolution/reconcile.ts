/**
 * Reconcile: what a person did to our listings on V&R, outside vr-lister. One export is compared
 * with what Postgres says we listed: a listing marked sold there, one that left the export (deleted),
 * one whose price, brand, model or year now differs from what we submitted. Rows that are no
 * listing of ours are only counted. Pure: reconcile-check.ts downloads the export and reads
 * Postgres.
 *
 * Our own intended state is no surprise: `expected` says, per product, what vr-lister itself asked
 * V&R for since the listing was created (sold, deleted, a new price). The fields are compared as
 * the matcher compares them (src/listing/normalize.ts): case and spacing of a brand, quotes and
 * punctuation of a model, a price within 1 (V&R's rounding).
 */
import { brandKey, modelKey } from '../listing/normalize.ts';
import type { ExportRow } from './export-stream.ts';

/** A listing of ours on V&R: a product linked to its V&R id, and what we submitted for it. */
export interface OurListing {
  productRef: string;
  vrListingId: number;
  /** What was submitted; null when the product was linked without a job we know the fields of. */
  submitted: { brand: string; model: string; year: number | null; price: number } | null;
}

/** What vr-lister itself asked V&R for a product since it was listed (vr_actions). */
export interface ExpectedState {
  sold?: boolean;
  deleted?: boolean;
  price?: number;
}

/** Per product ref: the state we asked for, or undefined when we asked for nothing. */
export type Expected = (productRef: string) => ExpectedState | undefined;

export const NOTHING_EXPECTED: Expected = () => undefined;

/** The fields of an export row reconcile reads. */
export type ReconcileRow = Pick<
  ExportRow,
  'productId' | 'brandName' | 'modelName' | 'year' | 'price' | 'sold'
>;

export const CHANGED_FIELDS = ['price', 'brand', 'model', 'year'] as const;
export type ChangedField = (typeof CHANGED_FIELDS)[number];

export interface ListingRef {
  productRef: string;
  vrListingId: number;
}

export interface FieldChange extends ListingRef {
  field: ChangedField;
  /** What we submitted (or, for the price, last asked for). */
  ours: string | number | null;
  /** What the export shows. */
  vr: string | number | null;
}

export interface ReconcileReport {
  /** Marked sold on V&R, and we didn't ask for it. */
  soldOnVr: ListingRef[];
  /** Our listing is no longer in the export, and we didn't delete it. */
  missingOnVr: ListingRef[];
  changedOnVr: FieldChange[];
  /** Rows of the export that are no listing of ours (listed by hand, or before vr-lister). */
  notOurs: number;
  /** Our listings compared. */
  checked: number;
  /** Rows in the export. */
  rows: number;
}

/** Prices within this are equal, as for the matcher: V&R may round. */
const PRICE_TOLERANCE = 1;

function changes(listing: OurListing, row: ReconcileRow, expected: ExpectedState | undefined): FieldChange[] {
  const { submitted } = listing;
  const ref = { productRef: listing.productRef, vrListingId: listing.vrListingId };
  const out: FieldChange[] = [];
  const priceEquals = (a: number | undefined) =>
    a !== undefined && row.price !== null && Math.abs(row.price - a) <= PRICE_TOLERANCE;
  const ours = expected?.price ?? submitted?.price;
  // A new price we asked for and V&R doesn't show yet is ours too: the action is on its way.
  if (ours !== undefined && row.price !== null && !priceEquals(ours) && !priceEquals(submitted?.price)) {
    out.push({ ...ref, field: 'price', ours, vr: row.price });
  }
  if (!submitted) return out;
  if (brandKey(row.brandName) !== brandKey(submitted.brand)) {
    out.push({ ...ref, field: 'brand', ours: submitted.brand, vr: row.brandName });
  }
  if (modelKey(row.modelName) !== modelKey(submitted.model)) {
    out.push({ ...ref, field: 'model', ours: submitted.model, vr: row.modelName });
  }
  // As for the matcher, a year on one side only is no contradiction.
  if (submitted.year !== null && row.year !== null && row.year !== submitted.year) {
    out.push({ ...ref, field: 'year', ours: submitted.year, vr: row.year });
  }
  return out;
}

export interface Reconciler {
  /** One export row, in any order. */
  offer(row: ReconcileRow): void;
  /** The report, once every row was offered. */
  finish(): ReconcileReport;
}

/** Streams the export's rows through `offer`: memory grows with our listings, not the export. */
export function createReconciler(
  ours: readonly OurListing[],
  expected: Expected = NOTHING_EXPECTED,
): Reconciler {
  const byId = new Map<number, OurListing>();
  for (const listing of ours) byId.set(listing.vrListingId, listing);
  const seen = new Set<number>();
  const report: ReconcileReport = {
    soldOnVr: [],
    missingOnVr: [],
    changedOnVr: [],
    notOurs: 0,
    checked: 0,
    rows: 0,
  };
  return {
    offer(row) {
      report.rows += 1;
      const listing = byId.get(row.productId);
      if (!listing) {
        report.notOurs += 1;
        return;
      }
      // V&R ids are unique: a repeated row says nothing new.
      if (seen.has(row.productId)) return;
      seen.add(row.productId);
      const wanted = expected(listing.productRef);
      // Deleted by us and still shown: the delete is on its way, nothing here is a person's doing.
      if (wanted?.deleted) return;
      if (row.sold && !wanted?.sold) {
        report.soldOnVr.push({ productRef: listing.productRef, vrListingId: listing.vrListingId });
      }
      report.changedOnVr.push(...changes(listing, row, wanted));
    },
    finish() {
      for (const listing of byId.values()) {
        if (seen.has(listing.vrListingId) || expected(listing.productRef)?.deleted) continue;
        report.missingOnVr.push({ productRef: listing.productRef, vrListingId: listing.vrListingId });
      }
      report.checked = byId.size;
      const byRef = (a: ListingRef, b: ListingRef) => a.productRef.localeCompare(b.productRef);
      report.soldOnVr.sort(byRef);
      report.missingOnVr.sort(byRef);
      report.changedOnVr.sort(byRef);
      return report;
    },
  };
}

/** The whole comparison over rows already read: see createReconciler. */
export function compareWithExport(
  ours: readonly OurListing[],
  rows: Iterable<ReconcileRow>,
  expected: Expected = NOTHING_EXPECTED,
): ReconcileReport {
  const reconciler = createReconciler(ours, expected);
  for (const row of rows) reconciler.offer(row);
  return reconciler.finish();
}

/** Each kind of surprise and how many: what the scheduled check warns about, and the CLI prints. */
export function surpriseCounts(report: ReconcileReport): {
  soldOnVr: number;
  missingOnVr: number;
  changedOnVr: number;
} {
  return {
    soldOnVr: report.soldOnVr.length,
    missingOnVr: report.missingOnVr.length,
    changedOnVr: report.changedOnVr.length,
  };
}
