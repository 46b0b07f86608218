import { and, asc, desc, eq, gt, isNotNull, sql } from 'drizzle-orm';
import { safeErrorText } from '../safe-errors.ts';
import type { Db } from './client.ts';
import {
  JOB_STATUSES,
  type JobArtifact,
  type JobStatus,
  type Verification,
  type VerificationStatus,
  type VrJob,
  vrJobs,
  vrResolutionRuns,
} from './schema.ts';

/** A job as `vr-lister jobs --json` and the API show it (docs/design.md, "Interfaces others rely on"). */
export interface JobView {
  id: number;
  productRef: string;
  status: JobStatus;
  vrListingId: string | null;
  attempts: number;
  resolutionAttempts: number;
  submittedAt: string | null;
  error: string | null;
  /** Evidence saved when a creation step met an unexpected page: GET /api/vr/jobs/:id/artifacts/:name. */
  artifacts: JobArtifact[];
  /** The read-back of the listing once its id is known; null before (or for a job with nothing to verify). */
  verification: Verification | null;
}

export function jobView(row: VrJob): JobView {
  return {
    id: row.id,
    productRef: row.productRef,
    status: row.status,
    vrListingId: row.vrListingId === null ? null : String(row.vrListingId),
    attempts: row.attempts,
    resolutionAttempts: row.resolutionAttempts,
    submittedAt: row.submittedAt?.toISOString() ?? null,
    // Written safe since src/safe-errors.ts; rows from before are made safe as they are shown.
    error: row.error === null ? null : safeErrorText(row.error),
    artifacts: row.artifacts ?? [],
    verification: row.verification ?? null,
  };
}

export async function listJobs(
  db: Db,
  { status, limit = 1000, afterId = 0 }: { status?: JobStatus; limit?: number; afterId?: number } = {},
): Promise<VrJob[]> {
  return db
    .select()
    .from(vrJobs)
    .where(and(status ? eq(vrJobs.status, status) : undefined, gt(vrJobs.id, afterId)))
    .orderBy(asc(vrJobs.id))
    .limit(limit);
}

export async function countByStatus(db: Db): Promise<Record<JobStatus, number>> {
  const rows = await db
    .select({ status: vrJobs.status, count: sql<number>`count(*)::int` })
    .from(vrJobs)
    .groupBy(vrJobs.status);
  const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  for (const row of rows) counts[row.status] = row.count;
  return counts;
}

export interface LastResolution {
  id: number;
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
  rowsScanned: number | null;
  matched: number | null;
  unmatched: number | null;
  bytes: number | null;
  durationMs: number | null;
  error: string | null;
}

export interface ResolutionStatus {
  pending_count: number;
  oldest_pending: string | null;
  last_resolution: LastResolution | null;
}

export async function resolutionStatus(db: Db): Promise<ResolutionStatus> {
  const [pending] = await db
    .select({ count: sql<number>`count(*)::int`, oldest: sql<Date | null>`min(${vrJobs.submittedAt})` })
    .from(vrJobs)
    .where(eq(vrJobs.status, 'completed_pending_id'));
  const [last] = await db
    .select()
    .from(vrResolutionRuns)
    // A baseline (one export read before the first submit) resolves nothing: not a resolution.
    .where(and(isNotNull(vrResolutionRuns.finishedAt), eq(vrResolutionRuns.kind, 'flush')))
    .orderBy(desc(vrResolutionRuns.id))
    .limit(1);
  const oldest = pending?.oldest ? new Date(pending.oldest) : null;
  return {
    pending_count: pending?.count ?? 0,
    oldest_pending: oldest?.toISOString() ?? null,
    last_resolution: last
      ? {
          id: last.id,
          trigger: last.trigger,
          startedAt: last.startedAt.toISOString(),
          finishedAt: last.finishedAt?.toISOString() ?? null,
          rowsScanned: last.rowsScanned,
          matched: last.matched,
          unmatched: last.unmatched,
          bytes: last.bytes,
          durationMs: last.durationMs,
          error: last.error,
        }
      : null,
  };
}

/** The read-backs: how many jobs are in each verification state, and the newest mismatches. */
export interface VerificationReport {
  counts: Record<VerificationStatus, number>;
  /** Newest first, at most 5: the listings V&R stored other than asked. */
  mismatches: {
    jobId: number;
    productRef: string;
    vrListingId: string | null;
    fields: string[];
    checkedAt: string | null;
  }[];
}

const VERIFICATION_STATUSES: readonly VerificationStatus[] = ['pending', 'ok', 'mismatch', 'skipped'];

export async function verificationReport(db: Db): Promise<VerificationReport> {
  const status = sql<VerificationStatus>`${vrJobs.verification} ->> 'status'`;
  const [rows, mismatched] = await Promise.all([
    db
      .select({ status, count: sql<number>`count(*)::int` })
      .from(vrJobs)
      .where(isNotNull(vrJobs.verification))
      .groupBy(status),
    db
      .select()
      .from(vrJobs)
      .where(sql`(${vrJobs.verification} ->> 'status') = 'mismatch'`)
      .orderBy(desc(sql`${vrJobs.verification} ->> 'checkedAt'`), desc(vrJobs.id))
      .limit(5),
  ]);
  const counts = Object.fromEntries(VERIFICATION_STATUSES.map((s) => [s, 0])) as Record<
    VerificationStatus,
    number
  >;
  for (const row of rows) if (row.status in counts) counts[row.status] = row.count;
  return {
    counts,
    mismatches: mismatched.map((row) => ({
      jobId: row.id,
      productRef: row.productRef,
      vrListingId: row.vrListingId === null ? null : String(row.vrListingId),
      fields: (row.verification?.differences ?? []).map((d) => d.field),
      checkedAt: row.verification?.checkedAt ?? null,
    })),
  };
}

/** `vr-lister status --json`. */
export async function statusReport(db: Db) {
  const [counts, resolution, verification] = await Promise.all([
    countByStatus(db),
    resolutionStatus(db),
    verificationReport(db),
  ]);
  return { counts, ...resolution, verification };
}
