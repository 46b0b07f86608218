import { and, desc, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Config } from '../config.ts';
import { type Database, type Db, withAdvisoryLock } from '../db/client.ts';
import { applyResolution, type ResolutionStep } from '../db/jobs.ts';
import { type CandidateDetail, type VrJob, vrJobs, vrProductLinks, vrResolutionRuns } from '../db/schema.ts';
import { FIELD_ERRORS_BUT_STORED, recordSiteFact } from '../db/site-facts.ts';
import { type OutcomeRecorded, recordListingOutcome } from '../db/site-trust.ts';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import { isDatabaseUnavailable } from '../outage.ts';
import type { BrowserSession } from '../vr/browser-session.ts';
import { isSiteUnavailable, NeedsPersonError } from '../vr/errors.ts';
import { downloadAndScan, type ExportStats } from './export-stream.ts';
import { candidateFloor, createMatcher, inExportBy, type MatchOutcome, type PendingJob } from './match.ts';
import {
  type ExportCounts,
  FLUSH_LOCK,
  failRun,
  finishRun,
  markExportRequested,
  type Run,
  startRun,
} from './runs.ts';
import {
  type ExportShape,
  SUSPECT_EXPORTS_TO_ACCEPT,
  SuspectExportError,
  suspectExport,
} from './suspect-export.ts';

export interface FlushDeps {
  database: Database;
  /** The browser the export is downloaded with: only Chrome's network stack gets past Cloudflare. */
  session: BrowserSession;
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

function backoffMs(config: Config, attempts: number): number {
  return config.resolutionBackoffMs * 2 ** Math.max(0, attempts - 1);
}

/**
 * Decides what each pending job becomes after this export; db/jobs.ts applies it. Pure. A job only
 * uses up a try when the export could have shown it (submitted before the download began and due
 * for another look).
 */
export function planResolution(
  jobs: VrJob[],
  outcome: MatchOutcome,
  config: Config,
  exportRequestedAt: Date,
  now: Date,
): Map<number, ResolutionStep> {
  const byId = new Map(jobs.map((job) => [job.id, job]));
  const steps = new Map<number, ResolutionStep>();
  for (const match of outcome.matched) {
    steps.set(match.jobId, { kind: 'complete', vrListingId: match.vrListingId });
  }
  for (const duplicate of outcome.duplicates) {
    steps.set(duplicate.jobId, { kind: 'duplicate', vrListingIds: duplicate.vrListingIds });
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
      const nextResolutionAt = new Date(now.getTime() + backoffMs(config, job.resolutionAttempts + 1));
      steps.set(jobId, { kind: 'wait', nextResolutionAt });
      continue;
    }
    if (
      job.payload.fieldErrorsAfterPost !== undefined &&
      couldBeInExport &&
      !candidates.length &&
      !outcome.lookAlikesSeen?.includes(jobId)
    ) {
      // Field errors after the POST, and an export that would show the listing doesn't (no row
      // that could be it): rejected.
      steps.set(jobId, {
        kind: 'rejected',
        reason: `V&R rejected the listing (field errors after the POST, and the export of ${exportRequestedAt.toISOString()} does not show it): ${job.payload.fieldErrorsAfterPost}`,
      });
      continue;
    }
    const resolutionAttempts = job.resolutionAttempts + (couldBeInExport ? 1 : 0);
    if (candidates.length && (resolutionAttempts >= 2 || stale)) {
      // It waited one more export and the evidence still can't tell the candidates apart.
      steps.set(jobId, { kind: 'ambiguous', candidates, resolutionAttempts });
    } else if (stale) {
      steps.set(jobId, { kind: 'stale', stalePendingMs: config.stalePendingMs, resolutionAttempts });
    } else if (resolutionAttempts >= config.maxResolutionAttempts && job.submitOutcomeUnknown) {
      // The Publish left and its answer wasn't the success text: the listing may exist although no
      // export shows it yet (lag, a cached file, another spelling). Only a person, or the opt-in policy,
      // submits it again.
      steps.set(jobId, unknownNotFound(job, resolutionAttempts, config, exportRequestedAt, now));
    } else if (resolutionAttempts >= config.maxResolutionAttempts) {
      steps.set(jobId, { kind: 'not_found', resolutionAttempts });
    } else {
      const nextResolutionAt = new Date(now.getTime() + backoffMs(config, resolutionAttempts));
      steps.set(jobId, { kind: 'wait', resolutionAttempts, nextResolutionAt });
    }
  }
  return steps;
}

/** Exports an unknown-outcome job must have been looked for in before the policy may resubmit it. */
export const RESUBMIT_MIN_EXPORTS = 3;

/**
 * An unknown-outcome job no export has shown after its tries. By default a person decides
 * (`needs_review`). With RESUBMIT_UNKNOWN_AFTER_MS, a marker-on job (whose marker would make a
 * second listing visible as a duplicate) is submitted again once an export requested that long after
 * the submit, and at least RESUBMIT_MIN_EXPORTS exports in all, still don't show it.
 */
function unknownNotFound(
  job: VrJob,
  resolutionAttempts: number,
  config: Config,
  exportRequestedAt: Date,
  now: Date,
): ResolutionStep {
  const afterMs = config.resubmitUnknownAfterMs;
  const submittedAt = job.submittedAt ?? job.createdAt;
  if (afterMs !== undefined && job.payload.matchCriteria?.marker) {
    const dueAt = new Date(submittedAt.getTime() + afterMs);
    const exportsNeeded = Math.max(config.maxResolutionAttempts, RESUBMIT_MIN_EXPORTS);
    if (exportRequestedAt >= dueAt && resolutionAttempts >= exportsNeeded) {
      return {
        kind: 'resubmit',
        reason: `not found in ${resolutionAttempts} V&R exports, the last requested ${exportRequestedAt.toISOString()}, ${Math.round((exportRequestedAt.getTime() - submittedAt.getTime()) / 1000)} s after the submit (${job.error ?? 'submit outcome unknown'}): submitting again (RESUBMIT_UNKNOWN_AFTER_MS)`,
      };
    }
    const backoff = now.getTime() + backoffMs(config, resolutionAttempts);
    return {
      kind: 'wait',
      resolutionAttempts,
      nextResolutionAt: new Date(Math.max(backoff, dueAt.getTime())),
    };
  }
  const evidence = (job.artifacts ?? []).map((a) => a.name);
  return {
    kind: 'unknown_not_found',
    resolutionAttempts,
    reason:
      `the Publish was sent but its outcome is unknown (${job.error ?? 'no success text'}); not found in ` +
      `${resolutionAttempts} V&R exports requested between ${submittedAt.toISOString()} and ` +
      `${exportRequestedAt.toISOString()} (vr_resolution_runs); evidence: ${evidence.length ? evidence.join(', ') : 'none saved'}. ` +
      `It may still be on V&R: link its id (vr-lister link ${job.id} VR_ID), or if it is not there, vr-lister retry ${job.id} --resubmit`,
  };
}

/** Downloads the export once, matches every pending job, and writes the results in one transaction. */
export async function runFlush(deps: FlushDeps, trigger: string): Promise<FlushResult> {
  return withAdvisoryLock(deps.database.url, FLUSH_LOCK, () => flushLocked(deps, trigger));
}

async function flushLocked(deps: FlushDeps, trigger: string): Promise<FlushResult> {
  const { db } = deps.database;
  const context = await loadFlushContext(db);
  if (!context.jobs.length) return { ...emptyResult(), runId: null };
  const run = await startRun(db, { kind: 'flush', trigger, pendingAtStart: context.jobs.length });
  const log = deps.logger.child({ runId: run.id, trigger });
  try {
    const exportRequestedAt = await markExportRequested(db, run);
    log.info(
      { event: LOG_EVENT.exportDownloading, pending: context.jobs.length },
      'downloading the V&R export',
    );
    const { outcome, stats, details } = await downloadAndMatch(deps, context, exportRequestedAt);
    const steps = planResolution(context.jobs, outcome, deps.config, exportRequestedAt, new Date());
    return await record(db, run, context.jobs, withDetails(steps, details), stats, log);
  } catch (error) {
    await failRun(db, run, error);
    // An outage is reported once by the worker, not at every retry.
    const outage =
      isSiteUnavailable(error) || isDatabaseUnavailable(error) || error instanceof NeedsPersonError;
    log[outage ? 'debug' : 'warn'](
      { event: LOG_EVENT.flushFailed, err: error },
      'flush failed; nothing was written',
    );
    throw error;
  }
}

function emptyResult(): Omit<FlushResult, 'runId'> {
  return {
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
}

/** What a flush reads before it downloads: the pending jobs and what the export is held against. */
interface FlushContext {
  jobs: VrJob[];
  /** The jobs the matcher looks for: those whose submit recorded what to look for. */
  pending: PendingJob[];
  linkedIds: Set<number>;
  /** The last complete export (a baseline counts: it was complete too). */
  lastComplete: ExportShape | undefined;
  /** The latest flushes, newest first, for the suspect-export streak. */
  recent: (ExportShape & { errorKind: string | null })[];
}

async function loadFlushContext(db: Db): Promise<FlushContext> {
  const jobs = await db
    .select()
    .from(vrJobs)
    .where(eq(vrJobs.status, 'completed_pending_id'))
    .orderBy(vrJobs.id);
  if (!jobs.length) return { jobs, pending: [], linkedIds: new Set(), lastComplete: undefined, recent: [] };
  const linked = await db.select({ id: vrProductLinks.vrListingId }).from(vrProductLinks);
  const shape = {
    maxProductId: vrResolutionRuns.maxProductId,
    rowsScanned: vrResolutionRuns.rowsScanned,
    errorKind: vrResolutionRuns.errorKind,
  };
  const [lastComplete] = await db
    .select(shape)
    .from(vrResolutionRuns)
    .where(and(isNotNull(vrResolutionRuns.finishedAt), isNull(vrResolutionRuns.error)))
    .orderBy(desc(vrResolutionRuns.id))
    .limit(1);
  const recent = await db
    .select(shape)
    .from(vrResolutionRuns)
    // Only flushes: a baseline in between must not break a streak of identical suspect exports.
    .where(and(isNotNull(vrResolutionRuns.finishedAt), eq(vrResolutionRuns.kind, 'flush')))
    .orderBy(desc(vrResolutionRuns.id))
    .limit(SUSPECT_EXPORTS_TO_ACCEPT - 1);
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
  return { jobs, pending, linkedIds: new Set(linked.map((l) => l.id)), lastComplete, recent };
}

/** A person choosing between candidates sees what the export showed of them: added to review steps. */
function withDetails(
  steps: Map<number, ResolutionStep>,
  details: Map<number, CandidateDetail>,
): Map<number, ResolutionStep> {
  const pick = (ids: number[]) => ids.flatMap((id) => details.get(id) ?? []);
  for (const [id, step] of steps) {
    if (step.kind === 'ambiguous') steps.set(id, { ...step, details: pick(step.candidates) });
    if (step.kind === 'duplicate') steps.set(id, { ...step, details: pick(step.vrListingIds) });
  }
  return steps;
}

/** Streams the export through the matcher; throws, writing nothing, when the export looks cut short. */
async function downloadAndMatch(
  deps: FlushDeps,
  context: FlushContext,
  exportRequestedAt: Date,
): Promise<{ outcome: MatchOutcome; stats: ExportStats; details: Map<number, CandidateDetail> }> {
  const { config, session } = deps;
  // Every candidate row's few fields (candidates are the rows after a job's last known id: few).
  const details = new Map<number, CandidateDetail>();
  const seenAt = exportRequestedAt.toISOString();
  const matcher = createMatcher({
    onCandidate: (row) =>
      details.set(row.productId, {
        id: row.productId,
        brand: row.brandName,
        model: row.modelName,
        price: row.price,
        year: row.year,
        seenAt,
      }),
    jobs: context.pending,
    linkedIds: context.linkedIds,
    markerTemplate: config.refMarkerTemplate,
    exportRequestedAt,
    indexingAllowanceMs: config.flushSettleMs,
  });
  // Saved to disk by Chromium and streamed from there: memory stays flat whatever the export's size.
  // Rows at or below every job's last known id are counted (for the completeness check) but not decoded.
  const stats = await downloadAndScan(session, config.exportTimeoutMs, (row) => matcher.offer(row), {
    minProductId: candidateFloor(context.pending),
  });
  const suspicion = suspectExport(stats, context.lastComplete, context.recent);
  if (suspicion) throw new SuspectExportError(suspicion, stats);
  return { outcome: matcher.finish(), stats, details };
}

/** What an applied step says about the site (probation and the breaker, db/site-trust.ts). */
function settleSiteTrust(tx: Db, job: VrJob, step: ResolutionStep): Promise<OutcomeRecorded> | undefined {
  // A found listing is settled by its read-back (settleVerification), not here.
  // The Publish left, its answer wasn't the success text, and no export shows it (to review, or
  // resubmitted under RESUBMIT_UNKNOWN_AFTER_MS).
  if (step.kind === 'unknown_not_found' || step.kind === 'resubmit')
    return recordListingOutcome(tx, { jobId: job.id, outcome: 'suspect' });
  return undefined;
}

/** Applies every job's step in one transaction, then finishes the run row. */
async function record(
  db: Db,
  run: Run,
  jobs: VrJob[],
  steps: Map<number, ResolutionStep>,
  stats: ExportCounts,
  log: Logger,
): Promise<FlushResult> {
  const byId = new Map(jobs.map((job) => [job.id, job]));
  let paused: OutcomeRecorded | undefined;
  const applied = await db.transaction(async (tx) => {
    const rows: [ResolutionStep, VrJob][] = [];
    for (const [id, step] of steps) {
      // Undefined when a person changed the job meanwhile: their change wins.
      const job = byId.get(id)!;
      const row = await applyResolution(tx, job, step);
      if (row) rows.push([step, row]);
      const trust = row && (await settleSiteTrust(tx, job, step));
      if (trust?.paused) paused = trust;
      if (row && step.kind === 'complete' && job.payload.fieldErrorsAfterPost !== undefined) {
        await recordSiteFact(tx, FIELD_ERRORS_BUT_STORED, {
          value: { jobId: id, vrListingId: step.vrListingId, words: job.payload.fieldErrorsAfterPost },
          evidence: (job.artifacts ?? []).map((a) => a.name).join(', ') || null,
        });
      }
    }
    return rows;
  });
  if (paused) {
    // As loud as a blocked session: one error line; status, watch, the API and /metrics show it.
    log.error(
      { event: LOG_EVENT.creationPaused, suspectJobs: paused.trust.suspectJobs },
      paused.trust.pauseReason ?? 'creation paused',
    );
  }
  const result: FlushResult = {
    ...emptyResult(),
    runId: run.id,
    rowsScanned: stats.rows,
    bytes: stats.bytes,
  };
  for (const [step, row] of applied) {
    if (step.kind === 'complete') {
      result.resolved += 1;
      log.info(
        { event: LOG_EVENT.vrIdFound, productRef: row.productRef, vrListingId: step.vrListingId },
        'V&R id found',
      );
    } else if (step.kind === 'not_found') result.failed += 1;
    else if (step.kind === 'resubmit') {
      result.resubmitted.push({
        id: row.id,
        generation: row.generation,
        productRef: row.productRef,
        status: 'queued',
      });
    } else if (step.kind !== 'wait') result.needsReview += 1;
    if (row.error && step.kind !== 'resubmit' && step.kind !== 'wait')
      result.errors.push(`job ${row.id}: ${row.error}`);
  }
  result.waiting =
    jobs.length - result.resolved - result.failed - result.needsReview - result.resubmitted.length;
  const [next] = await db
    .select({ at: sql<Date | null>`min(${vrJobs.nextResolutionAt})` })
    .from(vrJobs)
    .where(eq(vrJobs.status, 'completed_pending_id'));
  result.nextDueAt = next?.at ? new Date(next.at) : null;
  await finishRun(db, run, stats, {
    matched: result.resolved,
    unmatched: result.waiting,
    needsReview: result.needsReview,
    failed: result.failed,
  });
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
}
