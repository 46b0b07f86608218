import type { Queue } from 'bullmq';
import { and, eq, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { vrJobs, vrResolutionRuns } from '../db/schema.ts';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';

export const FLUSH_JOB = 'flush';
/** One flush waiting and one running at most: BullMQ deduplication with keepLastIfActive. */
export const FLUSH_DEDUP_ID = 'flush';
/** The backoff timer for listings V&R hasn't indexed yet; separate so a running flush can't swallow it. */
export const RETRY_DEDUP_ID = 'flush-retry';

export interface FlushJobData {
  reason: string;
  requestedAt: string;
}

const FLUSH_JOB_OPTIONS = {
  attempts: 6,
  backoff: { type: 'exponential', delay: 10_000 },
  removeOnComplete: { count: 500 },
  removeOnFail: { count: 500 },
} as const;

/**
 * Asks for a flush after `delayMs`. A request that arrives while a flush runs yields exactly one
 * more flush after it; a request for "now" brings forward a flush that is waiting out its delay.
 */
export async function requestFlush(queue: Queue<FlushJobData>, reason: string, delayMs = 0): Promise<void> {
  await queue.add(
    FLUSH_JOB,
    { reason, requestedAt: new Date().toISOString() },
    { ...FLUSH_JOB_OPTIONS, delay: delayMs, deduplication: { id: FLUSH_DEDUP_ID, keepLastIfActive: true } },
  );
  if (delayMs > 0) return;
  const existingId = await queue.getDeduplicationJobId(FLUSH_DEDUP_ID);
  const existing = existingId ? await queue.getJob(existingId) : undefined;
  // It may have started or gone since isDelayed; if not, it runs when its delay ends.
  if (existing && (await existing.isDelayed())) await existing.promote().catch(() => {});
}

/** Wakes the resolver when the earliest unmatched listing is due again. */
export async function scheduleRetryFlush(queue: Queue<FlushJobData>, delayMs: number): Promise<void> {
  await queue.add(
    FLUSH_JOB,
    { reason: 'retry', requestedAt: new Date().toISOString() },
    { ...FLUSH_JOB_OPTIONS, delay: Math.max(0, delayMs), deduplication: { id: RETRY_DEDUP_ID } },
  );
}

/**
 * `runningSince`: when the flush a worker holds now was taken (BullMQ's processedOn), which may be
 * before its run row exists; the listings submitted before either are that flush's.
 */
export async function countDuePending(
  db: Db,
  runningSince: Date | null = null,
): Promise<{ due: number; pending: number; dueAfterRunning: number; newestSubmittedAt: Date | null }> {
  const takenBefore = runningSince?.toISOString() ?? '-infinity';
  const [row] = await db
    .select({
      pending: sql<number>`count(*)::int`,
      due: sql<number>`(count(*) filter (where ${lte(vrJobs.nextResolutionAt, sql`now()`)}))::int`,
      newest: sql<Date | string | null>`max(${vrJobs.submittedAt})`,
      // Due listings a flush that is downloading right now will not see: submitted after it began.
      dueAfterRunning: sql<number>`(count(*) filter (where ${lte(vrJobs.nextResolutionAt, sql`now()`)}
        and ${vrJobs.submittedAt} > greatest(coalesce((select r.started_at from ${vrResolutionRuns} r
          where r.id = (select max(id) from ${vrResolutionRuns} where kind = 'flush')
          and r.finished_at is null), '-infinity'), ${takenBefore}::timestamptz)))::int`,
    })
    .from(vrJobs)
    .where(and(eq(vrJobs.status, 'completed_pending_id')));
  return {
    due: row?.due ?? 0,
    pending: row?.pending ?? 0,
    dueAfterRunning: row?.dueAfterRunning ?? 0,
    newestSubmittedAt: row?.newest ? new Date(row.newest) : null,
  };
}

/** When the earliest flush a worker holds now was taken, or null when none runs. */
export async function runningFlushSince(queue: Queue<FlushJobData>): Promise<Date | null> {
  const taken = (await queue.getActive())
    .filter((job) => job.name === FLUSH_JOB && job.processedOn)
    .map((job) => job.processedOn!);
  return taken.length ? new Date(Math.min(...taken)) : null;
}

/**
 * A batch flush asked for as the previous one was taken (decideFlush read the queue just before)
 * runs after it and finds a few. While creation still works, each listing it ends asks again
 * (decideFlush), so that flush can wait for a full batch or the drain (and the sweep is behind both).
 */
export async function batchTakenAlready(db: Db, createQueue: Queue, maxBatchSize: number): Promise<boolean> {
  const { due } = await countDuePending(db);
  if (due >= maxBatchSize) return false;
  // Only jobs about to run: a drain asked for before this flush started was folded into it.
  const creating = await createQueue.getJobCounts('waiting', 'prioritized');
  return (creating.waiting ?? 0) + (creating.prioritized ?? 0) > 0;
}

export interface FlushDecisionDeps {
  db: Db;
  createQueue: Queue;
  resolveQueue: Queue<FlushJobData>;
  maxBatchSize: number;
  flushSettleMs: number;
  logger: Logger;
}

/**
 * Decided from Postgres and queue counts after every creation, not from an in-memory event:
 * a full batch flushes now; an empty creation queue flushes once V&R has had time to index.
 */
export async function decideFlush(deps: FlushDecisionDeps): Promise<'batch' | 'drain' | 'none'> {
  const { due, dueAfterRunning, pending, newestSubmittedAt } = await countDuePending(
    deps.db,
    await runningFlushSince(deps.resolveQueue),
  );
  // While a flush runs, the listings it took are still pending: they don't fill another batch. It
  // takes every listing submitted before a worker picked it up, before it has written its run row.
  if (dueAfterRunning >= deps.maxBatchSize) {
    // An export requested before the newest listing's indexing allowance is up can't hold it, and a
    // group of identical listings is only paired when all of them are in the export (match.ts): so
    // the flush waits that long. Creation goes on meanwhile; what is submitted then waits for the
    // next flush.
    const waitMs = newestSubmittedAt
      ? Math.max(0, newestSubmittedAt.getTime() + deps.flushSettleMs - Date.now())
      : 0;
    await requestFlush(deps.resolveQueue, 'batch', waitMs);
    deps.logger.info({ due, waitMs }, 'batch full: flush requested');
    return 'batch';
  }
  if (pending === 0) return 'none';
  const counts = await deps.createQueue.getJobCounts('waiting', 'delayed', 'prioritized');
  const waiting = Object.values(counts).reduce((a, b) => a + b, 0);
  if (waiting > 0) return 'none';
  await requestFlush(deps.resolveQueue, 'drain', deps.flushSettleMs);
  deps.logger.info(
    { event: LOG_EVENT.flushScheduled, pending, settleMs: deps.flushSettleMs },
    'creation queue drained: flush scheduled',
  );
  return 'drain';
}
