import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import postgres from 'postgres';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { closeAll, once } from '../lifecycle.ts';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import { isConnectionError, isDatabaseUnavailable, type Outage, trackOutage } from '../outage.ts';
import { CREATE_QUEUE, type CreateJobData, OUTBOX_CHANNEL, RESOLVE_QUEUE } from '../queues.ts';
import { throwingSafely } from '../safe-errors.ts';
import { withDeadline } from '../signals.ts';
import type { BrowserSession } from '../vr/browser-session.ts';
import { isSiteUnavailable, VrBlockedError, VrLoginError } from '../vr/errors.ts';
import { type FlushResult, runFlush } from './flush.ts';
import { enqueueOutbox, sweep } from './sweep.ts';
import { type FlushJobData, scheduleRetryFlush } from './trigger.ts';

export const SWEEP_JOB = 'sweep';
/** How often the outbox listener checks that its LISTEN is alive (a notification to itself). */
export const OUTBOX_HEARTBEAT_MS = 5_000;
const HEARTBEAT = 'heartbeat';

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
    if (error instanceof VrBlockedError || error instanceof VrLoginError)
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
    // A flush that downloaded an export: V&R answered.
    if (job.name !== SWEEP_JOB && (job.returnvalue as Partial<FlushResult> | undefined)?.runId)
      siteOutage.up();
    databaseOutage.up();
  });
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
  // postgres.js re-listens after a lost connection, but only once: if the server isn't back yet
  // that fails silently, and the failed LISTEN stays cached, so listening again on the same client
  // fails too. So the LISTEN gets a client of its own, and a notification to ourselves every few
  // seconds proves it alive; when one goes missing, a new client listens again and the outbox is
  // drained (commits meanwhile were not heard).
  type Listener = { sql: postgres.Sql; ready: Promise<boolean> };
  let heartbeatSent = 0;
  let heartbeatSeen = 0;
  let stopped = false;
  const listen = (): Listener => {
    const sql = postgres(config.databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
    const ready = sql
      .listen(
        OUTBOX_CHANNEL,
        (payload) => {
          if (payload === HEARTBEAT) heartbeatSeen = heartbeatSent;
          else drainOutbox();
        },
        drainOutbox,
      )
      .then(() => true)
      .catch((error) => {
        databaseOutage.down(error, { listener: OUTBOX_CHANNEL });
        return false;
      });
    return { sql, ready };
  };
  let listener = listen();
  let beating: Promise<void> = Promise.resolve();
  const heartbeat = setInterval(() => {
    beating = beating.then(async () => {
      if (stopped) return;
      try {
        if (!(await listener.ready) || heartbeatSeen < heartbeatSent) {
          // The last heartbeat never came back: the LISTEN is gone.
          const old = listener;
          listener = listen();
          await old.sql.end({ timeout: 0 }).catch(() => {});
          if (!(await listener.ready)) return;
          heartbeatSeen = heartbeatSent;
        }
        heartbeatSent += 1;
        await deps.database.sql`select pg_notify(${OUTBOX_CHANNEL}, ${HEARTBEAT})`;
        databaseOutage.up({ listener: OUTBOX_CHANNEL });
      } catch (error) {
        databaseOutage.down(error, { listener: OUTBOX_CHANNEL });
      }
    });
  }, OUTBOX_HEARTBEAT_MS);
  heartbeat.unref();

  // What only Redis remembers: one flush at a time across processes, and the sweep's schedule.
  // Redis may be emptied (FLUSHALL, a restart without persistence, a failover) while this worker
  // lives on; then nothing would run the sweep that rebuilds the queues from Postgres. So both are
  // put back on every reconnect and checked every sweep interval.
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
  // One check at a time: while Redis is away the checks would queue up and all report at once.
  let checking: Promise<void> | undefined;
  const checkSchedule = (always: boolean) => {
    checking ??= schedule(always)
      .then(
        (added) => {
          redisOutage.up();
          if (added && !always)
            logger.warn('the sweep was missing from Redis (emptied?): scheduled it again');
        },
        (error) => redisOutage.down(error, { step: 'schedule the sweep' }),
      )
      .finally(() => {
        checking = undefined;
      });
    return checking;
  };
  void checkSchedule(true);
  const scheduleTimer = setInterval(() => void checkSchedule(false), config.sweepIntervalMs);
  scheduleTimer.unref();
  let connectedOnce = connection.status === 'ready';
  const onReady = () => {
    if (connectedOnce) void checkSchedule(true);
    connectedOnce = true;
  };
  connection.on('ready', onReady);
  return {
    worker,
    stop: once(async () => {
      clearInterval(scheduleTimer);
      // A running flush finishes first: its results are written in one transaction.
      const closed = await withDeadline(
        worker.close().then(() => true),
        config.shutdownTimeoutMs,
      );
      if (!closed) await worker.close(true).catch(() => {});
      stopped = true;
      clearInterval(heartbeat);
      connection.off('ready', onReady);
      await closeAll([
        () => beating,
        () => listener.sql.end({ timeout: 5 }),
        () => outbox,
        () => resolveQueue.close(),
        () => createQueue.close(),
      ]);
    }),
  };
}
