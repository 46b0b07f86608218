import { and, asc, desc, eq, gt, isNotNull, sql } from 'drizzle-orm';
import { safeErrorText } from '../safe-errors.ts';
import type { Db } from './client.ts';
import { JOB_STATUSES, type JobStatus, type VrJob, vrJobs, vrResolutionRuns } from './schema.ts';

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

/** `vr-lister status --json`. */
export async function statusReport(db: Db) {
  const [counts, resolution] = await Promise.all([countByStatus(db), resolutionStatus(db)]);
  return { counts, ...resolution };
}
