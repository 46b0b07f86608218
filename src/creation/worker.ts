import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { LOG_EVENT } from '../log-events.ts';
import { type Logger, withJobLogger } from '../logger.ts';
import { isConnectionError, isDatabaseUnavailable, type Outage, trackOutage } from '../outage.ts';
import { ACTION_JOB, CREATE_QUEUE, type CreateJobData } from '../queues.ts';
import { safeErrorMessage, safeErrorText, sanitiseError, throwingSafely } from '../safe-errors.ts';
import { BLOCKED_RECHECK_MS } from '../vr/browser-session.ts';
import { isSiteUnavailable, NeedsPersonError, PERSON_NEEDED, type PersonNeeded } from '../vr/errors.ts';
import { type ActionResult, processActionJob } from './actions.ts';
import { captureEvidence, describeArtifacts, jobArtifactsDir, recordArtifacts } from './artifacts.ts';
import { type CreationDeps, type CreationResult, createListing, handBack } from './create-listing.ts';
import { holdAtGate } from './probation.ts';

export interface CreationWorkerDeps extends CreationDeps {
  connection: Redis;
  /** Called after every creation attempt, success or not: the flush decision lives there. */
  afterCreation?: (logger: Logger) => Promise<void>;
  /** One warning per outage of V&R, Postgres or Redis; made by startCreationWorker when absent. */
  outages?: CreationOutages;
  /** V&R wants a person: stop taking jobs until a session is stored (see holdForPerson). */
  onHeld?: (kind: PersonNeeded) => void;
  /** Asks for a flush: a job held by probation waits on a listing that must get resolved. */
  requestFlush?: (reason: string) => Promise<void>;
}

/**
 * How long a job held for a person (the login refused, the session key, the sandbox) waits, unless a
 * stored session releases it first.
 */
export const LOGIN_REFUSED_HOLD_MS = 3_600_000;

export interface CreationOutages {
  site: Outage;
  database: Outage;
  redis: Outage;
}

export function creationOutages(logger: CreationDeps['logger']): CreationOutages {
  return {
    site: trackOutage(logger, 'V&R', 'creation jobs wait and retry without using up their attempts'),
    database: trackOutage(logger, 'Postgres', 'creation jobs wait and retry without using up their attempts'),
    redis: trackOutage(logger, 'Redis', 'the creation worker waits for it to come back'),
  };
}

/** Which outage, if any, an error from a creation attempt comes from. */
function outageOf(error: unknown): 'site' | 'database' | undefined {
  if (isDatabaseUnavailable(error)) return 'database';
  if (isSiteUnavailable(error)) return 'site';
  return undefined;
}

/**
 * V&R down for its nightly maintenance, or Postgres restarting, says nothing about the listing:
 * the job waits (capped exponential backoff) and its attempts are kept for real failures, for up
 * to OUTAGE_GIVE_UP_MS. Returns the delay, or undefined when the job should fail the usual way.
 */
async function waitOutOutage(
  deps: CreationWorkerDeps,
  job: Job<CreateJobData>,
  token: string | undefined,
  error: unknown,
  reason: string,
): Promise<number | undefined> {
  const kind = outageOf(error);
  if (!kind || !token) return undefined;
  const now = Date.now();
  const outage = job.data.outage ?? { since: new Date(now).toISOString(), delays: 0 };
  if (now - Date.parse(outage.since) > deps.config.outageGiveUpMs) return undefined;
  // The row goes back to queued (or, if a submit had begun, to resolution: never a second submit).
  const status = await handBack(deps.db, job.data.rowId, reason, false).catch(() => 'unknown' as const);
  if (status === 'completed_pending_id') return undefined;
  const delay = Math.min(
    deps.config.outageRetryMaxMs,
    Math.max(100, deps.config.createBackoffMs) * 2 ** Math.min(outage.delays, 30),
  );
  await job.updateData({ ...job.data, outage: { since: outage.since, delays: outage.delays + 1 } });
  await job.moveToDelayed(now + delay, token);
  deps.outages?.[kind].down(error, { waitMs: delay });
  return delay;
}

/**
 * Blocked by Cloudflare, or the login refused: a person must act, and the listing is not at fault.
 * The job goes back to waiting without using up a try (the row to `queued`), its Bull Board log
 * says what to run, and the worker stops taking jobs until a new session is stored.
 */
async function holdForPerson(
  deps: CreationWorkerDeps,
  job: Job<CreateJobData>,
  token: string | undefined,
  error: NeedsPersonError,
): Promise<boolean> {
  if (!token) return false;
  const kind = error.state;
  let said = kind === 'blocked' ? PERSON_NEEDED : errorMessage(error);
  if (kind === 'login_refused') {
    // The page V&R answered the login with is still open: keep it as evidence (password scrubbed).
    const page = await deps.browser.page().catch(() => undefined);
    if (page) {
      const saved = await captureEvidence({
        page,
        dir: jobArtifactsDir(deps.config.artifactsDir, job.data.rowId),
        step: 'login',
        secrets: [deps.browser.site.password],
      });
      await recordArtifacts(deps.db, job.data.rowId, saved).catch((error) =>
        deps.logger.warn(
          { err: error, event: LOG_EVENT.evidenceNotRecorded, rowId: job.data.rowId },
          'could not record the login evidence on the job',
        ),
      );
      said = `${said} (${describeArtifacts(job.data.rowId, saved)})`;
    }
  }
  const status = await handBack(deps.db, job.data.rowId, said, false).catch(() => 'unknown' as const);
  if (status === 'completed_pending_id') return false;
  const { outage: _outage, ...data } = job.data;
  await job.updateData({ ...data, heldFor: kind });
  // A copy for Bull Board: handBack wrote the same words to vr_jobs.error.
  await job.log(said).catch(() => {});
  await job.moveToDelayed(
    Date.now() + (kind === 'blocked' ? BLOCKED_RECHECK_MS : LOGIN_REFUSED_HOLD_MS),
    token,
  );
  deps.onHeld?.(kind);
  return true;
}

/** Drops a job's held or outage mark from its data: a later wait then starts afresh. */
async function clearMarks(job: Job<CreateJobData>, logger: Logger, what: string): Promise<void> {
  await job
    .updateData({ rowId: job.data.rowId, productRef: job.data.productRef })
    .catch((error) =>
      logger.warn({ err: error, event: LOG_EVENT.jobDataNotUpdated }, `could not clear ${what} on the job`),
    );
}

/** What vr_jobs.error, the job's log lines and Redis get: one line, no cookie (src/safe-errors.ts). */
const errorMessage = safeErrorMessage;

/** A result as BullMQ stores it (returnvalue, shown by Bull Board): its reason made safe. */
function safeResult(result: CreationResult): CreationResult {
  return 'reason' in result ? { ...result, reason: safeErrorText(result.reason) } : result;
}

export async function processCreationJob(
  deps: CreationWorkerDeps,
  job: Job<CreateJobData>,
  token?: string,
): Promise<CreationResult> {
  const attempt = job.attemptsMade + 1;
  const logger = deps.logger.child({
    queue: CREATE_QUEUE,
    jobId: job.id,
    rowId: job.data.rowId,
    productRef: job.data.productRef,
    attempt,
  });
  const report = {
    async step(name: string, progress: number) {
      logger.info({ event: LOG_EVENT.jobStep, step: name }, name);
      await Promise.all([job.updateProgress(progress), job.log(name)]);
    },
  };
  // The browser session logs its launch and login lines with the job's fields.
  return withJobLogger(logger, async () => {
    try {
      // Probation (one listing at a time until the site is proven) and the breaker's pause.
      if (token && (await holdAtGate(deps, job, token, logger))) throw new DelayedError();
      await report.step('claiming the job', 5);
      const result = safeResult(await createListing({ ...deps, logger }, job.data.rowId, report));
      const summary =
        result.outcome === 'submitted'
          ? 'submitted; waiting for its V&R id'
          : `${result.outcome}${'reason' in result ? `: ${result.reason}` : ''}${'vrListingId' in result ? ` (${result.vrListingId})` : ''}`;
      await report.step(summary, 100);
      deps.outages?.site.up();
      deps.outages?.database.up();
      if (job.data.heldFor || job.data.gate) await clearMarks(job, logger, 'the held mark');
      // A definite failure: Bull Board should show it failed, and BullMQ must not retry it.
      if (result.outcome === 'failed') throw new UnrecoverableError(result.reason);
      return result;
    } catch (error) {
      // Whatever is thrown from here lands in Redis (failedReason, stacktrace) and Bull Board.
      if (error instanceof UnrecoverableError) throw sanitiseError(error);
      if (error instanceof DelayedError) throw error;
      if (error instanceof NeedsPersonError && (await holdForPerson(deps, job, token, error))) {
        throw new DelayedError();
      }
      const waited = await waitOutOutage(
        deps,
        job,
        token,
        error,
        `waiting for ${outageOf(error) === 'site' ? 'V&R' : 'Postgres'} to come back: ${errorMessage(error)}`,
      );
      if (waited !== undefined) {
        // A copy for Bull Board: the outage itself is logged by its tracker.
        await job.log(`unavailable, next try in ${waited} ms: ${errorMessage(error)}`).catch(() => {});
        throw new DelayedError();
      }
      // A real failure ends the outage this job was waiting out: the next one gets its full window.
      if (job.data.outage) await clearMarks(job, logger, 'the outage (its next outage gets a shorter wait)');
      const lastAttempt = attempt >= (job.opts.attempts ?? 1);
      const reason = `attempt ${attempt}: ${errorMessage(error)}`;
      logger.warn(
        { event: LOG_EVENT.creationAttemptFailed, err: error, lastAttempt },
        'creation attempt failed',
      );
      await job.log(`error: ${reason}`).catch(() => {}); // a copy for Bull Board: logged above
      await handBack(
        deps.db,
        job.data.rowId,
        lastAttempt ? `gave up after ${attempt} attempts: ${errorMessage(error)}` : reason,
        lastAttempt,
      );
      throw sanitiseError(error);
    } finally {
      await deps.afterCreation?.(logger).catch((error) => {
        if (isDatabaseUnavailable(error)) deps.outages?.database.down(error);
        else logger.error({ err: error }, 'flush decision failed');
      });
    }
  });
}

/** The creation worker: concurrency 1, one browser; `close()` lets the current job finish. */
export function startCreationWorker(deps: CreationWorkerDeps, prefix: string): Worker<CreateJobData> {
  const outages = deps.outages ?? creationOutages(deps.logger);
  const withOutages = { ...deps, outages };
  const worker = new Worker<CreateJobData>(
    CREATE_QUEUE,
    // The one way out to Redis: nothing thrown reaches failedReason or stacktrace unsanitised.
    throwingSafely(
      (job, token): Promise<CreationResult | ActionResult> =>
        job.name === ACTION_JOB
          ? processActionJob(
              withOutages,
              job,
              token,
              deps.logger.child({ queue: CREATE_QUEUE, jobId: job.id, actionId: job.data.actionId }),
            )
          : processCreationJob(withOutages, job, token),
    ),
    {
      connection: deps.connection,
      prefix,
      concurrency: 1,
      // The lock is renewed while a job runs; after a crash the job is taken over once it expires.
      lockDuration: deps.config.workerLockMs,
      stalledInterval: Math.max(1_000, Math.floor(deps.config.workerLockMs / 2)),
      maxStalledCount: 3,
    },
  );
  worker.on('error', (error) => {
    // Redis gone: BullMQ reconnects by itself; one line for the outage, not one per retry.
    if (isConnectionError(error)) outages.redis.down(error);
    else deps.logger.error({ err: error }, 'creation worker error');
  });
  return worker;
}
