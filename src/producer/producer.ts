import { Queue } from 'bullmq';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { connectDatabase, type Database, type Db } from '../db/client.ts';
import { ACTIVE_STATUSES, type JobStatus, type VrJob, vrJobs, vrProductLinks } from '../db/schema.ts';
import { closeAll, once } from '../lifecycle.ts';
import { type Listing, type ListingInput, validateListing, validateListings } from '../listing.ts';
import { type Logger, silentLogger } from '../logger.ts';
import {
  CREATE_QUEUE,
  type CreateJobData,
  createRedis,
  creationJobId,
  creationJobOptions,
} from '../queues.ts';

export interface EnqueuedJob {
  id: number;
  productRef: string;
  status: JobStatus;
  /** False when an active job for this product already existed and is returned instead. */
  created: boolean;
}

/** The product is already on V&R (or a person must look at it first): enqueueing would list it twice. */
export class AlreadyListedError extends Error {
  override name = 'AlreadyListedError';
  constructor(
    readonly productRef: string,
    reason: string,
  ) {
    super(`productRef ${productRef}: ${reason}`);
  }
}

/** The rows are in Postgres but Redis didn't take the jobs; the sweep will enqueue them. */
export class QueueUnavailableError extends Error {
  override name = 'QueueUnavailableError';
  constructor(
    readonly jobs: EnqueuedJob[],
    cause: unknown,
  ) {
    super(
      `${jobs.length} job(s) saved in Postgres (status queued) but not added to Redis: ${
        cause instanceof Error ? cause.message : String(cause)
      }. The sweep will add them when Redis is back.`,
      { cause },
    );
  }
}

export interface ProducerOptions {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix?: string;
  logger?: Logger;
  createAttempts?: number;
  createBackoffMs?: number;
  /** How long to wait for Redis before reporting QueueUnavailableError. */
  queueTimeoutMs?: number;
}

export interface Producer {
  enqueueListing(listing: ListingInput | unknown): Promise<EnqueuedJob>;
  enqueueListings(listings: readonly (ListingInput | unknown)[]): Promise<EnqueuedJob[]>;
  close(): Promise<void>;
}

export interface ProducerDeps {
  db: Db;
  queue: Queue<CreateJobData>;
  logger: Logger;
  jobOptions: ReturnType<typeof creationJobOptions>;
  queueTimeoutMs: number;
}

/** Refuses products that already have a V&R id or a job waiting for a person. */
async function refuseListed(db: Db, listings: Listing[]): Promise<void> {
  const refs = listings.map((l) => l.productRef);
  const linked = await db
    .select({ productRef: vrProductLinks.productRef, vrListingId: vrProductLinks.vrListingId })
    .from(vrProductLinks)
    .where(inArray(vrProductLinks.productRef, refs));
  const first = linked[0];
  if (first) {
    throw new AlreadyListedError(first.productRef, `already on V&R as listing ${first.vrListingId}`);
  }
  const review = await db
    .select({ id: vrJobs.id, productRef: vrJobs.productRef })
    .from(vrJobs)
    .where(and(inArray(vrJobs.productRef, refs), eq(vrJobs.status, 'needs_review')))
    .limit(1);
  if (review[0]) {
    throw new AlreadyListedError(
      review[0].productRef,
      `job ${review[0].id} needs review (it may already be on V&R); resolve or retry that job instead`,
    );
  }
}

/** Writes the rows in one transaction; an active job for the same product is returned, not duplicated. */
export async function insertJobs(db: Db, listings: Listing[]): Promise<(VrJob & { created: boolean })[]> {
  return db.transaction(async (tx) => {
    await refuseListed(tx as unknown as Db, listings);
    const inserted = await tx
      .insert(vrJobs)
      .values(listings.map((listing) => ({ productRef: listing.productRef, payload: { listing } })))
      .onConflictDoNothing({
        target: vrJobs.productRef,
        where: sql`status in ('queued', 'in_progress', 'completed_pending_id')`,
      })
      .returning();
    const byRef = new Map(inserted.map((row) => [row.productRef, { ...row, created: true }]));
    const missing = listings.filter((l) => !byRef.has(l.productRef)).map((l) => l.productRef);
    if (missing.length) {
      const existing = await tx
        .select()
        .from(vrJobs)
        .where(and(inArray(vrJobs.productRef, missing), inArray(vrJobs.status, [...ACTIVE_STATUSES])));
      for (const row of existing) byRef.set(row.productRef, { ...row, created: false });
    }
    return listings.map((l) => {
      const row = byRef.get(l.productRef);
      // Only reachable if the active job finished between the insert and the select.
      if (!row)
        throw new Error(`productRef ${l.productRef}: its job changed state while enqueueing; try again`);
      return row;
    });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Adds creation jobs for queued rows. Re-adding an existing job id is a no-op in BullMQ. */
export async function addCreationJobs(
  deps: Pick<ProducerDeps, 'queue' | 'jobOptions' | 'queueTimeoutMs'>,
  rows: Pick<VrJob, 'id' | 'generation' | 'productRef' | 'status'>[],
): Promise<void> {
  const queued = rows.filter((row) => row.status === 'queued');
  if (!queued.length) return;
  await withTimeout(
    deps.queue.addBulk(
      queued.map((row) => ({
        name: 'create-listing',
        data: { rowId: row.id, productRef: row.productRef },
        opts: { ...deps.jobOptions, jobId: creationJobId(row) },
      })),
    ),
    deps.queueTimeoutMs,
    'Redis',
  );
}

export async function enqueueValidated(deps: ProducerDeps, listings: Listing[]): Promise<EnqueuedJob[]> {
  const rows = await insertJobs(deps.db, listings);
  const jobs = rows.map((row) => ({
    id: row.id,
    productRef: row.productRef,
    status: row.status,
    created: row.created,
  }));
  try {
    await addCreationJobs(deps, rows);
  } catch (error) {
    deps.logger.error({ err: error, jobs: jobs.length }, 'jobs saved but not added to the creation queue');
    throw new QueueUnavailableError(jobs, error);
  }
  deps.logger.info(
    { created: jobs.filter((j) => j.created).length, existing: jobs.filter((j) => !j.created).length },
    'listings enqueued',
  );
  return jobs;
}

export function createProducer(options: ProducerOptions): Producer {
  const logger = options.logger ?? silentLogger;
  const database: Database = connectDatabase(options.databaseUrl);
  const redis: Redis = createRedis(options.redisUrl, { forProducer: true });
  // Without a listener ioredis prints every failed reconnect; the calls report the failure instead.
  redis.on('error', (error) => logger.debug({ err: error }, 'redis connection error'));
  const queue = new Queue<CreateJobData>(CREATE_QUEUE, {
    connection: redis,
    prefix: options.queuePrefix ?? 'vr-lister',
  });
  queue.on('error', (error) => logger.debug({ err: error }, 'creation queue error'));
  const deps: ProducerDeps = {
    db: database.db,
    queue,
    logger,
    jobOptions: creationJobOptions({
      createAttempts: options.createAttempts ?? 5,
      createBackoffMs: options.createBackoffMs ?? 5_000,
    }),
    queueTimeoutMs: options.queueTimeoutMs ?? 10_000,
  };
  return {
    async enqueueListing(input) {
      const [job] = await enqueueValidated(deps, [validateListing(input)]);
      return job!;
    },
    enqueueListings: async (inputs) => enqueueValidated(deps, validateListings(inputs)),
    close: once(() => closeAll([() => queue.close(), () => redis.quit(), () => database.close()])),
  };
}
