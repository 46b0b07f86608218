/**
 * The read-back as a job on the resolution queue: after a flush completes jobs (and from the sweep,
 * since Redis may lose the request), each completed job whose verification is pending has its
 * listing's edit page read, one page at a time, and compared with what was asked (verify.ts).
 */
import type { Job, Queue } from 'bullmq';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { Database, Db } from '../db/client.ts';
import { recordVerification } from '../db/jobs.ts';
import { type Verification, type VrJob, vrJobs } from '../db/schema.ts';
import { type OutcomeRecorded, provesSite, recordListingOutcome } from '../db/site-trust.ts';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import { type CreateJobData, creationJobId } from '../queues.ts';
import type { BrowserSession } from '../vr/browser-session.ts';
import { EditPageMarkupError, openEditPage } from '../vr/edit-page.ts';
import type { FlushJobData } from './trigger.ts';
import { askedFromJob, compareStored, differenceFields } from './verify.ts';

export const VERIFY_JOB = 'verify';
/** One verify job waiting and one running at most. */
export const VERIFY_DEDUP_ID = 'verify';
/** Read-backs one verify job does before it hands over to the next (the queue's other jobs go between). */
export const VERIFY_BATCH = 20;

/** Asks for a read-back of every completed job whose verification is pending. */
export async function requestVerify(queue: Queue<FlushJobData>, reason: string): Promise<void> {
  await queue.add(
    VERIFY_JOB,
    { reason, requestedAt: new Date().toISOString() },
    {
      attempts: 8,
      backoff: { type: 'exponential', delay: 10_000 },
      removeOnComplete: { count: 500 },
      removeOnFail: { count: 500 },
      deduplication: { id: VERIFY_DEDUP_ID, keepLastIfActive: true },
    },
  );
}

/** Completed jobs whose read-back is still to do, oldest first. */
export function pendingVerifications(db: Db, limit: number): Promise<VrJob[]> {
  return db
    .select()
    .from(vrJobs)
    .where(and(eq(vrJobs.status, 'completed'), sql`(${vrJobs.verification} ->> 'status') = 'pending'`))
    .orderBy(asc(vrJobs.id))
    .limit(limit);
}

export async function countPendingVerifications(db: Db): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(vrJobs)
    .where(and(eq(vrJobs.status, 'completed'), sql`(${vrJobs.verification} ->> 'status') = 'pending'`));
  return row?.n ?? 0;
}

export interface VerifyDeps {
  database: Pick<Database, 'db'>;
  session: BrowserSession;
  config: Config;
  logger: Logger;
  /** Where the creation jobs are: a mismatch goes in its job's Bull Board log. */
  createQueue?: Queue<CreateJobData>;
}

export interface VerifyResult {
  ok: number;
  mismatch: number;
  skipped: number;
  /** Still pending after this run (more than one batch, or left for the next run). */
  remaining: number;
}

/**
 * Reads back every pending job, one page at a time. An outage (V&R unavailable, blocked) stops the
 * run and is thrown: what is left stays pending, and BullMQ's retry or the sweep comes back to it.
 */
export async function runVerify(deps: VerifyDeps, job?: Job): Promise<VerifyResult> {
  const { database, config } = deps;
  const result: VerifyResult = { ok: 0, mismatch: 0, skipped: 0, remaining: 0 };
  const rows = await pendingVerifications(database.db, VERIFY_BATCH);
  const unread: string[] = [];
  for (const row of rows) {
    if (!config.verifyListings) {
      const verification: Verification = {
        status: 'skipped',
        differences: [],
        checkedAt: null,
        detail: 'VERIFY_LISTINGS=off',
      };
      if (await settleVerification(deps, row, verification, job)) result.skipped += 1;
      continue;
    }
    const verification = await readBack(deps, row);
    if (verification.status === 'pending') {
      // What the page was is recorded; the others go on, and this job's retry reads it again.
      await recordVerification(database.db, row.id, verification);
      deps.logger.warn(
        { jobId: row.id, vrListingId: row.vrListingId, event: LOG_EVENT.verificationPending },
        `read-back of V&R listing ${row.vrListingId} stays pending: ${verification.detail}`,
      );
      unread.push(`job ${row.id}: ${verification.detail}`);
      continue;
    }
    const settled = await settleVerification(deps, row, verification, job);
    if (settled && verification.status === 'ok') result.ok += 1;
    if (settled && verification.status === 'mismatch') result.mismatch += 1;
  }
  result.remaining = await countPendingVerifications(database.db);
  if (unread.length) throw new EditPageMarkupError(`read-back stays pending: ${unread.join('; ')}`);
  return result;
}

/** The edit page of one job's listing, compared with what the job asked. */
async function readBack(deps: VerifyDeps, row: VrJob): Promise<Verification> {
  const { config, session } = deps;
  const checkedAt = new Date().toISOString();
  const vrListingId = String(row.vrListingId);
  let outcome: Awaited<ReturnType<typeof openEditPage>>;
  try {
    outcome = await openEditPage(session, vrListingId);
  } catch (error) {
    if (error instanceof EditPageMarkupError) {
      return { status: 'pending', differences: [], checkedAt: null, detail: error.message };
    }
    throw error;
  }
  if (outcome.kind !== 'found') {
    return {
      status: 'mismatch',
      differences: [{ field: 'listing', asked: vrListingId, found: outcome.kind }],
      checkedAt,
      detail: outcome.detail,
    };
  }
  const asked = askedFromJob(row.payload, config.listingDefaults);
  return { ...compareStored(asked, outcome.listing, config.refMarkerTemplate), checkedAt };
}

/**
 * Where a verification result is settled: the one place a read-back's outcome is written (a mismatch's
 * `listing.mismatch` event is written by a trigger in the same transaction, drizzle/0007) and told (the log line, the job's Bull Board log).
 * Returns the row, or undefined when the job's verification was no longer pending.
 */
export async function settleVerification(
  deps: Pick<VerifyDeps, 'database' | 'logger' | 'createQueue'>,
  row: VrJob,
  verification: Verification,
  job?: Job,
): Promise<VrJob | undefined> {
  const { database, logger } = deps;
  let paused: OutcomeRecorded | undefined;
  const settled = await database.db.transaction(async (tx) => {
    const updated = await recordVerification(tx, row.id, verification);
    // What the listing says about the site (probation and the breaker, db/site-trust.ts).
    const trust = !updated
      ? undefined
      : verification.status === 'mismatch'
        ? await recordListingOutcome(tx, { jobId: row.id, outcome: 'suspect' })
        : verification.status !== 'pending' && provesSite(updated)
          ? await recordListingOutcome(tx, { jobId: row.id, outcome: 'proven' })
          : undefined;
    if (trust?.paused) paused = trust;
    return updated;
  });
  if (!settled) return undefined;
  const context = {
    jobId: row.id,
    productRef: row.productRef,
    vrListingId: row.vrListingId,
  };
  if (verification.status === 'mismatch') {
    const fields = verification.differences.map((d) => d.field);
    logger.warn(
      { ...context, event: LOG_EVENT.listingMismatch, fields, differences: verification.differences },
      `V&R stored listing ${row.vrListingId} other than asked: ${differenceFields(verification.differences)}`,
    );
  } else if (verification.status === 'ok') {
    logger.info({ ...context, event: LOG_EVENT.listingVerified }, 'listing read back as asked');
  }
  await logOnJob(deps, row, verification, job);
  if (paused) {
    // As loud as a blocked session: one error line; status, watch, the API and /metrics show it.
    logger.error(
      { event: LOG_EVENT.creationPaused, suspectJobs: paused.trust.suspectJobs },
      paused.trust.pauseReason ?? 'creation paused',
    );
  }
  return settled;
}

/** The read-back in the creation job's Bull Board log, or the verify job's when that one is gone. */
async function logOnJob(
  deps: Pick<VerifyDeps, 'logger' | 'createQueue'>,
  row: VrJob,
  verification: Verification,
  job: Job | undefined,
): Promise<void> {
  const line =
    verification.status === 'mismatch'
      ? `read-back of V&R listing ${row.vrListingId}: MISMATCH ${verification.differences
          .map((d) => `${d.field}: asked ${JSON.stringify(d.asked)}, found ${JSON.stringify(d.found)}`)
          .join('; ')}`
      : `read-back of V&R listing ${row.vrListingId}: ${verification.status}${verification.detail ? ` (${verification.detail})` : ''}`;
  try {
    const creation = await deps.createQueue?.getJob(creationJobId(row));
    if (creation) await creation.log(line);
    else await job?.log(`job ${row.id}: ${line}`);
  } catch (error) {
    // The row holds the truth; Bull Board's log is a convenience.
    deps.logger.warn({ err: error, jobId: row.id }, 'could not add the read-back to the job log');
  }
}
