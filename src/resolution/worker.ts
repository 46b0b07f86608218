import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { closeAll, once } from '../lifecycle.ts';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import { isConnectionError, isDatabaseUnavailable, type Outage, trackOutage } from '../outage.ts';
import { CREATE_QUEUE, type CreateJobData, RESOLVE_QUEUE } from '../queues.ts';
import { throwingSafely } from '../safe-errors.ts';
import { withDeadline } from '../signals.ts';
import type { BrowserSession } from '../vr/browser-session.ts';
import { isSiteUnavailable, NeedsPersonError } from '../vr/errors.ts';
import { type FlushResult, runFlush } from './flush.ts';
import { OutboxListener } from './outbox-listener.ts';
import { runScheduledReconcile } from './reconcile-check.ts';
import { enqueueOutbox, sweep } from './sweep.ts';
import { RECONCILE_JOB, SWEEP_JOB, SweepSchedule } from './sweep-schedule.ts';
import { batchTakenAlready, FLUSH_JOB, type FlushJobData, scheduleRetryFlush } from './trigger.ts';
import { requestVerify, runVerify, VERIFY_JOB } from './verify-job.ts';

export interface ResolutionWorkerDeps {
  database: Database;
  session: BrowserSession;
  config: Config;
  logger: Logger;
  connection: Redis;
  /** One warning per Redis outage; made here when absent. */
  redisOutage?: Outage;
}

export function startResolutionWorker(deps: ResolutionWorkerDeps): { worker: Worker; stop(): Promise<void> } {
  const { config, logger, connection } = deps;
  const prefix = config.queuePrefix;
  const resolveQueue = new Queue<FlushJobData>(RESOLVE_QUEUE, { connection, prefix });
  const createQueue = new Queue<CreateJobData>(CREATE_QUEUE, { connection, prefix });
  const afterFlush = async (result: FlushResult) => {
    // Listings V&R never showed after an unknown submit go back to creation.
    if (result.resubmitted.length) await enqueueOutbox({ db: deps.database.db, config, createQueue });
    // Found: read each back from its edit page.
    if (result.resolved > 0) await requestVerify(resolveQueue, 'flush');
    if (result.nextDueAt) await scheduleRetryFlush(resolveQueue, result.nextDueAt.getTime() - Date.now());
  };
  const worker = new Worker<FlushJobData>(
    RESOLVE_QUEUE,
    // What a flush throws lands in Redis and Bull Board: made safe on the way (src/safe-errors.ts).
    throwingSafely(async (job: Job<FlushJobData>) => {
      // Every line written while this job runs says which job and which try it is.
      const log = logger.child({ queue: RESOLVE_QUEUE, jobId: job.id, attempt: job.attemptsMade + 1 });
      if (job.name === SWEEP_JOB) {
        return sweep({ db: deps.database.db, config, logger: log, createQueue, resolveQueue });
      }
      if (job.name === RECONCILE_JOB) {
        const report = await runScheduledReconcile({ ...deps, db: deps.database.db, logger: log });
        await job.log(
          `reconcile: sold on V&R ${report.soldOnVr.length}, missing ${report.missingOnVr.length}, changed ${report.changedOnVr.length}, not ours ${report.notOurs}`,
        );
        return report;
      }
      if (job.name === VERIFY_JOB) {
        await job.log(`read-back requested: ${job.data.reason}`);
        const result = await runVerify({ ...deps, logger: log, createQueue }, job);
        await job.log(
          `read back: ok ${result.ok}, mismatch ${result.mismatch}, skipped ${result.skipped}, still pending ${result.remaining}`,
        );
        // More than one batch: the next job takes the rest, with the queue's other jobs between.
        if (result.remaining > 0 && result.ok + result.mismatch + result.skipped > 0)
          await requestVerify(resolveQueue, 'more');
        return result;
      }
      if (job.data.reason === 'retry') {
        // The retry timer deduplicates only while it waits, so this flush can set the next one.
        await job.removeDeduplicationKey();
        const creating = await createQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        if (Object.values(creating).some((n) => n > 0)) {
          // Listings are still being created: the flush that follows them will look again.
          await job.log('retry skipped: the creation queue is busy and will trigger a flush');
          return { skipped: true };
        }
      }
      if (
        job.data.reason === 'batch' &&
        (await batchTakenAlready(deps.database.db, createQueue, config.maxBatchSize))
      ) {
        await job.log(
          'batch skipped: the flush before took it, and the creation queue will trigger the next',
        );
        return { skipped: true };
      }
      await job.log(`flush requested: ${job.data.reason}`);
      const result = await runFlush({ ...deps, logger: log }, job.data.reason);
      await job.log(
        `resolved ${result.resolved}, waiting ${result.waiting}, failed ${result.failed}, needs review ${result.needsReview}, rows ${result.rowsScanned}`,
      );
      await afterFlush(result);
      return result;
    }),
    {
      connection,
      prefix,
      concurrency: 1,
      // As for creation: after a crash mid-flush, another worker takes the flush over once the lock
      // expires. A fixed two minutes held every flush back that long after a resolution worker died.
      lockDuration: config.workerLockMs,
      stalledInterval: Math.max(1_000, Math.floor(config.workerLockMs / 2)),
    },
  );
  const redisOutage =
    deps.redisOutage ?? trackOutage(logger, 'Redis', 'the resolution worker waits for it to come back');
  const databaseOutage = trackOutage(
    logger,
    'Postgres',
    'flushes and the sweep are retried; committed listings are picked up when it is back',
  );
  worker.on('error', (error) => {
    if (isConnectionError(error)) redisOutage.down(error);
    else logger.error({ err: error }, 'resolution worker error');
  });
  resolveQueue.on('error', (error) => redisOutage.down(error));
  createQueue.on('error', (error) => redisOutage.down(error));
  const siteOutage = trackOutage(logger, 'V&R', 'flushes are retried; no listing uses up a try meanwhile');
  worker.on('failed', (job, error) => {
    const context = { jobId: job?.id, job: job?.name, attempt: job?.attemptsMade };
    // Blocked or refused: the browser session said so once, loudly, with what to run.
    if (error instanceof NeedsPersonError)
      logger.debug({ ...context, err: error.message }, 'flush waits for a person');
    else if (isSiteUnavailable(error)) siteOutage.down(error, context);
    else if (isDatabaseUnavailable(error)) databaseOutage.down(error, context);
    else
      logger.warn(
        { ...context, event: LOG_EVENT.resolutionJobFailed, err: error.message },
        'resolution job failed',
      );
  });
  worker.on('completed', (job) => {
    // A flush or a reconcile that downloaded an export: V&R answered.
    if (
      job.name === RECONCILE_JOB ||
      (job.name === FLUSH_JOB && (job.returnvalue as Partial<FlushResult> | undefined)?.runId)
    )
      siteOutage.up();
    databaseOutage.up();
  });
  // Rows a host application committed in its own transaction: enqueue them right after the commit.
  const outboxListener = new OutboxListener({
    databaseUrl: config.databaseUrl,
    sql: deps.database.sql,
    onNotify: async () => {
      await enqueueOutbox({ db: deps.database.db, config, createQueue }).catch((error) =>
        logger.warn({ err: error }, 'outbox enqueue failed; the sweep will retry'),
      );
    },
    outage: databaseOutage,
  });
  void outboxListener.start();
  const sweepSchedule = new SweepSchedule({
    queue: resolveQueue,
    connection,
    everyMs: config.sweepIntervalMs,
    reconcileEveryMs: config.reconcileIntervalMs,
    logger,
    outage: redisOutage,
  });
  void sweepSchedule.start();
  return {
    worker,
    stop: once(async () => {
      // Bounded: a check in progress waits for Redis, and Redis may be away.
      const scheduleStopped = withDeadline(sweepSchedule.stop(), config.shutdownTimeoutMs);
      // A running flush finishes first: its results are written in one transaction.
      const closed = await withDeadline(
        worker.close().then(() => true),
        config.shutdownTimeoutMs,
      );
      if (!closed) await worker.close(true).catch(() => {}); // best effort: a flush left half done is redone
      await closeAll([
        () => outboxListener.stop(),
        () => scheduleStopped,
        () => resolveQueue.close(),
        () => createQueue.close(),
      ]);
    }),
  };
}
