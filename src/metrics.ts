import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { collectDefaultMetrics, type Metric, Registry } from 'prom-client';
import type { Database } from './db/client.ts';
import { countByStatus } from './db/queries.ts';
import type { JobStatus } from './db/schema.ts';
import { withTimeout } from './lifecycle.ts';
import type { Logger } from './logger.ts';
import { readSiteState, SITE_STATES, type SiteState, siteStateWithBreaker } from './vr/site-state.ts';

/** Resolution run duration buckets, in seconds: a run is one export download (30 to 60 s on V&R). */
export const RUN_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800] as const;

const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'completed',
  'failed',
] as const;

type Labels = Record<string, string>;
interface Sample {
  labels?: Labels;
  value: number;
  metricName?: string;
}

interface RunDurations {
  result: 'ok' | 'error';
  count: number;
  sumSeconds: number;
  buckets: number[];
}

/** Everything /metrics shows, read once per scrape from Postgres (the truth) and Redis. */
export interface Snapshot {
  statuses: Record<JobStatus, number>;
  created: number;
  resolved: number;
  failed: number;
  needsReview: number;
  exportBytes: number;
  exportRows: number;
  lastExport: { bytes: number; rows: number } | null;
  oldestPendingSeconds: number;
  oldestQueuedSeconds: number;
  durations: RunDurations[];
  /** Read-back differences per field, over every job whose listing was read back mismatched. */
  mismatches: { field: string; count: number }[];
  /** Actions (vr_actions) that ended, per kind and outcome (done, failed). */
  actions: { kind: string; outcome: string; count: number }[];
  /** Null when Redis did not answer: the queue series are left out rather than shown as zero. */
  queues: { queue: string; counts: Record<string, number> }[] | null;
  /** V&R's state as the workers last saw it; null when Redis did not answer. */
  siteState: SiteState | null;
  /** Snapshots this process has taken, this one included: scrapes that shared one see one number. */
  collections: number;
}

export interface MetricsDeps {
  database: Database;
  queues: Queue[];
  logger: Logger;
  redisTimeoutMs?: number;
  /** Where the workers publish V&R's state (blocked, login refused). */
  siteState?: { redis: Redis; queuePrefix: string };
  /** How long one snapshot serves every scrape (SNAPSHOT_MAX_AGE_MS by default). */
  snapshotMaxAgeMs?: number;
}

/**
 * Scrapes within this long of a snapshot share it. A snapshot is seven Postgres queries and two
 * Redis round trips: a hundred scrapes at once took the API's connections from its own routes.
 */
export const SNAPSHOT_MAX_AGE_MS = 5_000;

async function readDatabase(
  database: Database,
): Promise<Omit<Snapshot, 'queues' | 'collections' | 'siteState'>> {
  const { sql } = database;
  const bucketColumns = RUN_DURATION_BUCKETS.map(
    (le, i) => sql`, (count(*) filter (where duration_ms <= ${le * 1000}))::int as ${sql(`b${i}`)}`,
  );
  const [statuses, [jobs], [runs], [last], durations, mismatches, actions] = await Promise.all([
    countByStatus(database.db),
    sql<{ created: number; oldest_pending: number | null; oldest_queued: number | null }[]>`
      select count(*)::int as created,
        extract(epoch from now() - min(submitted_at) filter (where status = 'completed_pending_id'))::float8 as oldest_pending,
        extract(epoch from now() - min(created_at) filter (where status = 'queued'))::float8 as oldest_queued
      from vr_jobs`,
    sql<{ resolved: number; failed: number; needs_review: number; bytes: number; rows: number }[]>`
      select coalesce(sum(matched), 0)::int8 as resolved, coalesce(sum(failed), 0)::int8 as failed,
        coalesce(sum(needs_review), 0)::int8 as needs_review,
        coalesce(sum(bytes), 0)::int8 as bytes, coalesce(sum(rows_scanned), 0)::int8 as rows
      from vr_resolution_runs where finished_at is not null and error is null`,
    sql<{ bytes: number | null; rows: number | null }[]>`
      select bytes::int8, rows_scanned as rows from vr_resolution_runs
      where finished_at is not null and error is null order by id desc limit 1`,
    sql<Record<string, number>[]>`
      select (error is null) as ok, count(*)::int as count, coalesce(sum(duration_ms), 0)::int8 as sum_ms
        ${bucketColumns}
      from vr_resolution_runs where finished_at is not null and duration_ms is not null group by 1`,
    sql<{ field: string; count: number }[]>`
      select d ->> 'field' as field, count(*)::int as count
      from vr_jobs, jsonb_array_elements(verification -> 'differences') d
      where verification ->> 'status' = 'mismatch' group by 1 order by 1`,
    sql<{ kind: string; outcome: string; count: number }[]>`
      select kind, status::text as outcome, count(*)::int as count from vr_actions
      where status in ('done', 'failed') group by 1, 2`,
  ]);
  return {
    statuses,
    created: Number(jobs?.created ?? 0),
    resolved: Number(runs?.resolved ?? 0),
    failed: Number(runs?.failed ?? 0),
    needsReview: Number(runs?.needs_review ?? 0),
    exportBytes: Number(runs?.bytes ?? 0),
    exportRows: Number(runs?.rows ?? 0),
    lastExport: last ? { bytes: Number(last.bytes ?? 0), rows: Number(last.rows ?? 0) } : null,
    oldestPendingSeconds: Math.max(0, Number(jobs?.oldest_pending ?? 0)),
    oldestQueuedSeconds: Math.max(0, Number(jobs?.oldest_queued ?? 0)),
    actions: actions.map((row) => ({ kind: row.kind, outcome: row.outcome, count: Number(row.count) })),
    durations: durations.map((row) => ({
      result: row.ok ? 'ok' : 'error',
      count: Number(row.count),
      sumSeconds: Number(row.sum_ms) / 1000,
      buckets: RUN_DURATION_BUCKETS.map((_, i) => Number(row[`b${i}`])),
    })),
    mismatches: mismatches.map((row) => ({ field: row.field, count: Number(row.count) })),
  };
}

async function readQueues(deps: MetricsDeps): Promise<Snapshot['queues']> {
  try {
    return await withTimeout(
      Promise.all(
        deps.queues.map(async (queue) => ({
          queue: queue.name,
          counts: await queue.getJobCounts(...QUEUE_STATES),
        })),
      ),
      deps.redisTimeoutMs ?? 2_000,
      'Redis',
    );
  } catch (error) {
    deps.logger.warn({ err: error }, 'metrics: queue counts unavailable');
    return null;
  }
}

async function readSite(deps: MetricsDeps): Promise<SiteState | null> {
  if (!deps.siteState) return null;
  const { redis, queuePrefix } = deps.siteState;
  const fromRedis = withTimeout(
    readSiteState(redis, queuePrefix),
    deps.redisTimeoutMs ?? 2_000,
    'Redis',
  ).catch(() => null);
  return (await siteStateWithBreaker(deps.database.db, fromRedis))?.state ?? null;
}

/**
 * A per-app registry (tests build several apps). The vr-lister series are computed from one
 * snapshot taken at scrape time, so the API reports the truth whichever process did the work.
 */
export function createMetrics(deps: MetricsDeps) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vr_lister_' });
  let current: Snapshot | undefined;
  let collections = 0;
  /** The last rendered text and when it was made; the collection in progress, shared by all. */
  let rendered: { text: string; at: number } | undefined;
  let collecting: Promise<string> | undefined;

  const define = (
    name: string,
    help: string,
    type: 'gauge' | 'counter' | 'histogram',
    samples: (s: Snapshot) => Sample[],
  ) => {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: current ? samples(current) : [] }),
    };
    // prom-client's registry only needs name and get(); its Metric type lists its own classes.
    registry.registerMetric(metric as unknown as Metric);
  };

  define('vr_lister_queue_jobs', 'BullMQ jobs per queue and state', 'gauge', (s) =>
    (s.queues ?? []).flatMap(({ queue, counts }) =>
      Object.entries(counts).map(([state, value]) => ({ labels: { queue, state }, value })),
    ),
  );
  define('vr_lister_redis_up', '1 when Redis answered the queue counts of this scrape', 'gauge', (s) => [
    { value: s.queues ? 1 : 0 },
  ]);
  define(
    'vr_lister_vr_session_state',
    'V&R as the workers last saw it: 1 for the current state (ok; blocked: Cloudflare wants a person; login_refused; session_key: VR_SESSION_KEY does not open the stored session; chromium_sandbox; suspect: the circuit breaker paused creation until vr-lister resume)',
    'gauge',
    (s) =>
      s.siteState
        ? SITE_STATES.map((state) => ({ labels: { state }, value: state === s.siteState ? 1 : 0 }))
        : [],
  );
  define('vr_lister_listings', 'Listings (vr_jobs rows) by status', 'gauge', (s) =>
    Object.entries(s.statuses).map(([status, value]) => ({ labels: { status }, value })),
  );
  define('vr_lister_listings_created_total', 'Listings written (vr_jobs rows)', 'counter', (s) => [
    { value: s.created },
  ]);
  define(
    'vr_lister_listings_resolved_total',
    'Listings whose V&R id a resolution run found',
    'counter',
    (s) => [{ value: s.resolved }],
  );
  define(
    'vr_lister_listings_failed_total',
    'Listings a resolution run marked failed (creation failures show in vr_lister_listings{status="failed"})',
    'counter',
    (s) => [{ value: s.failed }],
  );
  define(
    'vr_lister_listings_needs_review_total',
    'Listings a resolution run sent to needs_review',
    'counter',
    (s) => [{ value: s.needsReview }],
  );
  define(
    'vr_lister_listing_mismatches_total',
    'Fields V&R stored other than asked, found by reading listings back from their edit page',
    'counter',
    (s) => s.mismatches.map(({ field, count }) => ({ labels: { field }, value: count })),
  );
  define(
    'vr_lister_export_bytes_total',
    'Bytes of V&R export read by successful resolution runs',
    'counter',
    (s) => [{ value: s.exportBytes }],
  );
  define(
    'vr_lister_export_rows_total',
    'Rows of V&R export read by successful resolution runs',
    'counter',
    (s) => [{ value: s.exportRows }],
  );
  define('vr_lister_last_export_bytes', 'Size of the last successful V&R export download', 'gauge', (s) =>
    s.lastExport ? [{ value: s.lastExport.bytes }] : [],
  );
  define('vr_lister_last_export_rows', 'Rows in the last successful V&R export', 'gauge', (s) =>
    s.lastExport ? [{ value: s.lastExport.rows }] : [],
  );
  define(
    'vr_lister_oldest_pending_age_seconds',
    'Age of the oldest listing waiting for its V&R id (0 when none)',
    'gauge',
    (s) => [{ value: s.oldestPendingSeconds }],
  );
  define(
    'vr_lister_oldest_queued_age_seconds',
    'Age of the oldest listing waiting to be created (0 when none)',
    'gauge',
    (s) => [{ value: s.oldestQueuedSeconds }],
  );
  define(
    'vr_lister_actions_total',
    'Actions on listings (mark_sold, restore, update, delete, replace_photos) that ended, per kind and outcome (done, failed)',
    'counter',
    (s) => s.actions.map(({ kind, outcome, count }) => ({ labels: { kind, outcome }, value: count })),
  );
  define(
    'vr_lister_metrics_collections_total',
    'Snapshots /metrics has taken in this process (scrapes close together share one)',
    'counter',
    (s) => [{ value: s.collections }],
  );
  define('vr_lister_resolution_duration_seconds', 'Resolution run duration', 'histogram', (s) =>
    s.durations.flatMap(({ result, count, sumSeconds, buckets }) => [
      ...RUN_DURATION_BUCKETS.map((le, i) => ({
        metricName: 'vr_lister_resolution_duration_seconds_bucket',
        labels: { result, le: String(le) },
        value: buckets[i]!,
      })),
      {
        metricName: 'vr_lister_resolution_duration_seconds_bucket',
        labels: { result, le: '+Inf' },
        value: count,
      },
      { metricName: 'vr_lister_resolution_duration_seconds_sum', labels: { result }, value: sumSeconds },
      { metricName: 'vr_lister_resolution_duration_seconds_count', labels: { result }, value: count },
    ]),
  );

  return {
    registry,
    contentType: registry.contentType,
    /**
     * The text of the latest snapshot (and the process's own metrics) while it is younger than
     * the max age; otherwise takes one, once however many scrapes are waiting for it
     * (single-flight). A failed collection is not kept: the next scrape tries again.
     */
    render(): Promise<string> {
      const maxAgeMs = deps.snapshotMaxAgeMs ?? SNAPSHOT_MAX_AGE_MS;
      if (rendered && Date.now() - rendered.at < maxAgeMs) return Promise.resolve(rendered.text);
      collecting ??= (async () => {
        try {
          const [database, queues, siteState] = await Promise.all([
            readDatabase(deps.database),
            readQueues(deps),
            readSite(deps),
          ]);
          collections += 1;
          current = { ...database, queues, collections, siteState };
          const text = await registry.metrics();
          rendered = { text, at: Date.now() };
          return text;
        } finally {
          collecting = undefined;
        }
      })();
      return collecting;
    },
  };
}
