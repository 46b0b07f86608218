import { Queue } from 'bullmq';
import type { Browser } from 'playwright-core';
import { requireChromium } from '../chromium.ts';
import type { Config, VrSite } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { closeAll, once } from '../lifecycle.ts';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import { CREATE_QUEUE, type CreateJobData, createRedis, RESOLVE_QUEUE } from '../queues.ts';
import { countDuePending, decideFlush, type FlushJobData, requestFlush } from '../resolution/trigger.ts';
import { withDeadline } from '../signals.ts';
import { BLOCKED_RECHECK_MS } from '../vr/browser-session.ts';
import { NeedsPersonError, type PersonNeeded } from '../vr/errors.ts';
import { downloadExport, streamAndDiscard } from '../vr/export-download.ts';
import { openBrowserSession, sessionStore } from '../vr/open-session.ts';
import { watchStoredSession } from '../vr/session-store.ts';
import { pruneArtifacts } from './artifacts.ts';
import { creationOutages, startCreationWorker } from './worker.ts';

export interface RunningProcess {
  /** Stops taking work, lets the current job finish within the deadline, then closes everything. */
  stop(): Promise<void>;
}

export interface CreationProcessOptions {
  config: Config;
  site: VrSite;
  logger: Logger;
  /** A Chromium launched already (tests share one): the process opens its own context on it. */
  browser?: Browser;
}

export function startCreationProcess({
  config,
  site,
  logger,
  browser: launched,
}: CreationProcessOptions): RunningProcess {
  requireChromium(config);
  const database = connectDatabase(config.databaseUrl);
  const connection = createRedis(config.redisUrl);
  const outages = creationOutages(logger);
  // ioredis retries for ever; every failed retry is an 'error': one warning per outage.
  connection.on('error', (error) => outages.redis.down(error));
  connection.on('ready', () => outages.redis.up());
  const createQueue = new Queue(CREATE_QUEUE, { connection, prefix: config.queuePrefix });
  const resolveQueue = new Queue<FlushJobData>(RESOLVE_QUEUE, { connection, prefix: config.queuePrefix });
  // Without listeners BullMQ prints each of the connection's errors to the console.
  createQueue.on('error', (error) => outages.redis.down(error));
  resolveQueue.on('error', (error) => outages.redis.down(error));
  const flushDecision = {
    db: database.db,
    createQueue,
    resolveQueue,
    maxBatchSize: config.maxBatchSize,
    flushSettleMs: config.flushSettleMs,
    logger,
  };
  const browser = openBrowserSession({
    config,
    site,
    database,
    logger,
    redis: connection,
    browser: launched,
  });
  // V&R wants a person (blocked, or the login refused): the worker stops taking jobs, and goes on
  // by itself as soon as a new session is stored, or (blocked) looks again after a while.
  let held: PersonNeeded | undefined;
  let recheck: NodeJS.Timeout | undefined;
  const release = async (why: string) => {
    if (!held) return;
    held = undefined;
    clearTimeout(recheck);
    logger.info({ why }, 'taking creation jobs again');
    worker.resume();
    // The job in hand when it happened waits delayed: bring it forward.
    const delayed = await (createQueue as Queue<CreateJobData>).getDelayed(0, 999);
    // A job that moved on since getDelayed can't be promoted; one still delayed runs when its delay ends.
    await Promise.all(delayed.filter((job) => job.data.heldFor).map((job) => job.promote().catch(() => {})));
  };
  const onHeld = (kind: PersonNeeded) => {
    if (held) return;
    held = kind;
    void worker.pause(true);
    if (kind === 'blocked') {
      recheck = setTimeout(
        () =>
          void release('looking at V&R again').catch((error) =>
            logger.warn({ err: error, event: LOG_EVENT.heldJobsNotPromoted }, 'could not release held jobs'),
          ),
        BLOCKED_RECHECK_MS,
      );
      recheck.unref();
    }
  };
  const watcher = watchStoredSession(sessionStore(config, site, database), {
    onChange: () =>
      void release('a new V&R session was stored').catch((error) =>
        logger.warn({ err: error }, 'could not release held jobs'),
      ),
    onError: (error) => outages.database.down(error, { step: 'watch the stored session' }),
  });
  const worker = startCreationWorker(
    {
      db: database.db,
      browser,
      config,
      logger,
      connection,
      outages,
      onHeld,
      // The baseline before an install's first submit (resolution/baseline.ts): the export through
      // this worker's browser, on a page of its own.
      openExport: async () =>
        streamAndDiscard(
          await downloadExport(browser, {
            timeoutMs: config.exportTimeoutMs,
            signal: AbortSignal.timeout(config.exportTimeoutMs),
          }),
        ),
      requestFlush: (reason) => requestFlush(resolveQueue, reason, config.flushSettleMs),
      afterCreation: async (jobLogger) => {
        await decideFlush({ ...flushDecision, logger: jobLogger });
      },
    },
    config.queuePrefix,
  );
  logger.info(
    { event: LOG_EVENT.workerStarted, worker: 'create', queuePrefix: config.queuePrefix, site: site.baseUrl },
    'creation worker started',
  );
  // Evidence is kept ARTIFACTS_RETENTION_DAYS: pruned at start and every hour.
  const prune = () =>
    void pruneArtifacts(config.artifactsDir, config.artifactsRetentionDays)
      .then((deleted) => deleted && logger.info({ deleted }, 'old evidence files deleted'))
      .catch((error) => logger.warn({ err: error }, 'could not prune old evidence'));
  prune();
  const pruning = setInterval(prune, 3_600_000);
  pruning.unref();
  // Chromium up and logged in before the first listing arrives; a failure here is only logged: the
  // first job logs in again (and retries as usual when V&R is down).
  void browser.ensureLoggedIn().catch((error) => {
    // What needs a person (blocked, refused, the key, the sandbox) the session said once, loudly.
    if (!(error instanceof NeedsPersonError)) logger.warn({ err: error }, 'warm-up login failed');
  });
  return {
    stop: once(async () => {
      const closed = await withDeadline(
        worker.close().then(() => true),
        config.shutdownTimeoutMs,
      );
      if (!closed) {
        // The job will be redelivered; submit_started_at keeps it from being submitted twice.
        logger.warn('the current listing did not finish in time; handing it back');
        await worker.close(true).catch(() => {}); // best effort: the job is redelivered anyway
      }
      watcher.stop();
      clearTimeout(recheck);
      clearInterval(pruning);
      await closeAll([
        // Listings submitted but not resolved keep a flush scheduled, whoever picks it up.
        async () => {
          if ((await countDuePending(database.db)).pending > 0) {
            await requestFlush(resolveQueue, 'creation worker stopped', config.flushSettleMs);
          }
        },
        () => browser.close(),
        () => createQueue.close(),
        () => resolveQueue.close(),
        () => connection.quit(),
        () => database.close(),
      ]);
    }),
  };
}
