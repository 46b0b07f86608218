/**
 * Asking for an action on a listing after its id (mark sold, restore, update, delete, replace
 * photos): validated,
 * recorded in vr_actions before it is queued (in the host's transaction when given, the outbox adding
 * its job after the commit), then added to the creation queue, whose one worker runs it on the V&R
 * lane beside creation.
 */
import type { Queue } from 'bullmq';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import type { ActionChanges, ActionKind, ActionStatus } from '../db/schema.ts';
import { type ActionChangesInput, type PhotoChangesInput, validateAction } from '../listing/action.ts';
import type { Logger } from '../logger.ts';
import { addActionJobs, type CreateJobData, OUTBOX_CHANNEL } from '../queues.ts';
import { type HostTransaction, type Run, runnerFor } from './host-tx.ts';

/** An action as the producer, the API and `vr-lister actions --json` show it. */
export interface ActionView {
  id: number;
  productRef: string;
  kind: ActionKind;
  status: ActionStatus;
  vrListingId: number | null;
  changes: ActionChanges | null;
  attempts: number;
  error: string | null;
  evidence: string | null;
  createdAt: string;
  updatedAt: string;
  doneAt: string | null;
}

/** What asking for an action returns: the action, and whether this call recorded it. */
export interface RequestedAction extends ActionView {
  /** False when the same action was asked already (or is already true): nothing was written. */
  created: boolean;
  /** Why nothing was written, when `created` is false. */
  message?: string;
}

/** No listing (job or link) is known for this product ref; nothing was written. */
export class UnknownListingError extends Error {
  override name = 'UnknownListingError';
  constructor(readonly productRef: string) {
    super(`productRef ${productRef}: no such listing (never enqueued here)`);
  }
}

/** The listing can't take actions (its creation failed, or it is in review); nothing was written. */
export class ActionRefusedError extends Error {
  override name = 'ActionRefusedError';
  constructor(
    readonly productRef: string,
    readonly reason: string,
  ) {
    super(`productRef ${productRef}: ${reason}`);
  }
}

/** The action is in Postgres but Redis didn't take its job; the sweep will add it. */
export class ActionQueueUnavailableError extends Error {
  override name = 'ActionQueueUnavailableError';
  constructor(
    readonly action: RequestedAction,
    cause: unknown,
  ) {
    super(
      `action ${action.id} saved in Postgres (status ${action.status}) but not added to Redis: ${
        cause instanceof Error ? cause.message : String(cause)
      }. The sweep will add it when Redis is back.`,
      { cause },
    );
  }
}

export interface ActionDeps {
  db: Db;
  queue: Queue<CreateJobData>;
  logger: Logger;
  jobOptions: Parameters<typeof addActionJobs>[0]['jobOptions'];
  queueTimeoutMs: number;
}

export interface ActionRequest {
  productRef: unknown;
  kind: unknown;
  changes?: ActionChangesInput | PhotoChangesInput | unknown;
}

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

/** A vr_actions row (snake_case, from raw SQL) as the API shows it. */
export function actionView(row: Record<string, unknown>): ActionView {
  return {
    id: Number(row.id),
    productRef: String(row.product_ref),
    kind: row.kind as ActionKind,
    status: row.status as ActionStatus,
    vrListingId: row.vr_listing_id === null ? null : Number(row.vr_listing_id),
    changes: (row.changes as ActionChanges | null) ?? null,
    attempts: Number(row.attempts),
    error: (row.error as string | null) ?? null,
    evidence: (row.evidence as string | null) ?? null,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    doneAt: iso(row.done_at),
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

const OPEN = ['queued', 'waiting_for_id', 'in_progress'];

/** Records the action in the caller's transaction; returns it, and its BullMQ generation. */
async function recordIn(
  run: Run,
  asked: { productRef: string; kind: ActionKind; changes: ActionChanges | null },
): Promise<RequestedAction & { generation: number; jobId: number | null }> {
  const { productRef, kind, changes } = asked;
  // Actions on one product are decided one at a time: two asks at once can't both pass the checks.
  await run(sql`select pg_advisory_xact_lock(hashtext(${`vr_actions:${productRef}`}))`);
  const [link] = await run(
    sql`select vr_listing_id, job_id from vr_product_links where product_ref = ${productRef}`,
  );
  const [job] = await run(
    sql`select id, status, error from vr_jobs where product_ref = ${productRef} order by id desc limit 1`,
  );
  if (!link && !job) throw new UnknownListingError(productRef);
  if (!link && (job!.status === 'failed' || job!.status === 'needs_review')) {
    throw new ActionRefusedError(
      productRef,
      `its listing (job ${job!.id}) is ${job!.status}${job!.error ? ` (${job!.error})` : ''}: resolve or retry that job first`,
    );
  }
  const history = await run(
    sql`select * from vr_actions where product_ref = ${productRef} and status <> 'failed' order by id`,
  );
  const existing = (row: Record<string, unknown>, message: string) => ({
    ...actionView(row),
    created: false,
    message,
    generation: Number(row.generation),
    jobId: row.job_id === null ? null : Number(row.job_id),
  });
  const deleted = history.find((row) => row.kind === 'delete');
  if (deleted) {
    const verb = deleted.status === 'done' ? 'was deleted' : 'is being deleted';
    if (kind === 'delete')
      return existing(deleted, `already asked: the listing ${verb} (action ${deleted.id})`);
    throw new ActionRefusedError(
      productRef,
      `the listing ${verb} (action ${deleted.id}): nothing more can be done to it`,
    );
  }
  const twin = history.find(
    (row) => OPEN.includes(String(row.status)) && row.kind === kind && same(row.changes, changes),
  );
  if (twin) return existing(twin, `already asked (action ${twin.id}, ${twin.status})`);
  const lastStock = history.filter((row) => row.kind === 'mark_sold' || row.kind === 'restore').at(-1);
  if (lastStock && lastStock.kind === kind) {
    const state = kind === 'mark_sold' ? 'sold' : 'restored';
    return existing(
      lastStock,
      `nothing to do: already ${lastStock.status === 'done' ? '' : 'being '}${state} (action ${lastStock.id})`,
    );
  }
  const status: ActionStatus = link ? 'queued' : 'waiting_for_id';
  const jobId = link?.job_id ?? job?.id ?? null;
  const [row] = await run(sql`
    insert into vr_actions (product_ref, job_id, kind, changes, status, vr_listing_id)
    values (${productRef}, ${jobId}, ${kind}, ${changes === null ? null : JSON.stringify(changes)}::jsonb,
      ${status}, ${link?.vr_listing_id ?? null})
    returning *`);
  return {
    ...actionView(row!),
    created: true,
    generation: Number(row!.generation),
    jobId: row!.job_id === null ? null : Number(row!.job_id),
  };
}

/**
 * Validates and records an action, then queues it (unless it waits for the listing's id). Throws
 * InvalidActionError, UnknownListingError or ActionRefusedError with nothing written.
 */
export async function requestAction(
  deps: ActionDeps,
  request: ActionRequest,
  options: { tx?: HostTransaction } = {},
): Promise<RequestedAction> {
  const asked = validateAction(request);
  if (options.tx) {
    const run = runnerFor(options.tx);
    const { generation: _g, jobId: _j, ...action } = await recordIn(run, asked);
    // Heard at commit by the outbox listener, which adds the job; never if the host rolls back.
    if (action.created && action.status === 'queued') await run(sql`select pg_notify(${OUTBOX_CHANNEL}, '')`);
    return action;
  }
  const recorded = await deps.db.transaction((tx) => recordIn(runnerFor(tx as unknown as Db), asked));
  const { generation, jobId, ...action } = recorded;
  if (action.created) {
    try {
      await addActionJobs(deps, [{ ...action, generation, jobId }]);
    } catch (error) {
      deps.logger.error(
        { err: error, actionId: action.id },
        'action saved but not added to the creation queue',
      );
      throw new ActionQueueUnavailableError(action, error);
    }
    deps.logger.info(
      { actionId: action.id, productRef: action.productRef, kind: action.kind, status: action.status },
      'action recorded',
    );
  }
  return action;
}

/** Actions, newest first, optionally of one status; `beforeId` pages back. */
export async function listActions(
  db: Db,
  {
    status,
    productRef,
    limit = 100,
    beforeId,
  }: { status?: ActionStatus; productRef?: string; limit?: number; beforeId?: number },
): Promise<ActionView[]> {
  const rows = await db.execute(sql`
    select * from vr_actions
    where (${status ?? null}::text is null or status::text = ${status ?? null})
      and (${productRef ?? null}::text is null or product_ref = ${productRef ?? null})
      and (${beforeId ?? null}::int8 is null or id < ${beforeId ?? null})
    order by id desc limit ${limit}`);
  return [...rows].map((row) => actionView(row as Record<string, unknown>));
}

export async function findAction(db: Db, id: number): Promise<ActionView | undefined> {
  const [row] = await db.execute(sql`select * from vr_actions where id = ${id}`);
  return row ? actionView(row as Record<string, unknown>) : undefined;
}
