import { Queue } from 'bullmq';
import { requireChromium } from '../chromium.ts';
import type { Config, VrSite } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { closeAll, once } from '../lifecycle.ts';
import type { Logger } from '../logger.ts';
import { CREATE_QUEUE, createRedis, RESOLVE_QUEUE } from '../queues.ts';
import { countDuePending, decideFlush, type FlushJobData, requestFlush } from '../resolution/trigger.ts';
import { withDeadline } from '../signals.ts';
import { VrHttpSession } from '../vr/http-session.ts';
import { BrowserSession } from './browser.ts';
import { creationOutages, startCreationWorker } from './worker.ts';

export interface RunningProcess {
  /** Stops taking work, lets the current job finish within the deadline, then closes everything. */
  stop(): Promise<void>;
}

export interface CreationProcessOptions {
  config: Config;
  site: VrSite;
  logger: Logger;
}

export function startCreationProcess({ config, site, logger }: CreationProcessOptions): RunningProcess {
  requireChromium(config.chromiumPath);
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
  const browser = new BrowserSession({
    site,
    chromiumPath: config.chromiumPath,
    pageTimeoutMs: config.pageTimeoutMs,
    logger,
  });
  // For the baseline before an install's first submit (resolution/baseline.ts).
  const exportSession = new VrHttpSession(site, logger, config.pageTimeoutMs);
  const worker = startCreationWorker(
    {
      db: database.db,
      browser,
      config,
      logger,
      openExport: () => exportSession.openExport(AbortSignal.timeout(config.exportTimeoutMs)),
      connection,
      outages,
      afterCreation: async (jobLogger) => {
        await decideFlush({ ...flushDecision, logger: jobLogger });
      },
    },
    config.queuePrefix,
  );
  logger.info({ queuePrefix: config.queuePrefix, site: site.baseUrl }, 'creation worker started');
  // Chromium up and logged in before the first listing arrives; a failure here is only logged: the
  // first job logs in again (and retries as usual when V&R is down).
  void browser.ensureLoggedIn().catch((error) => logger.warn({ err: error }, 'warm-up login failed'));
  return {
    stop: once(async () => {
      const closed = await withDeadline(
        worker.close().then(() => true),
        config.shutdownTimeoutMs,
      );
      if (!closed) {
        // The job will be redelivered; submit_started_at keeps it from being submitted twice.
        logger.warn('the current listing did not finish in time; handing it back');
        await worker.close(true).catch(() => {});
      }
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
