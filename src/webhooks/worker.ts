import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { and, eq, sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { vrJobEvents, vrWebhookDeliveries } from '../db/schema.ts';
import { closeAll, once } from '../lifecycle.ts';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import { JOB_EVENTS_CHANNEL, type JobResultEvent, PgListener } from '../producer/job-events.ts';
import { WEBHOOK_QUEUE } from '../queues.ts';
import { type DeliveryJobData, deliveryBackoffMs, dispatchEvents, enqueueHeads } from './deliveries.ts';
import { displayWebhookUrl, sendWebhook } from './send.ts';

/** How often every pending delivery's job is made sure of (after a restart, a Redis loss). */
const HEADS_SWEEP_MS = 60_000;
const CONCURRENCY = 8;

export interface WebhookSenderDeps {
  database: Database;
  config: Config;
  connection: Redis;
  logger: Logger;
}

/**
 * The body a receiver gets: `{ id, event, job, at }`, exactly as the event row holds it (the same
 * shape onResult sees). The id is inside the signed body, so a receiver can de-duplicate on a value
 * nobody could have changed in transit; the X-VR-Lister-Event-Id header is only a copy of it.
 */
export function webhookBody(
  event: Pick<typeof vrJobEvents.$inferSelect, 'id' | 'event' | 'job' | 'createdAt'>,
): string {
  const body: JobResultEvent = {
    id: event.id,
    event: event.event,
    job: event.job,
    at: event.createdAt.toISOString(),
  };
  return JSON.stringify(body);
}

async function deliver(deps: WebhookSenderDeps, queue: Queue<DeliveryJobData>, job: Job<DeliveryJobData>) {
  const { database, config } = deps;
  const { deliveryId, generation } = job.data;
  const [row] = await database.db
    .select({ delivery: vrWebhookDeliveries, event: vrJobEvents })
    .from(vrWebhookDeliveries)
    .innerJoin(vrJobEvents, eq(vrJobEvents.id, vrWebhookDeliveries.eventId))
    .where(eq(vrWebhookDeliveries.id, deliveryId));
  // Delivered (a crash after the write), redelivered under a newer job, or deleted: nothing to send.
  if (row?.delivery.status !== 'pending' || row.delivery.generation !== generation) return 'stale';
  const { delivery, event } = row;
  const outcome = await sendWebhook({
    url: delivery.url,
    body: webhookBody(event),
    secret: config.webhookSecret!,
    eventId: event.id,
    deliveryId,
    allowHosts: config.webhookAllowHosts,
    timeoutMs: config.webhookTimeoutMs,
  });
  const attempts = delivery.attempts + 1;
  const expired = Date.now() - delivery.roundStartedAt.getTime() >= config.webhookRetryHours * 3_600_000;
  const giveUp = !outcome.ok && (outcome.permanent || expired);
  const current = and(
    eq(vrWebhookDeliveries.id, deliveryId),
    eq(vrWebhookDeliveries.generation, generation),
    eq(vrWebhookDeliveries.status, 'pending'),
  );
  await database.db
    .update(vrWebhookDeliveries)
    .set({
      status: outcome.ok ? 'delivered' : giveUp ? 'failed' : 'pending',
      attempts,
      lastStatusCode: outcome.statusCode,
      lastError: outcome.ok ? null : outcome.reason,
      deliveredAt: outcome.ok ? sql`now()` : null,
      updatedAt: sql`now()`,
    })
    .where(current);
  await job.log(
    `attempt ${attempts}: ${outcome.ok ? `delivered (HTTP ${outcome.statusCode})` : outcome.reason}`,
  );
  const log = deps.logger.child({
    deliveryId,
    eventId: event.id,
    productRef: delivery.productRef,
    url: displayWebhookUrl(delivery.url),
  });
  if (outcome.ok || giveUp) {
    // This product's next event for this URL may go now.
    await enqueueHeads(database.db, queue, { productRefs: [delivery.productRef], url: delivery.url });
  }
  if (outcome.ok) {
    log.info({ event: event.event, attempts }, 'webhook delivered');
    return { statusCode: outcome.statusCode };
  }
  if (giveUp) {
    log.warn({ event: event.event, attempts, reason: outcome.reason }, 'webhook delivery failed for good');
    throw new UnrecoverableError(outcome.reason);
  }
  log.info({ event: event.event, attempts, reason: outcome.reason }, 'webhook delivery failed; will retry');
  throw new Error(outcome.reason);
}

/**
 * The webhook sender: turns job events into deliveries (one per WEBHOOK_URL) and delivers them
 * through the webhook queue, at least once, in order per product and URL, retrying with exponential
 * backoff for WEBHOOK_RETRY_HOURS. Woken by the trigger's NOTIFY; catches up from Postgres on start,
 * on every reconnect and on a timer, so an event written while no sender ran is delivered later.
 */
export function startWebhookSender(deps: WebhookSenderDeps) {
  const { database, config, connection, logger } = deps;
  const queue = new Queue<DeliveryJobData>(WEBHOOK_QUEUE, { connection, prefix: config.queuePrefix });
  queue.on('error', (error) => logger.debug({ err: error }, 'webhook queue error'));
  const sending = config.webhookUrls.length > 0 && config.webhookSecret !== undefined;
  const worker = sending
    ? new Worker<DeliveryJobData>(WEBHOOK_QUEUE, (job) => deliver(deps, queue, job), {
        connection,
        prefix: config.queuePrefix,
        concurrency: CONCURRENCY,
        lockDuration: Math.max(config.workerLockMs, config.webhookTimeoutMs * 2),
        stalledInterval: Math.max(1_000, Math.floor(config.workerLockMs / 2)),
        maxStalledCount: 10,
        settings: {
          backoffStrategy: (attemptsMade: number) => deliveryBackoffMs(config.webhookBackoffMs, attemptsMade),
        },
      })
    : undefined;
  worker?.on('error', (error) => logger.debug({ err: error }, 'webhook worker error'));
  const sweepHeads = async () => {
    if (sending) await enqueueHeads(database.db, queue);
  };
  const listener = new PgListener({
    url: database.url,
    channel: JOB_EVENTS_CHANNEL,
    logger,
    pollIntervalMs: HEADS_SWEEP_MS,
    onWake: async () => {
      for (;;) {
        const products = await dispatchEvents(database.db, sending ? config.webhookUrls : []);
        if (!products.length) return;
        if (sending) await enqueueHeads(database.db, queue, { productRefs: products });
      }
    },
  });
  const sweep = setInterval(
    () => void sweepHeads().catch((error) => logger.warn({ err: error }, 'webhook sweep failed')),
    HEADS_SWEEP_MS,
  );
  sweep.unref();
  const started = (async () => {
    await listener.start();
    await sweepHeads().catch((error) => logger.warn({ err: error }, 'webhook sweep failed'));
  })();
  if (sending)
    logger.info(
      { event: LOG_EVENT.workerStarted, worker: 'webhooks', urls: config.webhookUrls.map(displayWebhookUrl) },
      'webhook sender started',
    );
  return {
    queue,
    /** Resolves once the first catch-up is done (tests wait for it). */
    started,
    stop: once(async () => {
      clearInterval(sweep);
      await started.catch(() => {}); // its failure is the caller's, through `started`
      await closeAll([() => listener.stop(), async () => worker?.close(), () => queue.close()]);
    }),
  };
}
