import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { type RunKind, vrResolutionRuns } from '../db/schema.ts';
import { safeErrorMessage } from '../safe-errors.ts';
import { SuspectExportError } from './suspect-export.ts';

/** One export download at a time across every process (flushes and baselines): pg advisory lock key. */
export const FLUSH_LOCK = 727275;

/** A row of vr_resolution_runs being written: one per export download. */
export interface Run {
  id: number;
  startedMs: number;
}

export interface ExportCounts {
  rows: number;
  maxProductId: number;
  bytes: number;
}

type RunOutcome = Pick<
  typeof vrResolutionRuns.$inferInsert,
  'matched' | 'unmatched' | 'needsReview' | 'failed'
>;

export async function startRun(
  db: Db,
  values: { kind: RunKind; trigger: string; pendingAtStart: number },
): Promise<Run> {
  const startedMs = Date.now();
  const [run] = await db.insert(vrResolutionRuns).values(values).returning({ id: vrResolutionRuns.id });
  return { id: run!.id, startedMs };
}

/** When the export request was sent: listings submitted after it cannot be in this export. */
export async function markExportRequested(db: Db, run: Run): Promise<Date> {
  const exportRequestedAt = new Date();
  await db.update(vrResolutionRuns).set({ exportRequestedAt }).where(eq(vrResolutionRuns.id, run.id));
  return exportRequestedAt;
}

export async function finishRun(
  db: Db,
  run: Run,
  counts: ExportCounts,
  outcome: RunOutcome = {},
): Promise<void> {
  await db
    .update(vrResolutionRuns)
    .set({
      finishedAt: new Date(),
      rowsScanned: counts.rows,
      maxProductId: counts.maxProductId,
      bytes: counts.bytes,
      ...outcome,
      durationMs: Date.now() - run.startedMs,
    })
    .where(eq(vrResolutionRuns.id, run.id));
}

/**
 * Records why the run wrote nothing. Never throws: the caller rethrows the run's own error. A
 * suspect export keeps its shape, so that identical ones in a row are believed (suspectExport).
 */
export async function failRun(db: Db, run: Run, error: unknown): Promise<void> {
  const suspect = error instanceof SuspectExportError ? error : undefined;
  await db
    .update(vrResolutionRuns)
    .set({
      finishedAt: new Date(),
      error: safeErrorMessage(error),
      errorKind: suspect?.kind ?? null,
      durationMs: Date.now() - run.startedMs,
      rowsScanned: suspect?.stats.rows ?? null,
      maxProductId: suspect?.stats.maxProductId ?? null,
      bytes: suspect?.stats.bytes ?? null,
    })
    .where(eq(vrResolutionRuns.id, run.id))
    // Postgres is usually why the run failed: the caller rethrows that error; the outage is reported.
    .catch(() => {});
}
