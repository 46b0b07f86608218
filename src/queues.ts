import type { JobsOptions, Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { withTimeout } from './lifecycle.ts';
import type { PersonNeeded } from './vr/errors.ts';

export const CREATE_QUEUE = 'vr-create';
export const RESOLVE_QUEUE = 'vr-resolve';
/** Webhook deliveries, one job per delivery row (src/webhooks/). */
export const WEBHOOK_QUEUE = 'vr-webhooks';
/** Postgres NOTIFY channel: rows committed in a host's transaction that need their jobs. */
export { OUTBOX_CHANNEL } from './db/schema.ts';

/** Data of a creation job: the row is the truth, the job only points at it. */
export interface CreateJobData {
  rowId: number;
  productRef: string;
  /** Set while V&R or Postgres is unavailable: tries then wait without using up attempts. */
  outage?: { since: string; delays: number };
  /** Set while V&R wants a person (blocked, or the login refused): released when a session is stored. */
  heldFor?: PersonNeeded;
  /**
   * Set on an action job (name ACTION_JOB): the vr_actions row to run. `rowId` is then the
   * listing's creation job (0 for a product linked without one).
   */
  actionId?: number;
  /**
   * Set while creation's gate holds the job (src/creation/probation.ts): `probation`, one listing
   * at a time until the site is proven; `paused`, the circuit breaker, released by `vr-lister resume`.
   */
  gate?: 'probation' | 'paused';
  /** The listing this job waits on whose flush it already asked for (one request per listing). */
  flushAskedFor?: number;
}

/** The name of action jobs on the creation queue: they share its one worker, browser and lane. */
export const ACTION_JOB = 'vr-action';

export function actionJobId(row: { id: number; generation: number }): string {
  return `action-${row.id}-${row.generation}`;
}

/** Adds action jobs for queued vr_actions rows. Re-adding an existing job id is a no-op in BullMQ. */
export function addActionJobs(
  deps: AddJobsDeps,
  rows: { id: number; generation: number; productRef: string; jobId: number | null; status: string }[],
): Promise<void> {
  return addQueuedJobs(deps, rows, (row) => ({
    name: ACTION_JOB,
    data: { rowId: row.jobId ?? 0, productRef: row.productRef, actionId: row.id },
    jobId: actionJobId(row),
  }));
}

/** BullMQ ids can't be plain integers; the generation makes a manual retry's job new. */
export function creationJobId(row: { id: number; generation: number }): string {
  return `listing-${row.id}-${row.generation}`;
}

export function creationJobOptions(opts: { createAttempts: number; createBackoffMs: number }): JobsOptions {
  return {
    attempts: opts.createAttempts,
    backoff: { type: 'exponential', delay: opts.createBackoffMs },
    removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
}

/**
 * A connection for workers and queues. `maxRetriesPerRequest: null` is what BullMQ workers need
 * to ride out a Redis outage; producers pass `forProducer` so a call fails fast instead of hanging.
 */
export function createRedis(url: string, { forProducer = false } = {}): Redis {
  const options: RedisOptions = forProducer
    ? { maxRetriesPerRequest: 1, connectTimeout: 5_000 }
    : { maxRetriesPerRequest: null };
  return new Redis(url, options);
}

type AddJobsDeps = { queue: Queue<CreateJobData>; jobOptions: JobsOptions; queueTimeoutMs: number };

/** Adds one job per row still queued, within the Redis deadline. */
async function addQueuedJobs<R extends { status: string }>(
  deps: AddJobsDeps,
  rows: R[],
  job: (row: R) => { name: string; data: CreateJobData; jobId: string },
): Promise<void> {
  const queued = rows.filter((row) => row.status === 'queued');
  if (!queued.length) return;
  await withTimeout(
    deps.queue.addBulk(
      queued.map((row) => {
        const { name, data, jobId } = job(row);
        return { name, data, opts: { ...deps.jobOptions, jobId } };
      }),
    ),
    deps.queueTimeoutMs,
    'Redis',
  );
}

/** Adds creation jobs for queued rows. Re-adding an existing job id is a no-op in BullMQ. */
export function addCreationJobs(
  deps: AddJobsDeps,
  rows: { id: number; generation: number; productRef: string; status: string }[],
): Promise<void> {
  return addQueuedJobs(deps, rows, (row) => ({
    name: 'create-listing',
    data: { rowId: row.id, productRef: row.productRef },
    jobId: creationJobId(row),
  }));
}
