/**
 * Whether the real site has earned trust: the state behind probation and the circuit breaker
 * (docs/design.md, "Probation and the circuit breaker"). One row in vr_site_trust.
 *
 * - proven: for good, once one listing went the whole way (published by its success text, found in
 *   the export; later also read back matching), or a passed round trip;
 * - a streak of suspect outcomes (unknown and never shown, or read back mismatched); a proven
 *   listing ends it;
 * - paused: set when the streak reaches SUSPECT_PAUSE_AFTER; only `vr-lister resume` clears it.
 */
import { and, eq, inArray, ne, or, sql } from 'drizzle-orm';
import { type Executor, reserveJob } from './jobs.ts';
import { type VrJob, vrJobs, vrSiteTrust } from './schema.ts';

/** Consecutive suspect outcomes that pause creation until `vr-lister resume`. */
export const SUSPECT_PAUSE_AFTER = 3;

/** What a settled listing says about the site. */
export type ListingOutcome = 'proven' | 'suspect';

export interface SiteTrust {
  provenAt: Date | null;
  provenBy: string | null;
  suspectStreak: number;
  suspectJobs: number[];
  pausedAt: Date | null;
  pauseReason: string | null;
}

export interface OutcomeRecorded {
  trust: SiteTrust;
  /** This outcome tripped the breaker (it was not paused before): log it, once. */
  paused: boolean;
}

/** The one row's key. */
const ROW = 1;

function trustOf(row: typeof vrSiteTrust.$inferSelect | undefined): SiteTrust {
  return {
    provenAt: row?.provenAt ?? null,
    provenBy: row?.provenBy ?? null,
    suspectStreak: row?.suspectStreak ?? 0,
    suspectJobs: row?.suspectJobs ?? [],
    pausedAt: row?.pausedAt ?? null,
    pauseReason: row?.pauseReason ?? null,
  };
}

/** The row, locked for the caller's transaction when `forUpdate` (created if a restore lost it). */
async function loadRow(db: Executor, forUpdate: boolean): Promise<SiteTrust> {
  await db.insert(vrSiteTrust).values({ id: ROW }).onConflictDoNothing();
  const query = db.select().from(vrSiteTrust).where(eq(vrSiteTrust.id, ROW));
  const [row] = forUpdate ? await query.for('update') : await query;
  return trustOf(row);
}

/** The site's trust as stored now. */
export async function readSiteTrust(db: Executor): Promise<SiteTrust> {
  const [row] = await db.select().from(vrSiteTrust).where(eq(vrSiteTrust.id, ROW));
  return trustOf(row);
}

/**
 * Locks the trust row for the rest of the caller's transaction and returns it: the creation gate
 * holds it while it checks the lane and claims, so two workers can't both take the first listing.
 */
export function lockSiteTrust(tx: Executor): Promise<SiteTrust> {
  return loadRow(tx, true);
}

/**
 * A listing whose id was found and whose Publish was judged by the success text (not an unknown
 * outcome, not field errors after the POST) proves the site once what V&R stored is read back
 * matching, or skipped with VERIFY_LISTINGS off (settleVerification, src/resolution/verify-job.ts).
 */
export function provesSite(job: VrJob): boolean {
  return !job.submitOutcomeUnknown && job.payload.fieldErrorsAfterPost === undefined && !!job.submittedAt;
}

/**
 * THE entry point for a settled listing's fate. 'proven' proves the site for good and ends the
 * suspect streak; 'suspect' extends the streak and, at SUSPECT_PAUSE_AFTER, pauses creation. A job
 * already counted in the streak is not counted twice. Runs on the caller's executor (the flush's
 * transaction).
 */
export async function recordListingOutcome(
  db: Executor,
  { jobId, outcome }: { jobId: number; outcome: ListingOutcome },
): Promise<OutcomeRecorded> {
  return db.transaction(async (tx) => {
    const before = await loadRow(tx, true);
    if (outcome === 'proven') {
      const [row] = await tx
        .update(vrSiteTrust)
        .set({
          provenAt: before.provenAt ?? new Date(),
          provenBy: before.provenBy ?? `job ${jobId}`,
          suspectStreak: 0,
          suspectJobs: [],
          updatedAt: new Date(),
        })
        .where(eq(vrSiteTrust.id, ROW))
        .returning();
      return { trust: trustOf(row), paused: false };
    }
    if (before.suspectJobs.includes(jobId)) return { trust: before, paused: false };
    const suspectJobs = [...before.suspectJobs, jobId];
    const streak = before.suspectStreak + 1;
    const trips = streak >= SUSPECT_PAUSE_AFTER && !before.pausedAt;
    const [row] = await tx
      .update(vrSiteTrust)
      .set({
        suspectStreak: streak,
        suspectJobs,
        ...(trips
          ? {
              pausedAt: new Date(),
              pauseReason: `${streak} listings in a row ended unknown and never shown, or read back wrong (jobs ${suspectJobs.join(', ')}): creation is paused; look at them (vr-lister review), then run vr-lister resume`,
            }
          : {}),
        updatedAt: new Date(),
      })
      .where(eq(vrSiteTrust.id, ROW))
      .returning();
    return { trust: trustOf(row), paused: trips };
  });
}

/** A passed round trip (check-site --round-trip) proves the site as a listing would. */
export async function proveSite(db: Executor, by: string): Promise<SiteTrust> {
  await loadRow(db, false);
  const [row] = await db
    .update(vrSiteTrust)
    .set({
      provenAt: sql`coalesce(${vrSiteTrust.provenAt}, now())`,
      provenBy: sql`coalesce(${vrSiteTrust.provenBy}, ${by})`,
      updatedAt: new Date(),
    })
    .where(eq(vrSiteTrust.id, ROW))
    .returning();
  return trustOf(row);
}

/**
 * A person looked and lets creation go on (`vr-lister resume`): the pause and the streak are
 * cleared. `wasPaused` says whether there was a pause to end (the streak is cleared either way).
 */
export async function resumeCreation(db: Executor): Promise<{ trust: SiteTrust; wasPaused: boolean }> {
  return db.transaction(async (tx) => {
    const before = await loadRow(tx, true);
    const [row] = await tx
      .update(vrSiteTrust)
      .set({ pausedAt: null, pauseReason: null, suspectStreak: 0, suspectJobs: [], updatedAt: new Date() })
      .where(eq(vrSiteTrust.id, ROW))
      .returning();
    return { trust: trustOf(row), wasPaused: before.pausedAt !== null };
  });
}

/** What the creation gate decides for one job before it is claimed. */
export type LaneDecision =
  | { kind: 'go' }
  /** Not proven yet, and another listing is between its submit and its outcome. */
  | {
      kind: 'wait';
      reason: string;
      busyJobId: number;
      /** `completed`: found, its read-back still pending. */
      busyStatus: 'in_progress' | 'completed_pending_id' | 'completed';
    }
  /** The breaker tripped: only `vr-lister resume` lets creation go on. */
  | { kind: 'paused'; reason: string };

/**
 * The creation gate, in one transaction that holds the trust row: paused, everything waits; not
 * proven yet, a job goes only when no other listing is being created or awaits its outcome, and is
 * then reserved (queued -> in_progress, no try used) before the lock is let go, so a second worker
 * sees it. A row whose submit already began goes on: it is never submitted again, only looked for.
 */
export async function enterLane(db: Executor, rowId: number): Promise<LaneDecision> {
  // The usual case once proven: no lock, no write (a pause set just after is met by the next job).
  const seen = await readSiteTrust(db);
  if (seen.provenAt && !seen.pausedAt) return { kind: 'go' };
  return db.transaction(async (tx) => {
    const trust = await lockSiteTrust(tx);
    const [own] = await tx
      .select({ submitStartedAt: vrJobs.submitStartedAt })
      .from(vrJobs)
      .where(eq(vrJobs.id, rowId));
    if (own?.submitStartedAt) return { kind: 'go' } as const;
    if (trust.pausedAt) return { kind: 'paused', reason: trust.pauseReason ?? 'creation is paused' } as const;
    if (trust.provenAt) return { kind: 'go' } as const;
    const [busy] = await tx
      .select({ id: vrJobs.id, status: vrJobs.status })
      .from(vrJobs)
      .where(
        and(
          ne(vrJobs.id, rowId),
          or(
            inArray(vrJobs.status, ['in_progress', 'completed_pending_id']),
            // Found, but what V&R stored is not read back yet: its outcome is not known either.
            and(eq(vrJobs.status, 'completed'), sql`${vrJobs.verification} ->> 'status' = 'pending'`),
          ),
        ),
      )
      .orderBy(vrJobs.id)
      .limit(1);
    if (busy) {
      return {
        kind: 'wait',
        busyJobId: busy.id,
        busyStatus: busy.status as 'in_progress' | 'completed_pending_id' | 'completed',
        reason: `probation: V&R is not proven yet, so listings go one at a time; waiting for job ${busy.id} (${busy.status}) to be found and read back, or reviewed`,
      } as const;
    }
    await reserveJob(tx, rowId);
    return { kind: 'go' } as const;
  });
}
