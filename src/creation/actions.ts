/**
 * Runs one action (vr_actions) on the creation worker's lane: the same browser session, one V&R
 * write at a time beside creation. V&R's replies prove nothing: an action is done only when V&R
 * shows it (the export's product_sold, the edit page's values, an edit page that answers 404 or an
 * export without the listing). Before anything that can't safely be repeated is sent again, V&R is
 * looked at first: a retry after an unclear outcome confirms, then acts only if it must.
 */
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { eq } from 'drizzle-orm';
import type { Page } from 'playwright-core';
import { claimAction, completeAction, earlierOpenActions, failAction, releaseAction } from '../db/actions.ts';
import { type VrAction, vrActions, vrProductLinks } from '../db/schema.ts';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import type { CreateJobData } from '../queues.ts';
import { scanExport } from '../resolution/export-stream.ts';
import { safeErrorMessage } from '../safe-errors.ts';
import { SESSION_EXPIRED } from '../vr/browser-session.ts';
import { NeedsPersonError, PERSON_NEEDED } from '../vr/errors.ts';
import { postFromItemsPage } from '../vr/items-page.ts';
import { readPageSession } from '../vr/page-session.ts';
import { replacePhotosOnEditPage } from './action-photos.ts';
import { type ActionAttempt, type ActionResult, ActionUnclearError } from './action-result.ts';
import { updateOnEditPage } from './action-update.ts';
import type { CreationDeps } from './create-listing.ts';
import { clearMarks, holdJob, type JobWaitDeps, outageReason, waitOutOutage } from './job-waits.ts';

export { type ActionAttempt, type ActionResult, ActionUnclearError } from './action-result.ts';

/** What an action job needs: creation's deps, and the worker's outage trackers and hold hook. */
export type ActionJobDeps = CreationDeps & Omit<JobWaitDeps, 'config'>;

/** How long an action waits for an earlier one on the same listing before looking again. */
export const ORDER_WAIT_MS = 2_000;

/** What the export says of one listing: absent, or present and (not) sold. */
type ExportView = { present: false } | { present: true; sold: boolean };

async function exportView(deps: CreationDeps, vrListingId: number): Promise<ExportView> {
  if (!deps.openExport) throw new ActionUnclearError('no export to confirm the action from');
  let found: ExportView = { present: false };
  await scanExport(await deps.openExport(), (row) => {
    if (row.productId === vrListingId) found = { present: true, sold: row.sold };
  });
  return found;
}

/** One of the seller list's AJAX calls; its reply is kept for the evidence only. */
async function postFromItems(
  deps: CreationDeps,
  path: string,
  vrListingId: number,
  attempt: ActionAttempt,
): Promise<string> {
  const reply = await postFromItemsPage(deps.browser, path, vrListingId, deps.config.pageTimeoutMs, () => {
    attempt.sent = true;
  });
  if (reply.error) throw new ActionUnclearError(`${path}: ${reply.error}`);
  return `HTTP ${reply.status} ${JSON.stringify(reply.text.trim().slice(0, 80))}`;
}

/** `GET /instruments/add_edit_item/<id>` answers 404: the listing is gone (another account's is "forbidden"). */
async function editPageGone(deps: CreationDeps, vrListingId: number): Promise<boolean> {
  return deps.browser.withLogin(async (page: Page) => {
    const response = await deps.browser.goto(page, `/instruments/add_edit_item/${vrListingId}`);
    if (!(await readPageSession(page)).loggedIn) return SESSION_EXPIRED;
    return (response?.status() ?? 200) === 404;
  });
}

async function setSold(
  deps: CreationDeps,
  action: VrAction,
  vrListingId: number,
  sold: boolean,
  attempt: ActionAttempt,
): Promise<ActionResult> {
  const want = sold ? 'yes' : 'no';
  // A retry looks first: the earlier attempt may have landed. (Marking sold twice is harmless, but
  // one export here saves a POST whose reply proves nothing anyway.)
  if (action.attempts > 1) {
    const before = await exportView(deps, vrListingId);
    if (!before.present)
      return { outcome: 'failed', reason: `listing ${vrListingId} is not in the V&R export` };
    if (before.sold === sold)
      return { outcome: 'done', evidence: `export: product_sold ${want} (before sending)` };
  }
  const path = sold ? `/ajax/mark_as_sold/${Math.random()}` : `/ajax/restore_from_sold/${Math.random()}`;
  const reply = await postFromItems(deps, path, vrListingId, attempt);
  const after = await exportView(deps, vrListingId);
  if (!after.present) return { outcome: 'failed', reason: `listing ${vrListingId} is not in the V&R export` };
  if (after.sold === sold)
    return { outcome: 'done', evidence: `export: product_sold ${want}; V&R replied ${reply}` };
  throw new ActionUnclearError(
    `V&R replied ${reply} but the export still says product_sold ${sold ? 'no' : 'yes'}`,
  );
}

async function deleteListing(
  deps: CreationDeps,
  action: VrAction,
  vrListingId: number,
  attempt: ActionAttempt,
): Promise<ActionResult> {
  if (await editPageGone(deps, vrListingId)) return { outcome: 'done', evidence: 'edit page answers 404' };
  // Repeated only once V&R confirms the listing is still there: never a blind second delete.
  if (action.attempts > 1 && !(await exportView(deps, vrListingId)).present)
    return { outcome: 'done', evidence: 'export lacks the listing (before sending)' };
  const reply = await postFromItems(deps, '/ajax/delete_item', vrListingId, attempt);
  if (await editPageGone(deps, vrListingId))
    return { outcome: 'done', evidence: `edit page answers 404; V&R replied ${reply}` };
  if (!(await exportView(deps, vrListingId)).present)
    return { outcome: 'done', evidence: `export lacks the listing; V&R replied ${reply}` };
  throw new ActionUnclearError(`V&R replied ${reply} but the listing is still on V&R`);
}

export async function runAction(
  deps: CreationDeps,
  action: VrAction,
  vrListingId: number,
  attempt: ActionAttempt = { sent: false },
): Promise<ActionResult> {
  switch (action.kind) {
    case 'mark_sold':
      return setSold(deps, action, vrListingId, true, attempt);
    case 'restore':
      return setSold(deps, action, vrListingId, false, attempt);
    case 'delete':
      return deleteListing(deps, action, vrListingId, attempt);
    case 'update':
      return updateOnEditPage(deps, action, vrListingId, attempt);
    case 'replace_photos':
      return replacePhotosOnEditPage(deps, action, vrListingId, attempt);
  }
}

/**
 * One attempt at an action job. An action waits (delayed, no attempt used) while an earlier action
 * on the same listing is open, while V&R or Postgres is unavailable (as creation waits: job-waits.ts)
 * and while V&R wants a person. An unclear outcome gives the row back and lets BullMQ retry; the
 * last attempt fails it.
 */
export async function processActionJob(
  deps: ActionJobDeps,
  job: Job<CreateJobData>,
  token: string | undefined,
  logger: Logger,
): Promise<ActionResult> {
  const id = job.data.actionId!;
  const attempt = job.attemptsMade + 1;
  const tried: ActionAttempt = { sent: false };
  let claimed: VrAction | undefined;
  try {
    const [row] = await deps.db.select().from(vrActions).where(eq(vrActions.id, id));
    if (!row || (row.status !== 'queued' && row.status !== 'in_progress'))
      return { outcome: 'skipped', reason: `action ${id} is ${row?.status ?? 'gone'}` };
    const earlier = await earlierOpenActions(deps.db, row);
    if (earlier.length && token) {
      await job.log(`waiting for action ${earlier[0]!.id} on the same listing`).catch(() => {}); // a copy for Bull Board
      await job.moveToDelayed(Date.now() + ORDER_WAIT_MS, token);
      throw new DelayedError();
    }
    const [link] = await deps.db
      .select()
      .from(vrProductLinks)
      .where(eq(vrProductLinks.productRef, row.productRef));
    if (!link) {
      await failAction(deps.db, id, `productRef ${row.productRef} has no V&R id`);
      throw new UnrecoverableError(`productRef ${row.productRef} has no V&R id`);
    }
    claimed = await claimAction(deps.db, id, link.vrListingId);
    if (!claimed) return { outcome: 'skipped', reason: `action ${id} moved on` };
    logger.info(
      { event: LOG_EVENT.jobStep, step: `action ${claimed.kind}`, actionId: id },
      `action ${claimed.kind}`,
    );
    const result = await runAction(deps, claimed, link.vrListingId, tried);
    if (result.outcome === 'done') await completeAction(deps.db, id, result.evidence);
    else if (result.outcome === 'failed') {
      await failAction(deps.db, id, result.reason);
      throw new UnrecoverableError(result.reason);
    }
    deps.outages?.site.up();
    deps.outages?.database.up();
    if (job.data.heldFor) await clearMarks(job, logger, 'the held mark');
    await job
      .log(`${result.outcome}: ${'evidence' in result ? result.evidence : result.reason}`)
      .catch(() => {}); // a copy for Bull Board
    return result;
  } catch (error) {
    if (error instanceof UnrecoverableError || error instanceof DelayedError) throw error;
    // The row goes back to queued for the wait; an attempt that sent nothing is not counted.
    const giveBack = (reason: string) => async () => {
      if (claimed)
        await releaseAction(deps.db, id, reason, { refund: !tried.sent }).catch((e) =>
          logger.warn({ err: e, actionId: id }, 'could not give the action back for the wait'),
        );
      return true;
    };
    if (error instanceof NeedsPersonError) {
      const said = error.state === 'blocked' ? PERSON_NEEDED : safeErrorMessage(error);
      if (await holdJob(deps, job, token, error.state, said, giveBack(said))) throw new DelayedError();
    }
    const waitReason = outageReason(error, safeErrorMessage(error));
    const waited = await waitOutOutage(deps, job, token, error, giveBack(waitReason));
    if (waited !== undefined) {
      // A copy for Bull Board: the outage itself is logged once by its tracker.
      await job.log(`unavailable, next try in ${waited} ms: ${safeErrorMessage(error)}`).catch(() => {});
      throw new DelayedError();
    }
    // A real failure ends the outage this job was waiting out: the next one gets its full window.
    if (job.data.outage) await clearMarks(job, logger, 'the outage (its next outage gets a shorter wait)');
    const lastAttempt = attempt >= (job.opts.attempts ?? 1);
    const reason = `attempt ${attempt}: ${safeErrorMessage(error)}`;
    logger.warn(
      { event: LOG_EVENT.creationAttemptFailed, err: error, actionId: id, lastAttempt },
      'action attempt failed',
    );
    if (lastAttempt)
      await failAction(deps.db, id, `gave up after ${attempt} attempts: ${safeErrorMessage(error)}`);
    else await releaseAction(deps.db, id, reason);
    throw error;
  }
}
