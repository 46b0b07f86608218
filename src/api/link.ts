import { and, desc, eq, isNotNull, isNull } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { completeFromLink, RETRYABLE } from '../db/jobs.ts';
import { type VrJob, vrJobs, vrProductLinks, vrResolutionRuns } from '../db/schema.ts';
import { requestVerify } from '../resolution/verify-job.ts';
import type { ApiContext } from './context.ts';
import { conflict, notFound } from './http-error.ts';
import { type IdParams, jobDetail } from './jobs.ts';

export type LinkOutcome =
  | { kind: 'not_found' }
  | { kind: 'conflict'; status: string; message: string }
  | { kind: 'linked'; row: VrJob };

export const linkBody = z
  .object({
    vrListingId: z
      .number()
      .int()
      .positive()
      .max(Number.MAX_SAFE_INTEGER)
      .describe('the V&R product id a person found to be this job’s listing'),
  })
  .strict();

/**
 * A person says which V&R listing is the job's: the job completes with that id and the product is
 * linked to it, in one transaction. Refused for a job not in failed or needs_review, an id linked to
 * another product, a product linked to another id, and an id above the highest one the last complete
 * export held (V&R's ids only grow, so such an id cannot be in it).
 */
export async function linkRow(
  ctx: Pick<ApiContext, 'database'>,
  id: number,
  vrListingId: number,
): Promise<LinkOutcome> {
  return ctx.database.db.transaction(async (tx) => {
    const [row] = await tx.select().from(vrJobs).where(eq(vrJobs.id, id)).for('update');
    if (!row) return { kind: 'not_found' };
    const conflict = (message: string): LinkOutcome => ({ kind: 'conflict', status: row.status, message });
    if (!(RETRYABLE as readonly string[]).includes(row.status))
      return conflict(`job ${id} is ${row.status}: only ${RETRYABLE.join(' or ')} jobs can be linked`);
    const [byId] = await tx.select().from(vrProductLinks).where(eq(vrProductLinks.vrListingId, vrListingId));
    if (byId && byId.productRef !== row.productRef)
      return conflict(`V&R listing ${vrListingId} is already linked to productRef ${byId.productRef}`);
    const [byRef] = await tx
      .select()
      .from(vrProductLinks)
      .where(eq(vrProductLinks.productRef, row.productRef));
    if (byRef && byRef.vrListingId !== vrListingId)
      return conflict(`productRef ${row.productRef} is already linked to V&R listing ${byRef.vrListingId}`);
    const [last] = await tx
      .select({ maxProductId: vrResolutionRuns.maxProductId })
      .from(vrResolutionRuns)
      .where(and(isNotNull(vrResolutionRuns.finishedAt), isNull(vrResolutionRuns.error)))
      .orderBy(desc(vrResolutionRuns.id))
      .limit(1);
    if (!last || last.maxProductId === null || vrListingId > last.maxProductId)
      return conflict(
        `V&R listing ${vrListingId} is not in the last complete export (highest id ${last?.maxProductId ?? 'unknown'}): wait for the next export, then link`,
      );
    const linked = await completeFromLink(tx, id, vrListingId, { verify: true });
    if (!linked) return conflict(`job ${id} changed meanwhile`);
    if (!byRef)
      await tx.insert(vrProductLinks).values({ productRef: row.productRef, vrListingId, jobId: id });
    return { kind: 'linked', row: linked };
  });
}

export function registerLinkRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Params: IdParams; Body: z.output<typeof linkBody> }>(
    '/api/vr/jobs/:id/link',
    async (request) => {
      const { id } = request.params;
      const { vrListingId } = request.body;
      const outcome = await linkRow(ctx, id, vrListingId);
      if (outcome.kind === 'not_found') throw notFound('job not found', { id });
      if (outcome.kind === 'conflict')
        throw conflict('cannot link', { status: outcome.status, message: outcome.message });
      ctx.logger.info(
        { jobId: id, productRef: outcome.row.productRef, vrListingId },
        'job linked by a person',
      );
      // Read back at once; if Redis doesn't take it, the sweep asks again.
      await requestVerify(ctx.resolveQueue, 'link').catch((error: unknown) =>
        ctx.logger.warn({ err: error, jobId: id }, 'read-back not requested now; the sweep will'),
      );
      return { action: 'linked' as const, job: jobDetail(outcome.row) };
    },
  );
}
