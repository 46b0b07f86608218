import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { eq, inArray } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { artifactContentType, artifactPath } from '../creation/artifacts.ts';
import { type JobView, jobView, listJobs } from '../db/queries.ts';
import { JOB_STATUSES, type VrJob, vrJobs } from '../db/schema.ts';
import {
  LIMITS,
  type Listing,
  type ListingDefaults,
  ValidationError,
  validateListing,
  validateListingsYielding,
} from '../listing/listing.ts';
import { type EnqueuedJob, enqueueValidated, QueueUnavailableError } from '../producer/producer.ts';
import type { ApiContext } from './context.ts';
import { notFound, queueUnavailable } from './http-error.ts';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

/** A job by id: the list view plus what a person needs to understand it. Never any credential. */
export function jobDetail(row: VrJob) {
  return {
    ...jobView(row),
    generation: row.generation,
    submitStartedAt: row.submitStartedAt?.toISOString() ?? null,
    submitOutcomeUnknown: row.submitOutcomeUnknown,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
    candidates: row.payload.candidates ?? [],
    listing: row.payload.listing,
  };
}

const digits = (what: string) => z.string({ error: 'must be given once' }).regex(/^\d{1,15}$/, what);

/** `?status&limit&cursor` for a keyset-paged list whose rows have one of `statuses`. */
export function pagedListQuery<S extends readonly [string, ...string[]]>(statuses: S) {
  return z.strictObject(
    {
      status: z.enum(statuses, { error: `must be one of ${statuses.join(', ')}` }).optional(),
      limit: digits('must be a whole number')
        .transform(Number)
        .pipe(z.number().min(1, 'must be at least 1').max(MAX_PAGE, `must be at most ${MAX_PAGE}`))
        .optional(),
      cursor: digits('is not a cursor this API returned').transform(Number).optional(),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : 'must be a query string') },
  );
}

export const listQuery = pagedListQuery(JOB_STATUSES);

/** A path's id (a job's, a delivery's), after the route's schema made it a number. */
export type IdParams = { id: number };

/** The job, or a 404 for the error handler. */
export async function findJob(ctx: ApiContext, id: number): Promise<VrJob> {
  const [row] = await ctx.database.db.select().from(vrJobs).where(eq(vrJobs.id, id));
  if (!row) throw notFound('job not found', { id });
  return row;
}

/**
 * One listing (an object), or many: an array, or `{ listings: [...] }`. Many go through the
 * producer's bulk validation: one bad entry refuses the call, naming every error.
 */
async function validateBody(
  body: unknown,
  defaults: ListingDefaults,
): Promise<{ bulk: boolean; listings: Listing[] }> {
  if (Array.isArray(body)) return { bulk: true, listings: await validateListingsYielding(body, defaults) };
  if (body !== null && typeof body === 'object' && 'listings' in body) {
    const extra = Object.keys(body).filter((key) => key !== 'listings');
    if (extra.length) {
      throw new ValidationError(extra.map((field) => ({ field, message: 'is not a known field' })));
    }
    return {
      bulk: true,
      listings: await validateListingsYielding((body as { listings: unknown }).listings, defaults),
    };
  }
  return { bulk: false, listings: [validateListing(body, defaults)] };
}

async function views(ctx: ApiContext, jobs: EnqueuedJob[]): Promise<(JobView & { created: boolean })[]> {
  const rows = await ctx.database.db
    .select()
    .from(vrJobs)
    .where(
      inArray(
        vrJobs.id,
        jobs.map((j) => j.id),
      ),
    );
  const byId = new Map(rows.map((row) => [row.id, row]));
  return jobs.map((job) => ({ ...jobView(byId.get(job.id)!), created: job.created }));
}

export function registerJobRoutes(app: FastifyInstance, ctx: ApiContext): void {
  // A bad listing (ValidationError) or a product already on V&R (AlreadyListedError) reaches the
  // error handler as it is thrown.
  app.post('/api/vr/jobs', { bodyLimit: LIMITS.requestBodyBytes }, async (request, reply) => {
    const parsed = await validateBody(request.body, ctx.producer.listingDefaults);
    let enqueued: EnqueuedJob[];
    try {
      enqueued = await enqueueValidated(ctx.producer, parsed.listings);
    } catch (error) {
      if (!(error instanceof QueueUnavailableError)) throw error;
      throw queueUnavailable(
        'the listings are saved (status queued) but Redis did not take their jobs; the sweep will enqueue them when Redis is back',
        parsed.bulk ? { jobs: error.jobs } : { job: error.jobs[0] },
      );
    }
    const jobs = await views(ctx, enqueued);
    // 201 when something new was written; an idempotent repeat only returns the existing jobs.
    reply.code(jobs.some((job) => job.created) ? 201 : 200);
    return parsed.bulk ? { jobs } : { job: jobs[0] };
  });

  app.get('/api/vr/jobs', async (request) => {
    const { status, limit = DEFAULT_PAGE, cursor = 0 } = request.query as z.output<typeof listQuery>;
    // One more than asked tells whether another page follows.
    const rows = await listJobs(ctx.database.db, { status, limit: limit + 1, afterId: cursor });
    const page = rows.slice(0, limit);
    return {
      jobs: page.map(jobView),
      nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null,
    };
  });

  app.get<{ Params: IdParams }>('/api/vr/jobs/:id', async (request) => ({
    job: jobDetail(await findJob(ctx, request.params.id)),
  }));

  app.get<{ Params: IdParams & { name: string } }>('/api/vr/jobs/:id/artifacts/:name', (request, reply) =>
    sendArtifact(ctx, request.params, reply),
  );
}

/**
 * Evidence of an unexpected page: only a name recorded for this job, read from its own folder.
 * (Also served under /review, which a browser opens with HTTP Basic.)
 */
export async function sendArtifact(
  ctx: ApiContext,
  { id, name }: IdParams & { name: string },
  reply: FastifyReply,
): Promise<FastifyReply> {
  const row = await findJob(ctx, id);
  const path = artifactPath(ctx.config.artifactsDir, id, name);
  if (!path || !(row.artifacts ?? []).some((a) => a.name === name)) {
    throw notFound('artifact not found', { id, name });
  }
  // Not there: the file is gone, not the request wrong.
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) {
    throw notFound('artifact not found', {
      id,
      name,
      message: `deleted (kept ${ctx.config.artifactsRetentionDays} days, ARTIFACTS_RETENTION_DAYS) or not on this machine's ARTIFACTS_DIR`,
    });
  }
  // A saved page is V&R's HTML: never run it in this origin.
  return reply
    .type(artifactContentType(name))
    .header('content-length', info.size)
    .header('content-disposition', `${name.endsWith('.png') ? 'inline' : 'attachment'}; filename="${name}"`)
    .header('content-security-policy', 'sandbox')
    .header('x-content-type-options', 'nosniff')
    .send(createReadStream(path));
}
