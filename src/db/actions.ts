/**
 * Every change of an action's state (vr_actions) after the producer's insert, in one place, like
 * src/db/jobs.ts for listings. Each transition is a named function run on the caller's executor and
 * guarded by the statuses it may start from: a row that moved on meanwhile is left alone and the
 * function returns undefined.
 *
 *   waiting_for_id ──(the listing gets its id: queueWaitingActions)──► queued
 *   queued ──claimAction──► in_progress ──completeAction──► done
 *                              │  └──releaseAction (unclear, retried; an outage waits)──► queued
 *                              └──failAction──► failed
 */
import { and, eq, inArray, lt, sql } from 'drizzle-orm';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import type { PostgresJsQueryResultHKT } from 'drizzle-orm/postgres-js';
import { safeErrorText } from '../safe-errors.ts';
import type * as schema from './schema.ts';
import {
  type ActionStatus,
  OPEN_ACTION_STATUSES,
  OUTBOX_CHANNEL,
  type VrAction,
  vrActions,
} from './schema.ts';

/** The database or a transaction on it (as db/jobs.ts's Executor, which imports this file). */
type Executor = PgDatabase<PostgresJsQueryResultHKT, typeof schema>;

type ActionChange = Partial<Omit<typeof vrActions.$inferInsert, 'attempts'>> & {
  attempts?: number | ReturnType<typeof sql>;
};

async function move(
  db: Executor,
  id: number,
  from: readonly ActionStatus[],
  set: ActionChange,
): Promise<VrAction | undefined> {
  const [row] = await db
    .update(vrActions)
    .set({ ...set, updatedAt: new Date() })
    .where(and(eq(vrActions.id, id), inArray(vrActions.status, [...from])))
    .returning();
  return row;
}

/** The worker takes the action for one attempt; one already done or failed is left alone (a redelivery). */
export function claimAction(db: Executor, id: number, vrListingId: number): Promise<VrAction | undefined> {
  return move(db, id, ['queued', 'in_progress'], {
    status: 'in_progress',
    vrListingId,
    attempts: sql`${vrActions.attempts} + 1`,
  });
}

/** V&R shows the action: done, with what showed it. */
export function completeAction(db: Executor, id: number, evidence: string): Promise<VrAction | undefined> {
  return move(db, id, ['in_progress'], {
    status: 'done',
    evidence: safeErrorText(evidence),
    error: null,
    doneAt: new Date(),
  });
}

/**
 * The outcome is unclear, or V&R (or Postgres) was unavailable: the job's next attempt takes it
 * again. With `refund` (an outage or a hold met before anything was sent to V&R) the attempt is
 * not counted: `attempts` counts the tries that may have changed something, and a later try that
 * finds it above 1 looks at V&R before sending anything.
 */
export function releaseAction(
  db: Executor,
  id: number,
  reason: string,
  { refund = false }: { refund?: boolean } = {},
): Promise<VrAction | undefined> {
  return move(db, id, ['in_progress'], {
    status: 'queued',
    error: safeErrorText(reason),
    ...(refund ? { attempts: sql`greatest(${vrActions.attempts} - 1, 0)` } : {}),
  });
}

/**
 * What an attempt saw before it sent something it can't prove at once (replace_photos: the photos
 * the edit page showed), kept in `evidence` so that a later attempt can tell whether it landed.
 */
export function noteActionEvidence(
  db: Executor,
  id: number,
  evidence: string,
): Promise<VrAction | undefined> {
  return move(db, id, ['in_progress'], { evidence: safeErrorText(evidence) });
}

/** V&R refused it, or the tries ran out without V&R showing it. */
export function failAction(
  db: Executor,
  id: number,
  reason: string,
  evidence?: string,
): Promise<VrAction | undefined> {
  return move(db, id, ['queued', 'in_progress', 'waiting_for_id'], {
    status: 'failed',
    error: safeErrorText(reason),
    evidence: evidence === undefined ? undefined : safeErrorText(evidence),
  });
}

/**
 * The product just got its V&R id (a flush matched it, or a person linked it): its waiting actions
 * are queued, in the caller's transaction. The outbox (enqueueOutbox) adds their jobs after the commit.
 */
export async function queueWaitingActions(
  db: Executor,
  productRef: string,
  vrListingId: number,
): Promise<VrAction[]> {
  const rows = await db
    .update(vrActions)
    .set({ status: 'queued', vrListingId, updatedAt: new Date() })
    .where(and(eq(vrActions.productRef, productRef), eq(vrActions.status, 'waiting_for_id')))
    .returning();
  // Heard at commit by the resolution worker's outbox listener, which adds their jobs.
  if (rows.length) await db.execute(sql`select pg_notify(${OUTBOX_CHANNEL}, '')`);
  return rows;
}

/** Actions on the same listing asked before this one and not finished: this one waits for them. */
export async function earlierOpenActions(db: Executor, action: Pick<VrAction, 'id' | 'productRef'>) {
  return db
    .select({ id: vrActions.id, status: vrActions.status })
    .from(vrActions)
    .where(
      and(
        eq(vrActions.productRef, action.productRef),
        lt(vrActions.id, action.id),
        inArray(vrActions.status, [...OPEN_ACTION_STATUSES]),
      ),
    );
}

/** Waiting actions whose listing has its id by now (a hook missed): queued, for the sweep. */
export async function queueAllWaitingWithIds(db: Executor): Promise<number> {
  const rows = await db.execute(sql`
    update vr_actions a set status = 'queued', vr_listing_id = l.vr_listing_id, updated_at = now()
    from vr_product_links l
    where a.product_ref = l.product_ref and a.status = 'waiting_for_id'
    returning a.id`);
  return rows.length;
}

/**
 * The worker holding it vanished and Redis lost its job: queued again under a new BullMQ job id.
 * Its attempts are kept, so the next one looks at V&R before sending anything.
 */
export function requeueAction(db: Executor, id: number, reason: string): Promise<VrAction | undefined> {
  return move(db, id, ['in_progress'], {
    status: 'queued',
    generation: sql`${vrActions.generation} + 1` as unknown as number,
    error: safeErrorText(reason),
  });
}
