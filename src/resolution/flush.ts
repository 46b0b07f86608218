import { and, desc, eq, inArray, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import type { Config } from '../config.ts';
import { type Database, withAdvisoryLock } from '../db/client.ts';
import { type VrJob, vrJobs, vrProductLinks, vrResolutionRuns } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import { isDatabaseUnavailable } from '../outage.ts';
import { safeErrorMessage } from '../safe-errors.ts';
import { isSiteUnavailable } from '../vr/errors.ts';
import type { VrHttpSession } from '../vr/http-session.ts';
import { scanExport } from './export-stream.ts';
import { candidateFloor, createMatcher, inExportBy, type MatchOutcome, type PendingJob } from './match.ts';

export interface FlushDeps {
  database: Database;
  session: VrHttpSession;
  config: Config;
  logger: Logger;
}

export interface FlushResult {
  runId: number | null;
  resolved: number;
  failed: number;
  needsReview: number;
  waiting: number;
  /** Rows handed back to creation: their submit's outcome was unknown and V&R never showed them. */
  resubmitted: { id: number; generation: number; productRef: string; status: 'queued' }[];
  rowsScanned: number;
  bytes: number;
  errors: string[];
  /** When the earliest listing still waiting is due for another look, if any. */
  nextDueAt: Date | null;
}

/** An export with fewer rows than this share of the last complete one is taken for a cut-off download. */
export const EXPORT_MIN_ROW_RATIO = 0.5;
/** Identical suspect exports in a row after which the shop is believed to have really shrunk. */
export const SUSPECT_EXPORTS_TO_ACCEPT = 3;
const SUSPECT = 'the export looks incomplete';

/**
 * A well-formed export that looks cut short (see suspectExport): nothing is written from it. Its
 * run keeps `error_kind` = `suspect_export`, which is how identical ones in a row are counted.
 */
export class SuspectExportError extends Error {
  readonly kind = 'suspect_export';
  constructor(message: string) {
    super(message);
    this.name = 'SuspectExportError';
  }
}

export interface ExportShape {
  rowsScanned: number | null;
  maxProductId: number | null;
}

/**
 * Why this export can't be trusted, or undefined. V&R ids only grow and a shop doesn't lose half
 * its stock between two flushes: an export that stops short of ids seen before, or has less than
 * half the rows of the last complete one, is a cut-off download. Nothing is written from it; the
 * flush is retried. When the same smaller export comes back SUSPECT_EXPORTS_TO_ACCEPT times in a
 * row (`recent`: the latest runs, newest first), it is the truth: items were deleted.
 */
export function suspectExport(
  stats: { rows: number; maxProductId: number },
  lastComplete: ExportShape | undefined,
  recent: (ExportShape & { errorKind: string | null })[],
): string | undefined {
  let reason: string | undefined;
  if (lastComplete?.maxProductId && stats.maxProductId < lastComplete.maxProductId) {
    reason = `${SUSPECT}: its highest id is ${stats.maxProductId}, an earlier export had ${lastComplete.maxProductId}`;
  } else if (lastComplete?.rowsScanned && stats.rows < lastComplete.rowsScanned * EXPORT_MIN_ROW_RATIO) {
    reason = `${SUSPECT}: ${stats.rows} rows, the last complete export had ${lastComplete.rowsScanned} (fewer than ${EXPORT_MIN_ROW_RATIO * 100}%)`;
  }
  if (!reason) return undefined;
  const same = recent
    .slice(0, SUSPECT_EXPORTS_TO_ACCEPT - 1)
    .filter(
      (run) =>
        run.errorKind === 'suspect_export' &&
        run.rowsScanned === stats.rows &&
        run.maxProductId === stats.maxProductId,
    );
  return same.length >= SUSPECT_EXPORTS_TO_ACCEPT - 1 ? undefined : reason;
}

/** One export download at a time across every process (flushes and baselines): pg advisory lock key. */
export const FLUSH_LOCK = 727275;

function backoffMs(config: Config, attempts: number): number {
  return config.resolutionBackoffMs * 2 ** Math.max(0, attempts - 1);
}

type Update = Partial<typeof vrJobs.$inferInsert>;

/**
 * Decides what each pending job becomes after this export. Pure: the caller writes the result.
 * A job only uses up a try when the export could have shown it (submitted before the download
 * began and due for another look).
 */
export function planUpdates(
  jobs: VrJob[],
  outcome: MatchOutcome,
  config: Config,
  exportRequestedAt: Date,
  now: Date,
): { updates: Map<number, Update>; links: { productRef: string; vrListingId: number; jobId: number }[] } {
  const byId = new Map(jobs.map((job) => [job.id, job]));
  const updates = new Map<number, Update>();
  const links: { productRef: string; vrListingId: number; jobId: number }[] = [];
  for (const match of outcome.matched) {
    const job = byId.get(match.jobId)!;
    updates.set(job.id, {
      status: 'completed',
      vrListingId: match.vrListingId,
      completedAt: now,
      error: null,
    });
    links.push({ productRef: job.productRef, vrListingId: match.vrListingId, jobId: job.id });
  }
  for (const duplicate of outcome.duplicates) {
    const job = byId.get(duplicate.jobId)!;
    updates.set(job.id, {
      status: 'needs_review',
      error: `the item is on V&R ${duplicate.vrListingIds.length} times (ids ${duplicate.vrListingIds.join(', ')}): remove the extra listing, then link the right id`,
      payload: { ...job.payload, candidates: duplicate.vrListingIds },
    });
  }
  const waiting = [
    ...outcome.ambiguous.map((a) => ({ jobId: a.jobId, candidates: a.candidates })),
    ...outcome.unmatched.map((jobId) => ({ jobId, candidates: [] as number[] })),
  ];
  for (const { jobId, candidates } of waiting) {
    const job = byId.get(jobId)!;
    const stale = job.submittedAt && now.getTime() - job.submittedAt.getTime() > config.stalePendingMs;
    // V&R indexes with a delay: a listing submitted just before the download doesn't use up a try.
    const couldBeInExport =
      inExportBy(job.submittedAt, exportRequestedAt, config.flushSettleMs) &&
      (job.nextResolutionAt === null || job.nextResolutionAt <= exportRequestedAt);
    if (!couldBeInExport && !stale) {
      // Too fresh to count as a try; look again once V&R has had time to index it.
      updates.set(job.id, {
        nextResolutionAt: new Date(now.getTime() + backoffMs(config, job.resolutionAttempts + 1)),
      });
      continue;
    }
    const attempts = job.resolutionAttempts + (couldBeInExport ? 1 : 0);
    if (candidates.length && (attempts >= 2 || stale)) {
      // It waited one more export and the evidence still can't tell the candidates apart.
      updates.set(job.id, {
        status: 'needs_review',
        resolutionAttempts: attempts,
        error: `cannot tell which V&R listing is ours: candidates ${candidates.join(', ')}`,
        payload: { ...job.payload, candidates },
      });
    } else if (stale) {
      updates.set(job.id, {
        status: 'needs_review',
        resolutionAttempts: attempts,
        error: `pending for over ${Math.round(config.stalePendingMs / 60_000)} minutes without being found in the V&R export`,
      });
    } else if (attempts >= config.maxResolutionAttempts && job.submitOutcomeUnknown) {
      // The submit never landed: V&R would show it by now. Submit again, once more through creation.
      updates.set(job.id, {
        status: 'queued',
        resolutionAttempts: 0,
        submitStartedAt: null,
        submittedAt: null,
        submitOutcomeUnknown: false,
        nextResolutionAt: null,
        generation: job.generation + 1,
        error: `not found in the V&R export after ${attempts} attempts (${job.error ?? 'submit outcome unknown'}): submitting again`,
      });
    } else if (attempts >= config.maxResolutionAttempts) {
      updates.set(job.id, {
        status: 'failed',
        resolutionAttempts: attempts,
        error: `not found in the V&R export after ${attempts} attempts`,
      });
    } else {
      updates.set(job.id, {
        resolutionAttempts: attempts,
        nextResolutionAt: new Date(now.getTime() + backoffMs(config, attempts)),
      });
    }
  }
  return { updates, links };
}

/** Downloads the export once, matches every pending job, and writes the results in one transaction. */
export async function runFlush(deps: FlushDeps, trigger: string): Promise<FlushResult> {
  return withAdvisoryLock(deps.database.url, FLUSH_LOCK, () => flushLocked(deps, trigger));
}

async function flushLocked(deps: FlushDeps, trigger: string): Promise<FlushResult> {
  const { database, config, logger, session } = deps;
  const { db } = database;
  const started = Date.now();
  const jobs = await db
    .select()
    .from(vrJobs)
    .where(eq(vrJobs.status, 'completed_pending_id'))
    .orderBy(vrJobs.id);
  const result: FlushResult = {
    runId: null,
    resolved: 0,
    failed: 0,
    needsReview: 0,
    waiting: 0,
    resubmitted: [],
    rowsScanned: 0,
    bytes: 0,
    errors: [],
    nextDueAt: null,
  };
  if (!jobs.length) return result;

  const [run] = await db
    .insert(vrResolutionRuns)
    .values({ trigger, pendingAtStart: jobs.length })
    .returning({ id: vrResolutionRuns.id });
  result.runId = run!.id;
  const log = logger.child({ runId: run!.id, trigger });

  let scanned: { rows: number; maxProductId: number; bytes: number } | undefined;
  try {
    const linked = await db.select({ id: vrProductLinks.vrListingId }).from(vrProductLinks);
    const pending: PendingJob[] = jobs.flatMap((job) =>
      job.payload.matchCriteria
        ? [
            {
              id: job.id,
              submittedAt: job.submittedAt ?? job.createdAt,
              submitStartedAt: job.submitStartedAt,
              submitOutcomeUnknown: job.submitOutcomeUnknown,
              criteria: job.payload.matchCriteria,
              resolutionAttempts: job.resolutionAttempts,
            },
          ]
        : [],
    );
    const [previous] = await db
      .select({ maxProductId: vrResolutionRuns.maxProductId, rowsScanned: vrResolutionRuns.rowsScanned })
      // A baseline counts: it was a complete export too.
      .from(vrResolutionRuns)
      .where(and(isNotNull(vrResolutionRuns.finishedAt), isNull(vrResolutionRuns.error)))
      .orderBy(desc(vrResolutionRuns.id))
      .limit(1);
    const recent = await db
      .select({
        maxProductId: vrResolutionRuns.maxProductId,
        rowsScanned: vrResolutionRuns.rowsScanned,
        errorKind: vrResolutionRuns.errorKind,
      })
      .from(vrResolutionRuns)
      // Only flushes: a baseline in between must not break a streak of identical suspect exports.
      .where(
        and(
          isNotNull(vrResolutionRuns.finishedAt),
          lt(vrResolutionRuns.id, run!.id),
          eq(vrResolutionRuns.kind, 'flush'),
        ),
      )
      .orderBy(desc(vrResolutionRuns.id))
      .limit(SUSPECT_EXPORTS_TO_ACCEPT - 1);

    const exportRequestedAt = new Date();
    await db.update(vrResolutionRuns).set({ exportRequestedAt }).where(eq(vrResolutionRuns.id, run!.id));
    const matcher = createMatcher({
      jobs: pending,
      linkedIds: new Set(linked.map((l) => l.id)),
      markerTemplate: config.refMarkerTemplate,
      exportRequestedAt,
      indexingAllowanceMs: config.flushSettleMs,
    });
    log.info({ pending: jobs.length }, 'downloading the V&R export');
    const body = await session.openExport(AbortSignal.timeout(config.exportTimeoutMs));
    // Rows at or below every job's last known id are counted (for the completeness check) but not decoded.
    const stats = await scanExport(body, (row) => matcher.offer(row), {
      minProductId: candidateFloor(pending),
    });
    scanned = stats;
    result.rowsScanned = stats.rows;
    result.bytes = stats.bytes;
    const suspicion = suspectExport(stats, previous, recent);
    if (suspicion) throw new SuspectExportError(suspicion);
    const outcome = matcher.finish();
    const now = new Date();
    const { updates, links } = planUpdates(jobs, outcome, config, exportRequestedAt, now);

    await db.transaction(async (tx) => {
      if (links.length) await tx.insert(vrProductLinks).values(links);
      for (const [id, update] of updates) {
        // Only rows still pending: a manual change meanwhile wins.
        await tx
          .update(vrJobs)
          .set({ ...update, updatedAt: now })
          .where(and(eq(vrJobs.id, id), eq(vrJobs.status, 'completed_pending_id')));
      }
    });
    for (const link of links)
      log.info({ productRef: link.productRef, vrListingId: link.vrListingId }, 'V&R id found');

    for (const [id, update] of updates) {
      if (update.status === 'completed') result.resolved += 1;
      else if (update.status === 'failed') result.failed += 1;
      else if (update.status === 'needs_review') result.needsReview += 1;
      else if (update.status === 'queued') {
        const job = jobs.find((j) => j.id === id)!;
        result.resubmitted.push({
          id,
          generation: update.generation!,
          productRef: job.productRef,
          status: 'queued',
        });
      }
      if (update.error && update.status !== 'queued') result.errors.push(`job ${id}: ${update.error}`);
    }
    result.waiting =
      jobs.length - result.resolved - result.failed - result.needsReview - result.resubmitted.length;
    const [next] = await db
      .select({ at: sql<Date | null>`min(${vrJobs.nextResolutionAt})` })
      .from(vrJobs)
      .where(inArray(vrJobs.status, ['completed_pending_id']));
    result.nextDueAt = next?.at ? new Date(next.at) : null;

    await db
      .update(vrResolutionRuns)
      .set({
        finishedAt: new Date(),
        rowsScanned: stats.rows,
        maxProductId: stats.maxProductId,
        bytes: stats.bytes,
        matched: result.resolved,
        unmatched: result.waiting,
        needsReview: result.needsReview,
        failed: result.failed,
        durationMs: Date.now() - started,
      })
      .where(eq(vrResolutionRuns.id, run!.id));
    log.info(
      {
        rows: stats.rows,
        bytes: stats.bytes,
        resolved: result.resolved,
        waiting: result.waiting,
        failed: result.failed,
        needsReview: result.needsReview,
        resubmitted: result.resubmitted.length,
      },
      'flush finished',
    );
    return result;
  } catch (error) {
    const message = safeErrorMessage(error);
    await db
      .update(vrResolutionRuns)
      .set({
        finishedAt: new Date(),
        error: message,
        errorKind: error instanceof SuspectExportError ? error.kind : null,
        durationMs: Date.now() - started,
        // Kept for suspect exports: identical ones in a row are believed (suspectExport).
        rowsScanned: scanned?.rows ?? null,
        maxProductId: scanned?.maxProductId ?? null,
        bytes: scanned?.bytes ?? null,
      })
      .where(eq(vrResolutionRuns.id, run!.id))
      .catch(() => {});
    // An outage is reported once by the worker, not at every retry.
    const outage = isSiteUnavailable(error) || isDatabaseUnavailable(error);
    log[outage ? 'debug' : 'warn']({ err: error }, 'flush failed; nothing was written');
    throw error;
  }
}
