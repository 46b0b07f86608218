/**
 * Creation's gate (docs/design.md, "Probation and the circuit breaker"), asked before a job is
 * claimed. Until the site is proven, one listing at a time: a job waits while another is between
 * its submit and its outcome. While the breaker has paused creation, every job waits for
 * `vr-lister resume`. A held job goes back to delayed without using up a try; the row stays queued.
 */
import type { Job, Queue } from 'bullmq';
import type { Config } from '../config.ts';
import type { Executor } from '../db/jobs.ts';
import { enterLane } from '../db/site-trust.ts';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import type { CreateJobData } from '../queues.ts';

export interface GateDeps {
  db: Executor;
  config: Pick<Config, 'flushSettleMs'>;
  /** Asks for a flush (after FLUSH_SETTLE_MS): the listing a held job waits on must get resolved. */
  requestFlush?: (reason: string) => Promise<void>;
}

/**
 * How long a job paused by the breaker waits before it looks again, unless `vr-lister resume`
 * brings it forward first (releaseGatedJobs).
 */
export const PAUSED_HOLD_MS = 3_600_000;

/** How often a job held by probation looks whether the lane is free: at most 30 s. */
export function probationRecheckMs(flushSettleMs: number): number {
  return Math.max(1_000, Math.min(flushSettleMs, 30_000));
}

/**
 * Asks the gate for this job. Returns false when the job may go on; true when it was moved to
 * delayed (the caller throws BullMQ's DelayedError).
 */
export async function holdAtGate(
  deps: GateDeps,
  job: Job<CreateJobData>,
  token: string,
  logger: Logger,
): Promise<boolean> {
  const decision = await enterLane(deps.db, job.data.rowId);
  if (decision.kind === 'go') return false;
  const gate = decision.kind === 'wait' ? 'probation' : 'paused';
  const { outage: _outage, heldFor: _heldFor, ...data } = job.data;
  let flushAskedFor = data.flushAskedFor;
  if (
    decision.kind === 'wait' &&
    decision.busyStatus === 'completed_pending_id' &&
    flushAskedFor !== decision.busyJobId
  ) {
    // The jobs held here keep the creation queue from looking drained, so decideFlush would not
    // ask for the flush that settles the listing they wait on: ask once per listing waited on.
    await deps.requestFlush?.(`probation: job ${decision.busyJobId} awaits its outcome`);
    flushAskedFor = decision.busyJobId;
  }
  if (job.data.gate !== gate) {
    logger.info({ event: LOG_EVENT.creationGated, gate }, decision.reason);
    // A copy for Bull Board, once per hold.
    await job.log(decision.reason).catch(() => {});
  }
  await job.updateData({ ...data, gate, ...(flushAskedFor === undefined ? {} : { flushAskedFor }) });
  const delay = gate === 'paused' ? PAUSED_HOLD_MS : probationRecheckMs(deps.config.flushSettleMs);
  await job.moveToDelayed(Date.now() + delay, token);
  return true;
}

/** Brings forward the jobs the breaker holds (after `vr-lister resume`); returns how many. */
export async function releaseGatedJobs(queue: Queue<CreateJobData>): Promise<number> {
  const delayed = await queue.getDelayed(0, -1);
  const held = delayed.filter((job) => job.data.gate === 'paused');
  // A job that moved on since getDelayed can't be promoted; it runs anyway once its delay ends.
  const promoted = await Promise.all(
    held.map((job) =>
      job.promote().then(
        () => true,
        () => false,
      ),
    ),
  );
  return promoted.filter(Boolean).length;
}
