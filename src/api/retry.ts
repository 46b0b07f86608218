import { and, eq, inArray, ne } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { completeFromLink, lookAgain, RETRYABLE, requeueJob } from '../db/jobs.ts';
import { ACTIVE_STATUSES, type VrJob, vrJobs, vrProductLinks } from '../db/schema.ts';
import { withTimeout } from '../lifecycle.ts';
import { addCreationJobs } from '../queues.ts';
import { requestFlush } from '../resolution/trigger.ts';
import type { ApiContext } from './context.ts';
import { conflict, notFound, queueUnavailable } from './http-error.ts';
import { type IdParams, jobDetail } from './jobs.ts';

export type RetryOutcome =
  | { kind: 'not_found' }
  | { kind: 'conflict'; status: string; message: string }
  /** The product already has a V&R id: the job takes it, nothing is submitted. */
  | { kind: 'linked'; row: VrJob }
  /** A submit may have gone out: resolution looks for it again; never a second submit. */
  | { kind: 'resolving'; row: VrJob }
  /** Never submitted, or a person said it is not on V&R (resubmit): back to creation under a new BullMQ job id. */
  | { kind: 'requeued'; row: VrJob };

export interface RetryOptions {
  /**
   * A person checked V&R and the listing is not there: submit again even though a submit may have
   * gone out. Never set by vr-lister itself.
   */
  resubmit?: boolean;
}

/**
 * Decides and writes a retry in one transaction, holding the row lock so that two concurrent
 * retries cannot both requeue (the second sees the new status and gets a conflict).
 */
export async function retryRow(
  ctx: Pick<ApiContext, 'database'>,
  id: number,
  options: RetryOptions = {},
): Promise<RetryOutcome> {
  return ctx.database.db.transaction(async (tx) => {
    const [row] = await tx.select().from(vrJobs).where(eq(vrJobs.id, id)).for('update');
    if (!row) return { kind: 'not_found' };
    if (!(RETRYABLE as readonly string[]).includes(row.status)) {
      return {
        kind: 'conflict',
        status: row.status,
        message: `job ${id} is ${row.status}: only ${RETRYABLE.join(' or ')} jobs can be retried`,
      };
    }
    const [link] = await tx
      .select()
      .from(vrProductLinks)
      .where(eq(vrProductLinks.productRef, row.productRef));
    if (link) return { kind: 'linked', row: (await completeFromLink(tx, id, link.vrListingId))! };
    // Going back to an active status: another active job for the product would be a second listing.
    const [active] = await tx
      .select({ id: vrJobs.id, status: vrJobs.status })
      .from(vrJobs)
      .where(
        and(
          eq(vrJobs.productRef, row.productRef),
          ne(vrJobs.id, id),
          inArray(vrJobs.status, [...ACTIVE_STATUSES]),
        ),
      );
    if (active) {
      return {
        kind: 'conflict',
        status: row.status,
        message: `productRef ${row.productRef} already has job ${active.id} (${active.status}) on its way to V&R`,
      };
    }
    // A submit may have gone out: look for it again, never submit a second time unless a person says so.
    if (row.submitStartedAt && !options.resubmit)
      return { kind: 'resolving', row: (await lookAgain(tx, id))! };
    return { kind: 'requeued', row: (await requeueJob(tx, id, RETRYABLE, null))! };
  });
}

/**
 * Hands a retried row to its queue: creation for a requeued one, a flush for one resolution looks
 * for again. Row first, then Redis: exactly the producer's order, and the same outbox covers a
 * failure (this throws; the row is saved and the sweep queues it).
 */
export async function queueRetried(
  ctx: Pick<ApiContext, 'producer' | 'resolveQueue'>,
  outcome: Extract<RetryOutcome, { row: VrJob }>,
  trigger: string,
): Promise<void> {
  if (outcome.kind === 'requeued') await addCreationJobs(ctx.producer, [outcome.row]);
  if (outcome.kind === 'resolving')
    await withTimeout(requestFlush(ctx.resolveQueue, trigger), ctx.producer.queueTimeoutMs, 'Redis');
}

const SAVED_NOT_QUEUED =
  'the job is updated in Postgres but Redis did not take the request; the sweep will pick it up when Redis is back';

/** The retry's optional body. */
export const retryBody = z
  .object({
    resubmit: z
      .boolean()
      .optional()
      .describe('true: a person checked V&R and the listing is not there; submit it again'),
  })
  .strict();

export function registerRetryRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Params: IdParams; Body: z.output<typeof retryBody> | undefined }>(
    '/api/vr/jobs/:id/retry',
    async (request) => {
      const { id } = request.params;
      const outcome = await retryRow(ctx, id, request.body ?? {});
      if (outcome.kind === 'not_found') throw notFound('job not found', { id });
      if (outcome.kind === 'conflict') {
        throw conflict('cannot retry', { status: outcome.status, message: outcome.message });
      }
      const job = jobDetail(outcome.row);
      const log = ctx.logger.child({ jobId: id, productRef: outcome.row.productRef });
      try {
        await queueRetried(ctx, outcome, 'api retry');
      } catch (error) {
        log.warn({ err: error, action: outcome.kind }, 'retry saved but not queued');
        throw queueUnavailable(SAVED_NOT_QUEUED, { action: outcome.kind, job });
      }
      log.info({ action: outcome.kind }, 'job retried');
      return { action: outcome.kind, job };
    },
  );
}
