import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { LOG_EVENT } from '../log-events.ts';
import { type Logger, withJobLogger } from '../logger.ts';
import { isConnectionError, isDatabaseUnavailable } from '../outage.ts';
import { ACTION_JOB, CREATE_QUEUE, type CreateJobData } from '../queues.ts';
import { safeErrorMessage, safeErrorText, sanitiseError, throwingSafely } from '../safe-errors.ts';
import { NeedsPersonError, PERSON_NEEDED, type PersonNeeded } from '../vr/errors.ts';
import { type ActionResult, processActionJob } from './actions.ts';
import { captureEvidence, describeArtifacts, jobArtifactsDir, recordArtifacts } from './artifacts.ts';
import { type CreationDeps, type CreationResult, createListing, handBack } from './create-listing.ts';
import {
  type CreationOutages,
  clearMarks,
  creationOutages,
  holdJob,
  outageReason,
  waitOutOutage,
} from './job-waits.ts';
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

export { type CreationOutages, creationOutages, LOGIN_REFUSED_HOLD_MS } from './job-waits.ts';

/**
 * Blocked by Cloudflare, or the login refused: held as job-waits.ts's holdJob does, the row back to
 * `queued`. A refused login keeps the page V&R answered with as the job's evidence.
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
  return holdJob(deps, job, token, kind, said, async () => {
    const status = await handBack(deps.db, job.data.rowId, said, false).catch(() => 'unknown' as const);
    return status !== 'completed_pending_id';
  });
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
      const waitReason = outageReason(error, errorMessage(error));
      const waited = await waitOutOutage(deps, job, token, error, async () => {
        // The row goes back to queued (or, if a submit had begun, to resolution: never a second submit).
        const status = await handBack(deps.db, job.data.rowId, waitReason, false).catch(
          () => 'unknown' as const,
        );
        return status !== 'completed_pending_id';
      });
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
