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
import type { Listing } from '../listing/listing.ts';

/** Postgres NOTIFY channel: rows committed in a host's transaction that need their jobs (the outbox). */
export const OUTBOX_CHANNEL = 'vr_lister_outbox';

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

/** Why a job is in needs_review, for code (the job's `error` says it for a person). */
export const REVIEW_KINDS = ['ambiguous', 'duplicate', 'stale', 'unknown_not_found'] as const;
export type ReviewKind = (typeof REVIEW_KINDS)[number];

/** A candidate row as the export showed it when the job went to review (V&R's export has no creation date). */
export interface CandidateDetail {
  id: number;
  brand: string;
  model: string;
  price: number | null;
  year: number | null;
  /** When the export that showed it was requested: V&R created it before then. */
  seenAt: string;
}

export interface JobPayload {
  listing: Listing;
  matchCriteria?: MatchCriteria;
  /** V&R ids the resolver could not tell apart for this job (shown with needs_review). */
  candidates?: number[];
  /** What the export showed of `candidates`, kept for the person who decides. */
  candidateDetails?: CandidateDetail[];
  /** Set with every move to needs_review. */
  reviewKind?: ReviewKind;
  /**
   * V&R's words when the page after a Publish POST showed field errors. Not proof of a rejection:
   * the job fails only if an export taken after the indexing allowance lacks the listing.
   */
  fieldErrorsAfterPost?: string;
}

export type VerificationStatus = 'ok' | 'mismatch' | 'pending' | 'skipped';

/** One field V&R stored other than asked. `asked` and `found` are JSON values (null: none). */
export interface VerificationDifference {
  field: string;
  asked: unknown;
  found: unknown;
}

/**
 * The read-back of a completed job's listing (its edit page against what was asked): `pending`
 * until read, `skipped` with VERIFY_LISTINGS=off.
 */
export interface Verification {
  status: VerificationStatus;
  differences: VerificationDifference[];
  /** When the edit page was read (null until then). */
  checkedAt: string | null;
  /** Why it is still pending or skipped, or what the page said instead of the form. */
  detail?: string;
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
    /** The read-back once the V&R id is known (null for jobs completed without one to verify). */
    verification: jsonb('verification').$type<Verification>(),
  },
  (t) => [
    // One job in flight per product: the database enforces the producer's idempotency.
    uniqueIndex('vr_jobs_active_product_ref')
      .on(t.productRef)
      .where(sql`status in ('queued', 'in_progress', 'completed_pending_id')`),
    index('vr_jobs_status').on(t.status, t.id),
    index('vr_jobs_product_ref').on(t.productRef),
    // The read-backs still to do: the resolution worker's verify job and the sweep look here.
    index('vr_jobs_verification_pending').on(t.id).where(sql`(verification ->> 'status') = 'pending'`),
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

/**
 * The events a job's final status produces (and `listing.mismatch`, when the read-back of a
 * completed job's listing found V&R storing other than asked): what webhooks deliver and the
 * producer's onResult sees.
 */
export const JOB_EVENTS = ['job.completed', 'job.failed', 'job.needs_review', 'listing.mismatch'] as const;
export type JobEventName = (typeof JOB_EVENTS)[number];
/** An action reaching done or failed (a trigger on vr_actions, drizzle/0004): delivered by webhooks only. */
export const ACTION_EVENTS = ['action.done', 'action.failed'] as const;
/** Every event the outbox holds and webhooks deliver. */
export const WEBHOOK_EVENTS = [...JOB_EVENTS, ...ACTION_EVENTS] as const;

/** A job as its final event shows it (webhook body, producer events). */
export interface JobResult {
  id: number;
  productRef: string;
  status: 'completed' | 'failed' | 'needs_review';
  vrListingId: number | null;
  error: string | null;
  candidates: number[];
  /** On `listing.mismatch`: what the read-back found. */
  verification?: Verification;
}

/**
 * The outbox: one row per job reaching `completed`, `failed` or `needs_review`, written by a trigger
 * on vr_jobs (drizzle/0002) in the same transaction as the status change, whichever code wrote it.
 */
export const vrJobEvents = pgTable(
  'vr_job_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    jobId: bigint('job_id', { mode: 'number' })
      .notNull()
      .references(() => vrJobs.id, { onDelete: 'cascade' }),
    productRef: text('product_ref').notNull(),
    event: text('event').$type<JobEventName>().notNull(),
    job: jsonb('job').$type<JobResult>().notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    /** Set once its webhook deliveries are written (one per WEBHOOK_URL, none when there is none). */
    dispatchedAt: ts('dispatched_at'),
  },
  (t) => [
    index('vr_job_events_undispatched').on(t.id).where(sql`dispatched_at is null`),
    index('vr_job_events_product_ref').on(t.productRef, t.id),
  ],
);

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** The delivery log: one row per event and webhook URL, with its attempts and last answer. */
export const vrWebhookDeliveries = pgTable(
  'vr_webhook_deliveries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    eventId: bigint('event_id', { mode: 'number' })
      .notNull()
      .references(() => vrJobEvents.id, { onDelete: 'cascade' }),
    /** Copied from the event: deliveries to one URL go out in order per product. */
    productRef: text('product_ref').notNull(),
    url: text('url').notNull(),
    status: text('status').$type<DeliveryStatus>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /** Bumped by a redelivery, so that its BullMQ job id is new. */
    generation: integer('generation').notNull().default(0),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    /** Start of the current round of tries: the retry window (WEBHOOK_RETRY_HOURS) counts from here. */
    roundStartedAt: ts('round_started_at').notNull().defaultNow(),
    deliveredAt: ts('delivered_at'),
  },
  (t) => [
    uniqueIndex('vr_webhook_deliveries_event_url').on(t.eventId, t.url),
    index('vr_webhook_deliveries_pending').on(t.productRef, t.url, t.id).where(sql`status = 'pending'`),
  ],
);

export type VrJob = typeof vrJobs.$inferSelect;
export type JobEvent = typeof vrJobEvents.$inferSelect;
export type WebhookDelivery = typeof vrWebhookDeliveries.$inferSelect;
export type ResolutionRun = typeof vrResolutionRuns.$inferSelect;

/**
 * What vr-lister learnt about the real site (a wrong verdict, a measured delay), newest value per
 * key, with where it was seen. Small on purpose: one row per fact.
 */
export const vrSiteFacts = pgTable('vr_site_facts', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
  observedAt: ts('observed_at').notNull().defaultNow(),
  evidence: text('evidence'),
});

/** What can be done to a listing once it is on V&R (issue 24). */
export const ACTION_KINDS = ['mark_sold', 'restore', 'update', 'delete', 'replace_photos'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

export const ACTION_STATUSES = ['queued', 'waiting_for_id', 'in_progress', 'done', 'failed'] as const;
export type ActionStatus = (typeof ACTION_STATUSES)[number];

/** Statuses of an action still to run: later actions on the same listing wait for these. */
export const OPEN_ACTION_STATUSES = ['queued', 'waiting_for_id', 'in_progress'] as const;

/**
 * The fields an `update` may change (what the edit form allows); only those given are touched. A
 * `replace_photos` carries `photos` alone.
 */
export interface ActionChanges {
  price?: number;
  description?: string;
  shipping?: { fees?: { uk?: number; europe?: number; usa?: number; world?: number }; localPickup?: boolean };
  /** As a listing gives it, normalised (`3 Days`). */
  processingTime?: string;
  /** `replace_photos`: the new photos' URLs, in order (validated as a listing's `images`). */
  photos?: string[];
}

export const actionStatusEnum = pgEnum('vr_action_status', ACTION_STATUSES);

/**
 * One action on a listing after its id: recorded before it is queued (the outbox), run on the
 * creation worker's lane, `done` only once V&R shows it.
 */
export const vrActions = pgTable(
  'vr_actions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    productRef: text('product_ref').notNull(),
    /** The listing's creation job (null for a product linked by hand without one). */
    jobId: bigint('job_id', { mode: 'number' }).references(() => vrJobs.id, { onDelete: 'set null' }),
    kind: text('kind').$type<ActionKind>().notNull(),
    changes: jsonb('changes').$type<ActionChanges>(),
    status: actionStatusEnum('status').notNull().default('queued'),
    /** Known once the listing has its id (copied from vr_product_links when the action is queued). */
    vrListingId: bigint('vr_listing_id', { mode: 'number' }),
    attempts: integer('attempts').notNull().default(0),
    /** Bumped when the action is queued again (a manual retry), so that its BullMQ job id is new. */
    generation: integer('generation').notNull().default(0),
    error: text('error'),
    /** What V&R showed when the action was judged done (or what it showed instead). */
    evidence: text('evidence'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    doneAt: ts('done_at'),
  },
  (t) => [
    index('vr_actions_product_ref').on(t.productRef, t.id),
    index('vr_actions_status').on(t.status, t.id),
  ],
);

export type VrAction = typeof vrActions.$inferSelect;
/**
 * Whether the real site has earned trust (docs/design.md, "Probation and the circuit breaker").
 * One row (id 1): proven for good once one listing went the whole way; the streak of suspect
 * outcomes since the last proven one; and the pause the breaker set, until `vr-lister resume`.
 */
export const vrSiteTrust = pgTable('vr_site_trust', {
  id: integer('id').primaryKey().default(1),
  provenAt: ts('proven_at'),
  /** What proved it: `job <id>`, or a round trip. */
  provenBy: text('proven_by'),
  suspectStreak: integer('suspect_streak').notNull().default(0),
  /** The jobs of the current streak, oldest first. */
  suspectJobs: jsonb('suspect_jobs').$type<number[]>().notNull().default([]),
  pausedAt: ts('paused_at'),
  pauseReason: text('pause_reason'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});
