import { Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { connectDatabase, type Database, type Db } from '../db/client.ts';
import { ACTIVE_STATUSES, type JobResult, type JobStatus, type VrJob } from '../db/schema.ts';
import { NeverRetryError, RetryLaterError } from '../errors.ts';
import { closeAll, once } from '../lifecycle.ts';
import type { ActionChangesInput } from '../listing/action.ts';
import { withoutMarkers } from '../listing/description.ts';
import {
  completeListings,
  type FieldError,
  type Listing,
  type ListingDefaults,
  type ListingInput,
  ValidationError,
  validateListing,
  validateListings,
} from '../listing/listing.ts';
import { DEFAULT_MARKER_TEMPLATE } from '../listing/normalize.ts';
import { type Logger, silentLogger } from '../logger.ts';
import {
  addCreationJobs,
  CREATE_QUEUE,
  type CreateJobData,
  createRedis,
  creationJobOptions,
  OUTBOX_CHANNEL,
} from '../queues.ts';
import { type RequestedAction, requestAction } from './actions.ts';
import { type HostTransaction, type Run, runnerFor } from './host-tx.ts';
import { JobEventStream, type JobResultEvent } from './job-events.ts';

export type { HostTransaction } from './host-tx.ts';

export interface EnqueuedJob {
  id: number;
  productRef: string;
  status: JobStatus;
  /** False when an active job for this product already existed and is returned instead. */
  created: boolean;
}

/** The product is already on V&R (or a person must look at it first): enqueueing would list it twice. */
export class AlreadyListedError extends NeverRetryError {
  override name = 'AlreadyListedError';
  constructor(
    readonly productRef: string,
    reason: string,
  ) {
    super(`productRef ${productRef}: ${reason}`);
  }
}

/** The rows are in Postgres but Redis didn't take the jobs; the sweep will enqueue them. */
export class QueueUnavailableError extends RetryLaterError {
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

/** waitForResult's timeout passed before the product's job reached a final status. */
export class ResultTimeoutError extends Error {
  override name = 'ResultTimeoutError';
  constructor(
    readonly productRef: string,
    readonly timeoutMs: number,
  ) {
    super(
      `productRef ${productRef}: no final status (completed, failed, needs_review) within ${timeoutMs} ms`,
    );
  }
}

export interface WaitForResultOptions {
  /** Reject with ResultTimeoutError after this long; unset waits for as long as it takes. */
  timeoutMs?: number;
  signal?: AbortSignal;
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
  /**
   * What a listing without a category or shipping gets (config.listingDefaults: VR_DEFAULT_CATEGORY,
   * VR_SHIPPING_FEES, VR_LOCAL_PICKUP). Without them, such a listing is refused.
   */
  listingDefaults?: ListingDefaults;
  /** VR_REF_MARKER_TEMPLATE: text that reads as such a marker is removed from descriptions. */
  markerTemplate?: string;
}

export interface Producer {
  enqueueListing(listing: ListingInput | unknown, options?: EnqueueOptions): Promise<EnqueuedJob>;
  enqueueListings(
    listings: readonly (ListingInput | unknown)[],
    options?: EnqueueOptions,
  ): Promise<EnqueuedJob[]>;
  /**
   * Calls `callback` once for every job that reaches `completed`, `failed` or `needs_review` from now
   * on, whichever process wrote it (LISTEN on Postgres; after a reconnect, what was missed is read
   * from the event log). Returns a function that stops the calls.
   */
  onResult(callback: (event: JobResultEvent) => void): () => void;
  /**
   * Resolves with the product's job once it is `completed` (with its `vrListingId`), `failed` or
   * `needs_review`; at once if its latest job already is. Rejects with ResultTimeoutError after
   * `timeoutMs`, or with the signal's reason.
   */
  waitForResult(productRef: string, options?: WaitForResultOptions): Promise<JobResult>;
  /**
   * Actions on a listing after its id (src/producer/actions.ts): recorded, then run on the V&R
   * lane. An action on a listing still waiting for its id waits too (`waiting_for_id`). Each
   * resolves with the action (`created: false` and a message when nothing needed writing).
   */
  markSold(productRef: string, options?: EnqueueOptions): Promise<RequestedAction>;
  restoreListing(productRef: string, options?: EnqueueOptions): Promise<RequestedAction>;
  updateListing(
    productRef: string,
    changes: ActionChangesInput,
    options?: EnqueueOptions,
  ): Promise<RequestedAction>;
  deleteListing(productRef: string, options?: EnqueueOptions): Promise<RequestedAction>;
  /**
   * Replaces every photo of the listing with these (http(s) URLs, 1 to 20, as a listing's
   * `images`): done once the edit page shows exactly these many, none of the old.
   */
  replacePhotos(
    productRef: string,
    photos: readonly string[],
    options?: EnqueueOptions,
  ): Promise<RequestedAction>;
  close(): Promise<void>;
}

export interface ProducerDeps {
  db: Db;
  queue: Queue<CreateJobData>;
  logger: Logger;
  jobOptions: ReturnType<typeof creationJobOptions>;
  queueTimeoutMs: number;
  listingDefaults: ListingDefaults;
  /** VR_REF_MARKER_TEMPLATE (default `Ref: {ref}`): see ProducerOptions. */
  markerTemplate?: string;
}

export interface EnqueueOptions {
  /**
   * Write the rows inside this transaction. The jobs reach Redis after the commit (the resolution
   * worker listens for it, and the sweep catches anything missed), and never if it rolls back.
   */
  tx?: HostTransaction;
}

/** The rows a job needs to be enqueued; `created` is false when an active job already existed. */
export type InsertedJob = Pick<VrJob, 'id' | 'productRef' | 'status' | 'generation'> & { created: boolean };

const ACTIVE = sql.raw(`(${ACTIVE_STATUSES.map((s) => `'${s}'`).join(', ')})`);

const toInserted = (row: Record<string, unknown>, created: boolean): InsertedJob => ({
  id: Number(row.id),
  productRef: String(row.product_ref),
  status: row.status as JobStatus,
  generation: Number(row.generation),
  created,
});

/**
 * Writes the rows inside the given transaction. Refuses products already on V&R or waiting for a
 * person; an active job for the same product is returned, not duplicated (the partial unique
 * index makes that race-free).
 */
async function insertJobsIn(run: Run, listings: Listing[]): Promise<InsertedJob[]> {
  const refs = listings.map((l) => l.productRef);
  const [linked] = await run(
    sql`select product_ref, vr_listing_id from vr_product_links where product_ref = any(${sql.param(refs)}::text[]) limit 1`,
  );
  if (linked) {
    throw new AlreadyListedError(
      String(linked.product_ref),
      `already on V&R as listing ${linked.vr_listing_id}`,
    );
  }
  const [review] = await run(
    sql`select id, product_ref from vr_jobs where product_ref = any(${sql.param(refs)}::text[]) and status = 'needs_review' limit 1`,
  );
  if (review) {
    throw new AlreadyListedError(
      String(review.product_ref),
      `job ${review.id} needs review (it may already be on V&R); resolve or retry that job instead`,
    );
  }
  const payloads = listings.map((listing) => JSON.stringify({ listing }));
  const inserted = await run(sql`
    insert into vr_jobs (product_ref, payload)
    select ref, payload::jsonb from unnest(${sql.param(refs)}::text[], ${sql.param(payloads)}::text[]) as t(ref, payload)
    on conflict (product_ref) where status in ${ACTIVE} do nothing
    returning id, product_ref, status, generation`);
  const byRef = new Map(inserted.map((row) => [String(row.product_ref), toInserted(row, true)]));
  const missing = refs.filter((ref) => !byRef.has(ref));
  if (missing.length) {
    const existing = await run(sql`
      select id, product_ref, status, generation from vr_jobs
      where product_ref = any(${sql.param(missing)}::text[]) and status in ${ACTIVE}`);
    for (const row of existing) byRef.set(String(row.product_ref), toInserted(row, false));
  }
  return refs.map((ref) => {
    const row = byRef.get(ref);
    // Only reachable if the active job finished between the insert and the select.
    if (!row) throw new Error(`productRef ${ref}: its job changed state while enqueueing; try again`);
    return row;
  });
}

/**
 * Each description without text that reads as a reference marker, so that a seller's text can't
 * make this listing's row a candidate for another product (what is stored is what is sent).
 */
function withoutForeignMarkers(listings: Listing[], template: string): Listing[] {
  const errors: FieldError[] = [];
  const cleaned = listings.map((listing, index) => {
    if (!listing.description) return listing;
    const description = withoutMarkers(listing.description, template);
    if (description === undefined) {
      errors.push({
        index: listings.length > 1 ? index : undefined,
        field: 'description',
        message: 'contains text that reads as a reference marker and could not be removed',
      });
      return listing;
    }
    return description === listing.description ? listing : { ...listing, description };
  });
  if (errors.length) throw new ValidationError(errors);
  return cleaned;
}

export async function enqueueValidated(
  deps: ProducerDeps,
  validated: Listing[],
  options: EnqueueOptions = {},
): Promise<EnqueuedJob[]> {
  // The last gate before anything is written: a leaf category (canonical spelling) and shipping.
  const listings = withoutForeignMarkers(
    completeListings(validated, deps.listingDefaults),
    deps.markerTemplate ?? DEFAULT_MARKER_TEMPLATE,
  );
  if (options.tx) {
    const run = runnerFor(options.tx);
    const rows = await insertJobsIn(run, listings);
    // NOTIFY is delivered only if the host's transaction commits.
    await run(sql`select pg_notify(${OUTBOX_CHANNEL}, '')`);
    return rows.map(({ generation: _, ...job }) => job);
  }
  const rows = await deps.db.transaction((tx) => insertJobsIn(runnerFor(tx as unknown as Db), listings));
  const jobs = rows.map(({ generation: _, ...job }) => job);
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
    listingDefaults: options.listingDefaults ?? {},
    markerTemplate: options.markerTemplate,
  };
  // One LISTEN connection per producer, opened on the first onResult or waitForResult.
  let stream: JobEventStream | undefined;
  const events = () => {
    stream ??= new JobEventStream({ url: options.databaseUrl, logger });
    return stream;
  };
  const latestResult = async (productRef: string): Promise<JobResult | undefined> => {
    const [row] = await database.sql<(JobResult & { final: boolean })[]>`
      select id::int8 as id, product_ref as "productRef", status, vr_listing_id::int8 as "vrListingId", error,
        coalesce(payload->'candidates', '[]'::jsonb) as candidates,
        status in ('completed', 'failed', 'needs_review') as final
      from vr_jobs where product_ref = ${productRef} order by id desc limit 1`;
    if (!row?.final) return undefined;
    const { final: _, ...result } = row;
    return {
      ...result,
      id: Number(result.id),
      vrListingId: result.vrListingId === null ? null : Number(result.vrListingId),
    };
  };
  return {
    onResult(callback) {
      const unsubscribe = events().subscribe(callback);
      events()
        .start()
        .catch((error) => logger.error({ err: error }, 'job events: could not start listening'));
      return unsubscribe;
    },
    async waitForResult(productRef, { timeoutMs, signal } = {}) {
      signal?.throwIfAborted();
      let settle: { resolve: (job: JobResult) => void; reject: (error: unknown) => void } | undefined;
      const result = new Promise<JobResult>((resolve, reject) => {
        settle = { resolve, reject };
      });
      // Subscribed before the row is read: a result between the two is seen by one or the other.
      const unsubscribe = events().subscribe((event) => {
        if (event.job.productRef === productRef) settle!.resolve(event.job);
      });
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => settle!.reject(new ResultTimeoutError(productRef, timeoutMs)), timeoutMs);
      const onAbort = () => settle!.reject(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await events().start();
        const already = await latestResult(productRef);
        if (already) settle!.resolve(already);
        return await result;
      } finally {
        unsubscribe();
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
    },
    async enqueueListing(input, options) {
      const [job] = await enqueueValidated(deps, [validateListing(input, deps.listingDefaults)], options);
      return job!;
    },
    markSold: (productRef, options) => requestAction(deps, { productRef, kind: 'mark_sold' }, options),
    restoreListing: (productRef, options) => requestAction(deps, { productRef, kind: 'restore' }, options),
    updateListing: (productRef, changes, options) =>
      requestAction(deps, { productRef, kind: 'update', changes }, options),
    deleteListing: (productRef, options) => requestAction(deps, { productRef, kind: 'delete' }, options),
    replacePhotos: (productRef, photos, options) =>
      requestAction(deps, { productRef, kind: 'replace_photos', changes: { photos } }, options),
    enqueueListings: async (inputs, options) =>
      enqueueValidated(deps, validateListings(inputs, deps.listingDefaults), options),
    close: once(() =>
      closeAll([async () => stream?.stop(), () => queue.close(), () => redis.quit(), () => database.close()]),
    ),
  };
}
