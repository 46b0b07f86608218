import type { Queue } from 'bullmq';
import { and, eq, lt } from 'drizzle-orm';
import type { Config } from '../config.ts';
import { queueAllWaitingWithIds, requeueAction } from '../db/actions.ts';
import type { Db } from '../db/client.ts';
import { markOutcomeUnknown, requeueJob, sendStaleToReview } from '../db/jobs.ts';
import { vrActions, vrJobs } from '../db/schema.ts';
import type { Logger } from '../logger.ts';
import {
  actionJobId,
  addActionJobs,
  addCreationJobs,
  type CreateJobData,
  creationJobId,
  creationJobOptions,
} from '../queues.ts';
import { pruneJobEvents } from '../webhooks/deliveries.ts';
import { countDuePending, type FlushJobData, requestFlush } from './trigger.ts';
import { countPendingVerifications, requestVerify } from './verify-job.ts';

export interface SweepDeps {
  db: Db;
  config: Config;
  logger: Logger;
  createQueue: Queue<CreateJobData>;
  resolveQueue: Queue<FlushJobData>;
}

export interface SweepResult {
  queued: number;
  recovered: number;
  stale: number;
  /** Settled job events deleted after EVENT_RETENTION_DAYS. */
  pruned: number;
  flushRequested: boolean;
  /** Completed jobs wait for their read-back: a verify job was requested. */
  verifyRequested: boolean;
}

/** How the sweep and the outbox add creation jobs. */
function creationQueue(deps: Pick<SweepDeps, 'config' | 'createQueue'>) {
  return { queue: deps.createQueue, jobOptions: creationJobOptions(deps.config), queueTimeoutMs: 10_000 };
}

/** The outbox: queued rows get their creation job (again). Returns how many rows are queued. */
export async function enqueueOutbox(deps: Pick<SweepDeps, 'db' | 'config' | 'createQueue'>): Promise<number> {
  const queued = await deps.db
    .select({
      id: vrJobs.id,
      generation: vrJobs.generation,
      productRef: vrJobs.productRef,
      status: vrJobs.status,
    })
    .from(vrJobs)
    .where(eq(vrJobs.status, 'queued'));
  await addCreationJobs(creationQueue(deps), queued);
  // Actions recorded (or released from waiting for the id) whose jobs Redis may not have.
  await queueAllWaitingWithIds(deps.db);
  const actions = await deps.db
    .select({
      id: vrActions.id,
      generation: vrActions.generation,
      productRef: vrActions.productRef,
      jobId: vrActions.jobId,
      status: vrActions.status,
    })
    .from(vrActions)
    .where(eq(vrActions.status, 'queued'));
  await addActionJobs(creationQueue(deps), actions);
  return queued.length + actions.length;
}

/**
 * Rebuilds from Postgres whatever Redis lost. Idempotent, and safe when two processes run it at
 * once: re-adding an existing job id is a no-op, and every row update is conditional on its status.
 */
export async function sweep(deps: SweepDeps): Promise<SweepResult> {
  const { db, config, logger, createQueue, resolveQueue } = deps;

  const queued = await enqueueOutbox(deps);

  // Rows a vanished worker held. Give a live worker's lock time to expire first.
  const heldSince = new Date(Date.now() - 2 * config.workerLockMs);
  const held = await db
    .select()
    .from(vrJobs)
    .where(and(eq(vrJobs.status, 'in_progress'), lt(vrJobs.updatedAt, heldSince)));
  let recovered = 0;
  for (const row of held) {
    const job = await createQueue.getJob(creationJobId(row));
    const state = job ? await job.getState() : 'missing';
    if (state === 'active' || state === 'waiting' || state === 'delayed' || state === 'prioritized') continue;
    recovered += 1;
    if (row.submitStartedAt) {
      // It may have been submitted: resolution decides, never a second submit.
      await markOutcomeUnknown(db, row.id, 'the worker holding it disappeared after it began submitting');
      continue;
    }
    const back = await requeueJob(db, row.id, ['in_progress'], row.error);
    if (back) await addCreationJobs(creationQueue(deps), [back]);
  }

  // Actions a vanished worker held, whose job Redis no longer has.
  const heldActions = await db
    .select()
    .from(vrActions)
    .where(and(eq(vrActions.status, 'in_progress'), lt(vrActions.updatedAt, heldSince)));
  for (const row of heldActions) {
    const job = await createQueue.getJob(actionJobId(row));
    const state = job ? await job.getState() : 'missing';
    if (state === 'active' || state === 'waiting' || state === 'delayed' || state === 'prioritized') continue;
    recovered += 1;
    const back = await requeueAction(db, row.id, 'the worker holding it disappeared');
    if (back) await addActionJobs(creationQueue(deps), [back]);
  }

  // Pending too long: a person must look.
  const staleBefore = new Date(Date.now() - config.stalePendingMs);
  const stale = await sendStaleToReview(db, staleBefore, config.stalePendingMs);

  // The job events outbox and the webhook delivery log, past their retention.
  const pruned = await pruneJobEvents(db, new Date(Date.now() - config.eventRetentionDays * 86_400_000));

  const { due } = await countDuePending(db);
  if (due > 0) await requestFlush(resolveQueue, 'sweep');
  // Read-backs still to do (requested after a flush or a person's link; Redis may have lost that).
  const toVerify = await countPendingVerifications(db);
  if (toVerify > 0) await requestVerify(resolveQueue, 'sweep');
  const result = {
    queued,
    recovered,
    stale: stale.length,
    pruned,
    flushRequested: due > 0,
    verifyRequested: toVerify > 0,
  };
  if (recovered || stale.length || pruned) logger.info(result, 'sweep repaired state');
  return result;
}
