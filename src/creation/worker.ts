import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import { CREATE_QUEUE, type CreateJobData } from '../queues.ts';
import { type CreationDeps, type CreationResult, createListing, handBack } from './create-listing.ts';

export interface CreationWorkerDeps extends CreationDeps {
  connection: Redis;
  /** Called after every creation attempt, success or not: the flush decision lives there. */
  afterCreation?: (logger: Logger) => Promise<void>;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

export async function processCreationJob(
  deps: CreationWorkerDeps,
  job: Job<CreateJobData>,
): Promise<CreationResult> {
  const attempt = job.attemptsMade + 1;
  const logger = deps.logger.child({
    queue: CREATE_QUEUE,
    jobId: job.id,
    rowId: job.data.rowId,
    productRef: job.data.productRef,
    attempt,
  });
  const report = {
    async step(name: string, progress: number) {
      logger.info(name);
      await Promise.all([job.updateProgress(progress), job.log(name)]);
    },
  };
  deps.browser.jobLogger = logger;
  try {
    await report.step('claiming the job', 5);
    const result = await createListing({ ...deps, logger }, job.data.rowId, report);
    const summary =
      result.outcome === 'submitted'
        ? 'submitted; waiting for its V&R id'
        : `${result.outcome}${'reason' in result ? `: ${result.reason}` : ''}${'vrListingId' in result ? ` (${result.vrListingId})` : ''}`;
    await report.step(summary, 100);
    // A definite failure: Bull Board should show it failed, and BullMQ must not retry it.
    if (result.outcome === 'failed') throw new UnrecoverableError(result.reason);
    return result;
  } catch (error) {
    if (error instanceof UnrecoverableError) throw error;
    const lastAttempt = attempt >= (job.opts.attempts ?? 1);
    const reason = `attempt ${attempt}: ${errorMessage(error)}`;
    logger.warn({ err: error, lastAttempt }, 'creation attempt failed');
    await job.log(`error: ${reason}`).catch(() => {});
    await handBack(
      deps.db,
      job.data.rowId,
      lastAttempt ? `gave up after ${attempt} attempts: ${errorMessage(error)}` : reason,
      lastAttempt,
    );
    throw error;
  } finally {
    deps.browser.jobLogger = undefined;
    await deps
      .afterCreation?.(logger)
      .catch((error) => logger.error({ err: error }, 'flush decision failed'));
  }
}

/** The creation worker: concurrency 1, one browser; `close()` lets the current job finish. */
export function startCreationWorker(deps: CreationWorkerDeps, prefix: string): Worker<CreateJobData> {
  const worker = new Worker<CreateJobData>(CREATE_QUEUE, (job) => processCreationJob(deps, job), {
    connection: deps.connection,
    prefix,
    concurrency: 1,
    // The lock is renewed while a job runs; after a crash the job is taken over once it expires.
    lockDuration: deps.config.workerLockMs,
    stalledInterval: Math.max(1_000, Math.floor(deps.config.workerLockMs / 2)),
    maxStalledCount: 3,
  });
  worker.on('error', (error) => deps.logger.error({ err: error }, 'creation worker error'));
  return worker;
}
