import { and, isNotNull } from 'drizzle-orm';
import { type Db, withAdvisoryLock } from '../db/client.ts';
import { vrProductLinks, vrResolutionRuns } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import { scanExport } from './export-stream.ts';
import { FLUSH_LOCK, failRun, finishRun, markExportRequested, startRun } from './runs.ts';

export interface BaselineDeps {
  db: Db;
  /** For the advisory lock's own connection (see withAdvisoryLock). */
  databaseUrl: string;
  /** Opens V&R's inventory export as a byte stream. */
  openExport: () => Promise<AsyncIterable<Uint8Array>>;
  logger: Logger;
}

/** Whether some finished run saw the export's highest id, or some product is linked to a V&R id. */
async function hasLastKnownId(db: Db): Promise<boolean> {
  const [run] = await db
    .select({ id: vrResolutionRuns.id })
    .from(vrResolutionRuns)
    .where(and(isNotNull(vrResolutionRuns.finishedAt), isNotNull(vrResolutionRuns.maxProductId)))
    .limit(1);
  if (run) return true;
  const [link] = await db.select({ id: vrProductLinks.vrListingId }).from(vrProductLinks).limit(1);
  return link !== undefined;
}

/**
 * Makes sure the install knows a V&R id below every listing it will submit: without one, every
 * look-alike that was on the shop before vr-lister first ran (or before a restore that lost the
 * runs table) would be a candidate for our listings, and identical ones could never be told apart.
 * When there is none, downloads the export once and records its highest id as a `baseline` run.
 * Under the flush's lock: two workers never both download, and the second finds the first's row.
 * Returns the baseline's highest id when it took one.
 */
export async function ensureBaseline(deps: BaselineDeps): Promise<number | undefined> {
  const { db, logger } = deps;
  if (await hasLastKnownId(db)) return undefined;
  return withAdvisoryLock(deps.databaseUrl, FLUSH_LOCK, async () => {
    if (await hasLastKnownId(db)) return undefined;
    const run = await startRun(db, { kind: 'baseline', trigger: 'baseline', pendingAtStart: 0 });
    logger.info({ runId: run.id }, 'no V&R id known yet: downloading the export once for a baseline');
    try {
      await markExportRequested(db, run);
      const body = await deps.openExport();
      // Counted, never decoded: only the highest id matters.
      const stats = await scanExport(body, () => {}, { minProductId: Number.MAX_SAFE_INTEGER });
      await finishRun(db, run, stats);
      logger.info({ runId: run.id, rows: stats.rows, maxProductId: stats.maxProductId }, 'baseline taken');
      return stats.maxProductId;
    } catch (error) {
      await failRun(db, run, error);
      throw error;
    }
  });
}
