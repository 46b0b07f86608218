/**
 * Runs a reconcile (see reconcile.ts): reads our listings from Postgres, downloads one export
 * through the browser session as a flush does, and compares them. Writes nothing.
 */
import { and, asc, desc, eq, isNotNull, isNull, ne } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import { vrActions, vrJobs, vrProductLinks, vrResolutionRuns } from '../db/schema.ts';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import type { BrowserSession } from '../vr/browser-session.ts';
import { downloadAndScan } from './export-stream.ts';
import {
  createReconciler,
  type Expected,
  type ExpectedState,
  type OurListing,
  type ReconcileReport,
  surpriseCounts,
} from './reconcile.ts';
import { SuspectExportError, suspectExport } from './suspect-export.ts';

export interface ReconcileDeps {
  db: Db;
  /** The browser the export is downloaded with, as for a flush. */
  session: BrowserSession;
  config: Config;
  /**
   * What vr-lister itself asked V&R for, per product (sold, deleted, a new price): not reported as
   * a surprise. Default: what vr_actions asked (expectedFromActions).
   */
  expected?: Expected;
}

/**
 * Our listings on V&R: every product linked to a V&R id (vr_product_links) with what its job
 * submitted, and any completed job with an id whose product has no link (none, normally).
 */
export async function loadOurListings(db: Db): Promise<OurListing[]> {
  const linked = await db
    .select({
      productRef: vrProductLinks.productRef,
      vrListingId: vrProductLinks.vrListingId,
      payload: vrJobs.payload,
    })
    .from(vrProductLinks)
    .leftJoin(vrJobs, eq(vrJobs.id, vrProductLinks.jobId));
  const completed = await db
    .select({ productRef: vrJobs.productRef, vrListingId: vrJobs.vrListingId, payload: vrJobs.payload })
    .from(vrJobs)
    .where(and(eq(vrJobs.status, 'completed'), isNotNull(vrJobs.vrListingId)))
    .orderBy(desc(vrJobs.completedAt), desc(vrJobs.id));
  const byRef = new Map<string, OurListing>();
  for (const row of [...linked, ...completed]) {
    if (row.vrListingId === null || byRef.has(row.productRef)) continue;
    const criteria = row.payload?.matchCriteria;
    const listing = row.payload?.listing;
    // What was submitted: the match criteria record it (a brand V&R didn't know was sent as the
    // fallback brand); older jobs have only the listing.
    const submitted = criteria
      ? { brand: criteria.brand, model: criteria.model, year: criteria.year, price: criteria.price }
      : listing
        ? { brand: listing.brand, model: listing.model, year: listing.year ?? null, price: listing.price }
        : null;
    byRef.set(row.productRef, { productRef: row.productRef, vrListingId: row.vrListingId, submitted });
  }
  return [...byRef.values()];
}

/** The last complete export's shape (flush or baseline), to judge this one by. */
async function lastCompleteExport(db: Db) {
  const [last] = await db
    .select({ maxProductId: vrResolutionRuns.maxProductId, rowsScanned: vrResolutionRuns.rowsScanned })
    .from(vrResolutionRuns)
    .where(and(isNotNull(vrResolutionRuns.finishedAt), isNull(vrResolutionRuns.error)))
    .orderBy(desc(vrResolutionRuns.id))
    .limit(1);
  return last;
}

/**
 * What our own actions asked of V&R (vr_actions, done or still on their way; a failed one asked
 * nothing that stuck), per product, the latest of each kind winning: sold by mark_sold and
 * unsold by restore, deleted, and the price of the last update that set one.
 */
export async function expectedFromActions(db: Db): Promise<Expected> {
  const rows = await db
    .select({ productRef: vrActions.productRef, kind: vrActions.kind, changes: vrActions.changes })
    .from(vrActions)
    .where(ne(vrActions.status, 'failed'))
    .orderBy(asc(vrActions.id));
  const byRef = new Map<string, ExpectedState>();
  for (const { productRef, kind, changes } of rows) {
    const state = byRef.get(productRef) ?? {};
    if (kind === 'mark_sold') state.sold = true;
    else if (kind === 'restore') state.sold = false;
    else if (kind === 'delete') state.deleted = true;
    else if (kind === 'update' && typeof changes?.price === 'number') state.price = changes.price;
    byRef.set(productRef, state);
  }
  return (productRef) => byRef.get(productRef);
}

/**
 * Downloads one export and compares it with our listings. Throws, reporting nothing, when the
 * export is damaged (ExportFormatError) or looks cut short (SuspectExportError): half an export
 * would make every listing in the other half look deleted.
 */
export async function reconcile(deps: ReconcileDeps): Promise<ReconcileReport> {
  const { db, session, config } = deps;
  const ours = await loadOurListings(db);
  const lastComplete = await lastCompleteExport(db);
  const reconciler = createReconciler(ours, deps.expected ?? (await expectedFromActions(db)));
  const stats = await downloadAndScan(session, config.exportTimeoutMs, (row) => reconciler.offer(row));
  // No streak of identical exports is kept here: the flush's runs decide when a smaller shop is real.
  const suspicion = suspectExport(stats, lastComplete, []);
  if (suspicion) throw new SuspectExportError(suspicion, stats);
  return reconciler.finish();
}

/** How many refs a warning lists; the count is always whole. */
const REFS_IN_WARNING = 20;

/**
 * The scheduled check (RECONCILE_INTERVAL_MS): one reconcile, and one warning per kind of surprise
 * found, with its count and the first refs. Returns the report.
 */
export async function runScheduledReconcile(
  deps: ReconcileDeps & { logger: Logger },
): Promise<ReconcileReport> {
  const { logger } = deps;
  const report = await reconcile(deps);
  const counts = surpriseCounts(report);
  for (const kind of ['soldOnVr', 'missingOnVr', 'changedOnVr'] as const) {
    if (counts[kind] === 0) continue;
    const refs = [...new Set(report[kind].map((item) => item.productRef))];
    logger.warn(
      {
        event: LOG_EVENT.reconcileSurprise,
        kind,
        count: counts[kind],
        productRefs: refs.slice(0, REFS_IN_WARNING),
      },
      `reconcile: ${counts[kind]} ${SURPRISE_WORDS[kind]} on V&R, not by vr-lister`,
    );
  }
  logger.info(
    {
      event: LOG_EVENT.reconcileDone,
      ...counts,
      notOurs: report.notOurs,
      checked: report.checked,
      rows: report.rows,
    },
    'reconcile done',
  );
  return report;
}

export const SURPRISE_WORDS = {
  soldOnVr: 'listing(s) marked sold',
  missingOnVr: 'listing(s) gone from the export (deleted)',
  changedOnVr: 'field(s) changed',
} as const;
