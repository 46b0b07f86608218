import { randomUUID } from 'node:crypto';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { closeAll, once } from '../lifecycle.ts';
import type { Logger } from '../logger.ts';
import { CREATE_QUEUE, type CreateJobData, OUTBOX_CHANNEL, RESOLVE_QUEUE } from '../queues.ts';
import { withDeadline } from '../signals.ts';
import type { VrHttpSession } from '../vr/http-session.ts';
import { type FlushResult, runFlush } from './flush.ts';
import { enqueueOutbox, sweep } from './sweep.ts';
import { type FlushJobData, scheduleRetryFlush } from './trigger.ts';

export const SWEEP_JOB = 'sweep';

export interface ResolutionWorkerDeps {
  database: Database;
  session: VrHttpSession;
  config: Config;
  logger: Logger;
  connection: Redis;
}

export function startResolutionWorker(deps: ResolutionWorkerDeps): { worker: Worker; stop(): Promise<void> } {
  const { config, logger, connection } = deps;
  const prefix = config.queuePrefix;
  const resolveQueue = new Queue<FlushJobData>(RESOLVE_QUEUE, { connection, prefix });
  const createQueue = new Queue<CreateJobData>(CREATE_QUEUE, { connection, prefix });
  const afterFlush = async (result: FlushResult) => {
    // Listings V&R never showed after an unknown submit go back to creation.
    if (result.resubmitted.length) await enqueueOutbox({ db: deps.database.db, config, createQueue });
    if (result.nextDueAt) await scheduleRetryFlush(resolveQueue, result.nextDueAt.getTime() - Date.now());
  };
  const worker = new Worker<FlushJobData>(
    RESOLVE_QUEUE,
    async (job: Job<FlushJobData>) => {
      if (job.name === SWEEP_JOB) {
        return sweep({ db: deps.database.db, config, logger, createQueue, resolveQueue });
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
      await job.log(`flush requested: ${job.data.reason}`);
      const result = await runFlush(deps, job.data.reason);
      await job.log(
        `resolved ${result.resolved}, waiting ${result.waiting}, failed ${result.failed}, needs review ${result.needsReview}, rows ${result.rowsScanned}`,
      );
      await afterFlush(result);
      return result;
    },
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
  worker.on('error', (error) => logger.error({ err: error }, 'resolution worker error'));
  worker.on('failed', (job, error) =>
    logger.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: error.message }, 'resolution job failed'),
  );
  // Rows a host application committed in its own transaction: enqueue them right after the commit.
  let outbox: Promise<unknown> = Promise.resolve();
  let outboxPending = false;
  const drainOutbox = () => {
    if (outboxPending) return;
    outboxPending = true;
    outbox = outbox.then(async () => {
      outboxPending = false;
      await enqueueOutbox({ db: deps.database.db, config, createQueue }).catch((error) =>
        logger.warn({ err: error }, 'outbox enqueue failed; the sweep will retry'),
      );
    });
  };
  // postgres.js listens again after its LISTEN connection drops, but gives up for good when the
  // server isn't back yet (a Postgres restart), and what was notified meanwhile is lost anyway.
  // So every (re)listen catches up on the outbox, and a NOTIFY to ourselves proves the connection
  // still hears: when it stops hearing, listen again.
  const heartbeat = `heartbeat:${randomUUID()}`;
  const heartbeatMs = Math.min(5_000, config.sweepIntervalMs);
  let heardAt = Date.now();
  const listen = () =>
    deps.database.sql
      .listen(
        OUTBOX_CHANNEL,
        (payload) => {
          if (payload === heartbeat) heardAt = Date.now();
          else if (!payload.startsWith('heartbeat:')) drainOutbox();
        },
        () => {
          heardAt = Date.now();
          drainOutbox();
        },
      )
      .catch((error) => {
        logger.warn({ err: error }, 'could not listen for committed listings; the sweep will enqueue them');
        return undefined;
      });
  let listening = listen();
  let relistening = false;
  const listenTimer = setInterval(() => {
    if (relistening) return;
    if (Date.now() - heardAt > 3 * heartbeatMs) {
      relistening = true;
      logger.warn('LISTEN connection stopped hearing from Postgres: listening again');
      heardAt = Date.now();
      const previous = listening;
      listening = previous
        .then((meta) => meta?.unlisten())
        .catch(() => {})
        .then(listen)
        .finally(() => {
          relistening = false;
        });
      return;
    }
    deps.database.sql`select pg_notify(${OUTBOX_CHANNEL}, ${heartbeat})`.catch(() => {});
  }, heartbeatMs);
  // What only Redis remembers: one flush at a time across processes, and the sweep's schedule.
  // Redis may be emptied (FLUSHALL, a restart without persistence, a failover) while this worker
  // lives on; then nothing would ever run the sweep that rebuilds the queues from Postgres. So both
  // are checked every sweep interval and put back when missing.
  const schedule = async (always: boolean) => {
    if ((await resolveQueue.getGlobalConcurrency()) !== 1) await resolveQueue.setGlobalConcurrency(1);
    if (!always && (await resolveQueue.getJobScheduler(SWEEP_JOB))) return false;
    await resolveQueue.upsertJobScheduler(
      SWEEP_JOB,
      { every: config.sweepIntervalMs },
      {
        name: SWEEP_JOB,
        data: { reason: 'sweep', requestedAt: '' },
        // Without these every sweep run stayed in Redis for good (1,440 jobs a day at the default).
        opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
      },
    );
    return true;
  };
  void schedule(true).catch((error) => logger.warn({ err: error }, 'could not schedule the sweep'));
  const scheduleTimer = setInterval(() => {
    schedule(false).then(
      (added) => {
        if (added) logger.warn('the sweep was missing from Redis (emptied?): scheduled it again');
      },
      (error) => logger.warn({ err: error }, 'could not check the sweep schedule'),
    );
  }, config.sweepIntervalMs);
  return {
    worker,
    stop: once(async () => {
      clearInterval(scheduleTimer);
      clearInterval(listenTimer);
      // A running flush finishes first: its results are written in one transaction.
      const closed = await withDeadline(
        worker.close().then(() => true),
        config.shutdownTimeoutMs,
      );
      if (!closed) await worker.close(true).catch(() => {});
      await closeAll([
        async () => (await listening)?.unlisten(),
        () => outbox,
        () => resolveQueue.close(),
        () => createQueue.close(),
      ]);
    }),
  };
}
