import type { Queue } from 'bullmq';
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import {
  type DeliveryStatus,
  type JobEventName,
  type JobResult,
  vrJobEvents,
  vrWebhookDeliveries,
  type WebhookDelivery,
} from '../db/schema.ts';
import { displayWebhookUrl } from './send.ts';

/** Data of a delivery job: the row is the truth, the job only points at it. */
export interface DeliveryJobData {
  deliveryId: number;
  generation: number;
  /** For reading Bull Board: what is being delivered where. */
  productRef: string;
  event: string;
  url: string;
}

/** The first retry's delay doubles per attempt up to this; the retry window bounds the whole. */
export const MAX_BACKOFF_MS = 3_600_000;

/** Attempts are bounded by time (WEBHOOK_RETRY_HOURS, checked by the worker), not by this count. */
const DELIVERY_JOB_OPTIONS = {
  attempts: 100_000,
  backoff: { type: 'webhook' },
  removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600, count: 10_000 },
} as const;

export const deliveryJobId = (row: { id: number; generation: number }) =>
  `webhook-${row.id}-${row.generation}`;

/** The delay before retry number `attemptsMade` (1 = the first retry): base·2^(n−1), at most an hour. */
export function deliveryBackoffMs(baseMs: number, attemptsMade: number): number {
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, Math.min(attemptsMade - 1, 30)));
}

/**
 * Deletes the job events created before `before`, with their delivery log, once they are settled:
 * dispatched, and no delivery of theirs still pending. The newest event is always kept, so that a
 * producer starting up finds where the log stands. Returns how many events went.
 */
export async function pruneJobEvents(db: Db, before: Date): Promise<number> {
  const deleted = await db.execute<{ id: string }>(sql`
    delete from vr_job_events e
    where e.created_at < ${before.toISOString()}::timestamptz and e.dispatched_at is not null
      and e.id < (select max(id) from vr_job_events)
      and not exists (select 1 from vr_webhook_deliveries d where d.event_id = e.id and d.status = 'pending')
    returning e.id`);
  return deleted.length;
}

/**
 * Writes one delivery per URL for every event not yet dispatched, and marks them dispatched, in one
 * transaction (rows locked, so several processes can run it at once). With no URL configured the
 * events are only marked: turning webhooks on later does not send the history.
 */
export async function dispatchEvents(db: Db, urls: readonly string[]): Promise<string[]> {
  return db.transaction(async (tx) => {
    const events = await tx.execute<{ id: string; product_ref: string }>(sql`
      select id, product_ref from vr_job_events where dispatched_at is null
      order by id limit 1000 for update skip locked`);
    const rows = [...events];
    if (!rows.length) return [];
    if (urls.length) {
      await tx
        .insert(vrWebhookDeliveries)
        .values(
          rows.flatMap((event) =>
            urls.map((url) => ({ eventId: Number(event.id), productRef: event.product_ref, url })),
          ),
        )
        .onConflictDoNothing();
    }
    await tx.execute(sql`
      update vr_job_events set dispatched_at = now()
      where id = any(${sql.param(rows.map((r) => Number(r.id)))}::int8[])`);
    return [...new Set(rows.map((r) => r.product_ref))];
  });
}

/**
 * Adds a job for the first pending delivery of each product and URL (of some products, or all):
 * in order per product, the next one is added when the one before it is delivered or given up.
 * Adding a job id that exists is a no-op, so this is safe to repeat (after a restart, a Redis loss).
 */
export async function enqueueHeads(
  db: Db,
  queue: Queue<DeliveryJobData>,
  only?: { productRefs: string[]; url?: string },
): Promise<number> {
  const heads = await db.execute<{
    id: string;
    generation: number;
    product_ref: string;
    url: string;
    event: string;
  }>(sql`
    select distinct on (d.product_ref, d.url) d.id, d.generation, d.product_ref, d.url, e.event
    from vr_webhook_deliveries d join vr_job_events e on e.id = d.event_id
    where d.status = 'pending'
      ${only ? sql`and d.product_ref = any(${sql.param(only.productRefs)}::text[])` : sql``}
      ${only?.url ? sql`and d.url = ${only.url}` : sql``}
    order by d.product_ref, d.url, d.id`);
  const rows = [...heads];
  if (!rows.length) return 0;
  await queue.addBulk(
    rows.map((row) => {
      const id = Number(row.id);
      return {
        name: 'deliver',
        data: {
          deliveryId: id,
          generation: row.generation,
          productRef: row.product_ref,
          event: row.event,
          url: displayWebhookUrl(row.url),
        },
        opts: { ...DELIVERY_JOB_OPTIONS, jobId: deliveryJobId({ id, generation: row.generation }) },
      };
    }),
  );
  return rows.length;
}

/** A delivery as the API shows it: the URL without its query string, the event it carries. */
export interface DeliveryView {
  id: number;
  eventId: number;
  event: JobEventName;
  jobId: number;
  productRef: string;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  deliveredAt: string | null;
}

function view(
  row: WebhookDelivery,
  event: { event: JobEventName; job: JobResult; jobId: number },
): DeliveryView {
  return {
    id: row.id,
    eventId: row.eventId,
    event: event.event,
    jobId: event.jobId,
    productRef: row.productRef,
    url: displayWebhookUrl(row.url),
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
  };
}

/** The delivery log, newest first; `beforeId` pages back. */
/** A delivery with the event it carries: what the log and a redelivery show. */
function selectDeliveries(db: Db) {
  return db
    .select({
      delivery: vrWebhookDeliveries,
      event: vrJobEvents.event,
      job: vrJobEvents.job,
      jobId: vrJobEvents.jobId,
    })
    .from(vrWebhookDeliveries)
    .innerJoin(vrJobEvents, eq(vrJobEvents.id, vrWebhookDeliveries.eventId));
}

export async function listDeliveries(
  db: Db,
  { status, limit, beforeId }: { status?: DeliveryStatus; limit: number; beforeId?: number },
): Promise<DeliveryView[]> {
  const rows = await selectDeliveries(db)
    .where(
      and(
        status ? eq(vrWebhookDeliveries.status, status) : undefined,
        beforeId ? lt(vrWebhookDeliveries.id, beforeId) : undefined,
      ),
    )
    .orderBy(desc(vrWebhookDeliveries.id))
    .limit(limit);
  return rows.map((r) => view(r.delivery, r));
}

export async function findDelivery(db: Db, id: number): Promise<DeliveryView | undefined> {
  const [row] = await selectDeliveries(db).where(eq(vrWebhookDeliveries.id, id));
  return row ? view(row.delivery, row) : undefined;
}

/**
 * Sends a delivered or failed delivery again: back to pending under a new job id, with a new retry
 * window. A pending one is already being tried (null). Returns the row, or undefined when none.
 */
export async function markForRedelivery(
  db: Db,
  id: number,
): Promise<{ row: WebhookDelivery; alreadyPending: boolean } | undefined> {
  const [updated] = await db
    .update(vrWebhookDeliveries)
    .set({
      status: 'pending',
      generation: sql`${vrWebhookDeliveries.generation} + 1`,
      roundStartedAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(vrWebhookDeliveries.id, id), sql`${vrWebhookDeliveries.status} <> 'pending'`))
    .returning();
  if (updated) return { row: updated, alreadyPending: false };
  const [existing] = await db.select().from(vrWebhookDeliveries).where(eq(vrWebhookDeliveries.id, id));
  return existing ? { row: existing, alreadyPending: true } : undefined;
}
