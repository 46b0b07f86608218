import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { Listing } from '../listing.ts';

export const JOB_STATUSES = [
  'queued',
  'in_progress',
  'completed_pending_id',
  'completed',
  'failed',
  'needs_review',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Statuses in which a product is still on its way to V&R: a second enqueue returns the same job. */
export const ACTIVE_STATUSES = ['queued', 'in_progress', 'completed_pending_id'] as const;

/** What the resolver needs to find the listing in the export; written before Publish is clicked. */
export interface MatchCriteria {
  brand: string;
  brandKey: string;
  model: string;
  modelKey: string;
  year: number | null;
  finish: string | null;
  finishKey: string | null;
  price: number;
  /** sha1 of the normalised text of the description as submitted, marker included. */
  descriptionHash: string | null;
  /** The reference marker placed in the description, or null when VR_REF_MARKER is off. */
  marker: string | null;
  /** Highest V&R product_id known before this submit: only rows above it are candidates. */
  lastKnownId: number;
  recordedAt: string;
}

export interface JobArtifact {
  /** File name, unique within the job's folder (`publish-1700000000000.png`). */
  name: string;
  /** The creation step that met the unexpected page. */
  step: string;
  at: string;
}

export interface JobPayload {
  listing: Listing;
  matchCriteria?: MatchCriteria;
  /** V&R ids the resolver could not tell apart for this job (shown with needs_review). */
  candidates?: number[];
}

export const jobStatusEnum = pgEnum('vr_job_status', JOB_STATUSES);

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const vrJobs = pgTable(
  'vr_jobs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    productRef: text('product_ref').notNull(),
    status: jobStatusEnum('status').notNull().default('queued'),
    payload: jsonb('payload').$type<JobPayload>().notNull(),
    /** Creation attempts (claims by the creation worker). */
    attempts: integer('attempts').notNull().default(0),
    resolutionAttempts: integer('resolution_attempts').notNull().default(0),
    /** Bumped on a manual retry so that the BullMQ job id is new. */
    generation: integer('generation').notNull().default(0),
    submitStartedAt: ts('submit_started_at'),
    submittedAt: ts('submitted_at'),
    /** The submit may or may not have reached V&R (crash, timeout, error page after Publish). */
    submitOutcomeUnknown: boolean('submit_outcome_unknown').notNull().default(false),
    /** When a flush may next count an unmatched try against this job (resolution backoff). */
    nextResolutionAt: ts('next_resolution_at'),
    vrListingId: bigint('vr_listing_id', { mode: 'number' }),
    error: text('error'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    completedAt: ts('completed_at'),
    /** Evidence saved when a creation step met a page it didn't expect (file names under ARTIFACTS_DIR). */
    artifacts: jsonb('artifacts').$type<JobArtifact[]>(),
  },
  (t) => [
    // One job in flight per product: the database enforces the producer's idempotency.
    uniqueIndex('vr_jobs_active_product_ref')
      .on(t.productRef)
      .where(sql`status in ('queued', 'in_progress', 'completed_pending_id')`),
    index('vr_jobs_status').on(t.status, t.id),
    index('vr_jobs_product_ref').on(t.productRef),
  ],
);

/** A product and its V&R listing, one-to-one: no product listed twice, no V&R id on two products. */
export const vrProductLinks = pgTable('vr_product_links', {
  productRef: text('product_ref').primaryKey(),
  vrListingId: bigint('vr_listing_id', { mode: 'number' }).notNull().unique(),
  jobId: bigint('job_id', { mode: 'number' }).references(() => vrJobs.id, { onDelete: 'set null' }),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const RUN_KINDS = ['flush', 'baseline'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export const vrResolutionRuns = pgTable('vr_resolution_runs', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** `baseline`: an export read only to learn the highest id before an install's first submit. */
  kind: text('kind').$type<RunKind>().notNull().default('flush'),
  trigger: text('trigger').notNull(),
  startedAt: ts('started_at').notNull().defaultNow(),
  /** When the export request was sent: listings submitted after it cannot be in this export. */
  exportRequestedAt: ts('export_requested_at'),
  finishedAt: ts('finished_at'),
  pendingAtStart: integer('pending_at_start'),
  rowsScanned: integer('rows_scanned'),
  maxProductId: bigint('max_product_id', { mode: 'number' }),
  matched: integer('matched'),
  unmatched: integer('unmatched'),
  needsReview: integer('needs_review'),
  failed: integer('failed'),
  bytes: bigint('bytes', { mode: 'number' }),
  durationMs: integer('duration_ms'),
  error: text('error'),
  /** A typed reason for `error` (e.g. `suspect_export`), so that code never parses the message. */
  errorKind: text('error_kind'),
});

/**
 * The browser session every worker starts from, one row per V&R account: Playwright's storage state
 * (cookies, cf_clearance included) and the User-Agent it was issued to. `state` is encrypted with
 * VR_SESSION_KEY when that is set.
 */
export const vrSessions = pgTable('vr_sessions', {
  account: text('account').primaryKey(),
  state: text('state').notNull(),
  encrypted: boolean('encrypted').notNull().default(false),
  userAgent: text('user_agent').notNull(),
  /** Bumped on every write, so a worker can tell that another one renewed the session. */
  generation: integer('generation').notNull().default(1),
  /** What stored it: `login`, `challenge`, `import`. */
  source: text('source').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export type VrJob = typeof vrJobs.$inferSelect;
export type ResolutionRun = typeof vrResolutionRuns.$inferSelect;
