/**
 * Every change of a job's state after the producer's insert, in one place. Each transition is a
 * named function run on the caller's executor (the database or an open transaction), and is
 * guarded by the statuses it may start from: a row that moved on meanwhile (a manual retry, the
 * sweep, a redelivered job) is left alone and the function returns undefined.
 *
 * - creation: reserveJob (probation's gate), claimJob, markSubmitStarted / clearSubmitStarted, markSubmitted, markOutcomeUnknown,
 *   releaseClaim, completeFromLink, failJob
 * - resolution: applyResolution (the flush's planned steps), sendStaleToReview (the sweep),
 *   requeueJob (the sweep, for a vanished worker's row)
 * - a person's retry: completeFromLink, lookAgain, requeueJob
 *
 * The state diagram is in docs/design.md ("Job states").
 */
import { and, eq, inArray, lt, type SQL, sql } from 'drizzle-orm';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import type { PostgresJsQueryResultHKT } from 'drizzle-orm/postgres-js';
import { safeErrorText } from '../safe-errors.ts';
import { queueWaitingActions } from './actions.ts';
import type * as schema from './schema.ts';
import {
  type CandidateDetail,
  type JobPayload,
  type JobStatus,
  type ReviewKind,
  type Verification,
  type VrJob,
  vrJobs,
  vrProductLinks,
} from './schema.ts';

/** The database or a transaction on it: every transition runs inside whatever the caller holds. */
export type Executor = PgDatabase<PostgresJsQueryResultHKT, typeof schema>;

type JobChange = Partial<Omit<typeof vrJobs.$inferInsert, 'generation' | 'attempts'>> & {
  generation?: number | SQL;
  attempts?: number | SQL;
};

/** A transition as data: where it may start and what it writes. Pure, so a model can replay it. */
export interface Transition {
  from: readonly JobStatus[];
  set: JobChange;
}

async function move(db: Executor, id: number, { from, set }: Transition): Promise<VrJob | undefined> {
  const [row] = await db
    .update(vrJobs)
    .set({ ...set, updatedAt: new Date() })
    .where(and(eq(vrJobs.id, id), inArray(vrJobs.status, [...from])))
    .returning();
  return row;
}

const CREATING = ['in_progress'] as const;
const PENDING = ['completed_pending_id'] as const;
/** Where a person takes over; a manual retry starts from here. */
export const RETRYABLE = ['failed', 'needs_review'] as const;

/** Takes the row for this creation attempt; a row already past creation is left alone (a redelivery). */
export function claimJob(db: Executor, id: number): Promise<VrJob | undefined> {
  return move(db, id, {
    from: ['queued', 'in_progress'],
    set: { status: 'in_progress', attempts: sql`${vrJobs.attempts} + 1` },
  });
}

/**
 * Probation's gate keeps the lane for this job before it is claimed: queued -> in_progress with no
 * try used (claimJob then counts the try), so another worker sees the lane taken.
 */
export function reserveJob(db: Executor, id: number): Promise<VrJob | undefined> {
  return move(db, id, { from: ['queued'], set: { status: 'in_progress' } });
}

/**
 * Written before Publish is clicked, with what the resolver will look for: from here on a crash
 * must never lead to a second submit.
 */
export function markSubmitStarted(db: Executor, id: number, payload: JobPayload): Promise<VrJob | undefined> {
  return move(db, id, { from: CREATING, set: { submitStartedAt: new Date(), payload } });
}

/** Publish provably sent nothing: a later attempt may submit. */
export function clearSubmitStarted(db: Executor, id: number): Promise<VrJob | undefined> {
  return move(db, id, { from: CREATING, set: { submitStartedAt: null } });
}

/** Submitted, or maybe submitted, just now: resolution looks for its id from the next flush on. */
function awaitingId(submitOutcomeUnknown: boolean, error: string | null): JobChange {
  const now = new Date();
  return {
    status: 'completed_pending_id',
    submittedAt: now,
    nextResolutionAt: now,
    submitOutcomeUnknown,
    error,
  };
}

/** V&R accepted the listing: resolution finds its id. */
export function markSubmitted(db: Executor, id: number): Promise<VrJob | undefined> {
  return move(db, id, { from: CREATING, set: awaitingId(false, null) });
}

/** The submit went out and we don't know if it landed: resolution decides, never a second submit. */
export function markOutcomeUnknown(db: Executor, id: number, reason: string): Promise<VrJob | undefined> {
  return move(db, id, {
    from: CREATING,
    set: awaitingId(true, `submit outcome unknown: ${safeErrorText(reason)}`),
  });
}

/**
 * The page after a Publish POST showed field errors: maybe a rejection, maybe not (V&R may have
 * stored it anyway). Resolution decides from one export taken after the indexing allowance. Its
 * outcome is unknown: the matcher must not assume the listing exists (a look-alike someone else
 * listed would otherwise be taken for it).
 */
export function markFieldErrorsAfterPost(
  db: Executor,
  id: number,
  payload: JobPayload,
  words: string,
): Promise<VrJob | undefined> {
  const fieldErrorsAfterPost = safeErrorText(words);
  return move(db, id, {
    from: CREATING,
    set: {
      ...awaitingId(
        true,
        `V&R showed field errors after the POST (${fieldErrorsAfterPost}): waiting for an export to tell`,
      ),
      payload: { ...payload, fieldErrorsAfterPost },
    },
  });
}

/** After a retryable error before any submit: BullMQ's next attempt of the same job takes it again. */
export function releaseClaim(db: Executor, id: number, reason: string): Promise<VrJob | undefined> {
  return move(db, id, { from: CREATING, set: { status: 'queued', error: safeErrorText(reason) } });
}

/**
 * The product already has a V&R id (a link): the job takes it, nothing is submitted. `verify`: the
 * listing is this job's (a person linked it), so its read-back is due. Actions waiting for the id
 * are queued.
 */
export async function completeFromLink(
  db: Executor,
  id: number,
  vrListingId: number,
  { verify = false }: { verify?: boolean } = {},
): Promise<VrJob | undefined> {
  const row = await move(db, id, { from: [...CREATING, ...RETRYABLE], set: completed(vrListingId, verify) });
  if (row) await queueWaitingActions(db, row.productRef, vrListingId);
  return row;
}

/** The read-back a job is given when its id is found: read by the resolution worker's verify job. */
export const PENDING_VERIFICATION: Verification = { status: 'pending', differences: [], checkedAt: null };

function completed(vrListingId: number, verify: boolean): JobChange {
  return {
    status: 'completed',
    vrListingId,
    completedAt: new Date(),
    error: null,
    ...(verify ? { verification: PENDING_VERIFICATION } : {}),
  };
}

/**
 * Writes a read-back's result (or why it is still pending) on a completed job whose verification
 * is pending; undefined when it is not (settled meanwhile, or the job moved on).
 */
export async function recordVerification(
  db: Executor,
  id: number,
  verification: Verification,
): Promise<VrJob | undefined> {
  const [row] = await db
    .update(vrJobs)
    .set({ verification, updatedAt: new Date() })
    .where(
      and(
        eq(vrJobs.id, id),
        eq(vrJobs.status, 'completed'),
        sql`(${vrJobs.verification} ->> 'status') = 'pending'`,
      ),
    )
    .returning();
  return row;
}

/**
 * The export showed the job's listing: the job completes and the product is linked to the id, in
 * the caller's transaction. A job no longer pending (a person changed it meanwhile) is not linked.
 */
export async function completeWithId(
  db: Executor,
  job: Pick<VrJob, 'id' | 'productRef'>,
  vrListingId: number,
): Promise<VrJob | undefined> {
  const row = await move(db, job.id, { from: PENDING, set: completed(vrListingId, true) });
  if (row) {
    await db.insert(vrProductLinks).values({ productRef: job.productRef, vrListingId, jobId: job.id });
    await queueWaitingActions(db, job.productRef, vrListingId);
  }
  return row;
}

/**
 * Back to creation under a new BullMQ job id (the generation), with no trace of an earlier submit:
 * only for rows whose submit never started or provably never landed.
 */
export function requeueJob(
  db: Executor,
  id: number,
  from: readonly JobStatus[],
  reason: string | null,
): Promise<VrJob | undefined> {
  return move(db, id, { from, set: requeued(reason, sql`${vrJobs.generation} + 1`) });
}

function requeued(reason: string | null, generation: number | SQL): JobChange {
  return {
    status: 'queued',
    generation,
    resolutionAttempts: 0,
    submitStartedAt: null,
    submittedAt: null,
    submitOutcomeUnknown: false,
    nextResolutionAt: null,
    error: reason,
  };
}

/**
 * A manual retry of a job whose submit may have gone out: resolution looks for it again with fresh
 * tries. Known submitted from now on, so after its tries it fails rather than submitting again.
 */
export function lookAgain(db: Executor, id: number): Promise<VrJob | undefined> {
  // submittedAt counts from now, or the sweep would send it straight back to needs_review. (It also
  // moves the job after others in the order identical, unmarked listings pair with ids.)
  return move(db, id, { from: RETRYABLE, set: { ...awaitingId(false, null), resolutionAttempts: 0 } });
}

/**
 * Ends a job in creation: V&R rejected the listing, or the tries ran out before any submit. Nothing
 * reached V&R, so the submit mark goes and a retry may submit. (A job resolution gives up on keeps
 * its mark: see the `not_found` step.)
 */
export function failJob(db: Executor, id: number, reason: string): Promise<VrJob | undefined> {
  return move(db, id, {
    from: CREATING,
    set: { status: 'failed', error: safeErrorText(reason), submitStartedAt: null },
  });
}

/** Every listing submitted before `submittedBefore` and still not found goes to a person. */
export async function sendStaleToReview(
  db: Executor,
  submittedBefore: Date,
  stalePendingMs: number,
): Promise<number[]> {
  const kind: ReviewKind = 'stale';
  const rows = await db
    .update(vrJobs)
    .set({
      ...resolutionTransition({}, { kind: 'stale', stalePendingMs }).set,
      payload: sql`${vrJobs.payload} || jsonb_build_object('reviewKind', ${kind}::text)`,
      updatedAt: new Date(),
    })
    .where(and(inArray(vrJobs.status, [...PENDING]), lt(vrJobs.submittedAt, submittedBefore)))
    .returning({ id: vrJobs.id });
  return rows.map((row) => row.id);
}

/** What one flush decided for one pending job (planned by resolution/flush.ts, applied here). */
export type ResolutionStep =
  | { kind: 'complete'; vrListingId: number }
  /** The item is on V&R more than once. `details`: what the export showed of them, for the person. */
  | { kind: 'duplicate'; vrListingIds: number[]; details?: CandidateDetail[] }
  /** After its waits, the evidence still can't tell the candidates apart. */
  | { kind: 'ambiguous'; candidates: number[]; resolutionAttempts: number; details?: CandidateDetail[] }
  | { kind: 'stale'; stalePendingMs: number; resolutionAttempts?: number }
  /** Not found after its tries, and its submit's outcome was unknown: it never landed. */
  | { kind: 'resubmit'; reason: string }
  /**
   * Not found after its tries, and its Publish left with an unknown outcome: the listing may exist,
   * so a person decides (link the id, or retry with --resubmit). The submit mark stays.
   */
  | { kind: 'unknown_not_found'; resolutionAttempts: number; reason: string }
  | { kind: 'not_found'; resolutionAttempts: number }
  /**
   * The page after the POST showed field errors and an export taken after the indexing allowance
   * lacks the listing: V&R did reject it. The mark goes, so a retry may submit.
   */
  | { kind: 'rejected'; reason: string }
  /** Look again at `nextResolutionAt`; a try is used up only when the export could have shown it. */
  | { kind: 'wait'; resolutionAttempts?: number; nextResolutionAt: Date };

/**
 * The transition a resolution step makes. Pure: the flush applies it with applyResolution, and the
 * matching model (test/helpers/match-model.ts) replays it on its own rows.
 */
export function resolutionTransition(
  job: Partial<Pick<VrJob, 'payload' | 'generation'>>,
  step: ResolutionStep,
): Transition {
  /** The payload of a move to needs_review: why (for code), and the candidates with what the export showed. */
  const review = (reviewKind: ReviewKind, candidates?: number[], details?: CandidateDetail[]) =>
    job.payload && {
      ...job.payload,
      reviewKind,
      ...(candidates && { candidates }),
      ...(candidates && {
        candidateDetails: (details ?? []).filter((detail) => candidates.includes(detail.id)),
      }),
    };
  const set = ((): JobChange => {
    switch (step.kind) {
      case 'complete':
        return completed(step.vrListingId, true);
      case 'duplicate':
        return {
          status: 'needs_review',
          error: `the item is on V&R ${step.vrListingIds.length} times (ids ${step.vrListingIds.join(', ')}): remove the extra listing, then link the right id`,
          payload: review('duplicate', step.vrListingIds, step.details),
        };
      case 'ambiguous':
        return {
          status: 'needs_review',
          resolutionAttempts: step.resolutionAttempts,
          error: `cannot tell which V&R listing is ours: candidates ${step.candidates.join(', ')}`,
          payload: review('ambiguous', step.candidates, step.details),
        };
      case 'stale':
        return {
          status: 'needs_review',
          resolutionAttempts: step.resolutionAttempts,
          error: `pending for over ${Math.round(step.stalePendingMs / 60_000)} minutes without being found in the V&R export`,
          payload: review('stale'),
        };
      case 'resubmit':
        return requeued(step.reason, (job.generation ?? 0) + 1);
      case 'unknown_not_found':
        return {
          status: 'needs_review',
          resolutionAttempts: step.resolutionAttempts,
          error: safeErrorText(step.reason),
          payload: review('unknown_not_found'),
        };
      case 'rejected':
        return { status: 'failed', error: safeErrorText(step.reason), submitStartedAt: null };
      case 'not_found':
        return {
          status: 'failed',
          resolutionAttempts: step.resolutionAttempts,
          error: `not found in the V&R export after ${step.resolutionAttempts} attempts`,
        };
      case 'wait':
        return { resolutionAttempts: step.resolutionAttempts, nextResolutionAt: step.nextResolutionAt };
    }
  })();
  return { from: PENDING, set };
}

/** Applies one flush decision inside the flush's transaction; undefined if the job moved on meanwhile. */
export function applyResolution(
  db: Executor,
  job: Pick<VrJob, 'id' | 'productRef' | 'payload' | 'generation'>,
  step: ResolutionStep,
): Promise<VrJob | undefined> {
  if (step.kind === 'complete') return completeWithId(db, job, step.vrListingId);
  return move(db, job.id, resolutionTransition(job, step));
}
