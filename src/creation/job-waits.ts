/**
 * How a job on the creation queue waits without using up a try, shared by creation jobs
 * (worker.ts) and action jobs (actions.ts): an outage of V&R or Postgres is waited out (capped
 * exponential backoff, up to OUTAGE_GIVE_UP_MS, one warning per outage), and V&R wanting a person
 * (blocked, the login refused) holds the job until a session is stored. Each caller gives its own
 * row back (vr_jobs or vr_actions) through `giveBack`; the policy itself lives only here.
 */
import type { Job } from 'bullmq';
import type { Config } from '../config.ts';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import { isDatabaseUnavailable, type Outage, trackOutage } from '../outage.ts';
import type { CreateJobData } from '../queues.ts';
import { BLOCKED_RECHECK_MS } from '../vr/browser-session.ts';
import { isSiteUnavailable, type PersonNeeded } from '../vr/errors.ts';

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

export function creationOutages(logger: Logger): CreationOutages {
  return {
    site: trackOutage(
      logger,
      'V&R',
      'creation and action jobs wait and retry without using up their attempts',
    ),
    database: trackOutage(
      logger,
      'Postgres',
      'creation and action jobs wait and retry without using up their attempts',
    ),
    redis: trackOutage(logger, 'Redis', 'the creation worker waits for it to come back'),
  };
}

/** What the waits need from the worker. */
export interface JobWaitDeps {
  config: Pick<Config, 'outageGiveUpMs' | 'outageRetryMaxMs' | 'createBackoffMs'>;
  /** One warning per outage of V&R, Postgres or Redis. */
  outages?: CreationOutages;
  /** V&R wants a person: stop taking jobs until a session is stored. */
  onHeld?: (kind: PersonNeeded) => void;
}

/** Which outage, if any, an error from an attempt comes from. */
export function outageOf(error: unknown): 'site' | 'database' | undefined {
  if (isDatabaseUnavailable(error)) return 'database';
  if (isSiteUnavailable(error)) return 'site';
  return undefined;
}

/** What a job's row and log say while it waits out an outage. */
export function outageReason(error: unknown, message: string): string {
  return `waiting for ${outageOf(error) === 'site' ? 'V&R' : 'Postgres'} to come back: ${message}`;
}

/**
 * V&R down for its nightly maintenance, or Postgres restarting, says nothing about the listing or
 * the action: the job waits (capped exponential backoff) and its attempts are kept for real
 * failures, for up to OUTAGE_GIVE_UP_MS. `giveBack` hands the job's row back for the wait; false
 * means it must not wait (a submit had begun). Returns the delay, or undefined when the job should
 * fail the usual way.
 */
export async function waitOutOutage(
  deps: JobWaitDeps,
  job: Job<CreateJobData>,
  token: string | undefined,
  error: unknown,
  giveBack: () => Promise<boolean>,
): Promise<number | undefined> {
  const kind = outageOf(error);
  if (!kind || !token) return undefined;
  const now = Date.now();
  const outage = job.data.outage ?? { since: new Date(now).toISOString(), delays: 0 };
  if (now - Date.parse(outage.since) > deps.config.outageGiveUpMs) return undefined;
  if (!(await giveBack())) return undefined;
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
 * Blocked by Cloudflare, or the login refused: a person must act, and the job is not at fault. The
 * job goes back to waiting without using up a try (`giveBack` hands its row back with `said`), its
 * Bull Board log says what to run, and the worker stops taking jobs until a new session is stored.
 * Returns false when it can't be held (no token, or the row must not wait).
 */
export async function holdJob(
  deps: JobWaitDeps,
  job: Job<CreateJobData>,
  token: string | undefined,
  kind: PersonNeeded,
  said: string,
  giveBack: () => Promise<boolean>,
): Promise<boolean> {
  if (!token) return false;
  if (!(await giveBack())) return false;
  const { outage: _outage, ...data } = job.data;
  await job.updateData({ ...data, heldFor: kind });
  // A copy for Bull Board: the row's error holds the same words.
  await job.log(said).catch(() => {});
  await job.moveToDelayed(
    Date.now() + (kind === 'blocked' ? BLOCKED_RECHECK_MS : LOGIN_REFUSED_HOLD_MS),
    token,
  );
  deps.onHeld?.(kind);
  return true;
}

/** Drops a job's held, gate and outage marks from its data: a later wait then starts afresh. */
export async function clearMarks(job: Job<CreateJobData>, logger: Logger, what: string): Promise<void> {
  const { outage: _o, heldFor: _h, gate: _g, flushAskedFor: _f, ...data } = job.data;
  await job
    .updateData(data)
    .catch((error) =>
      logger.warn({ err: error, event: LOG_EVENT.jobDataNotUpdated }, `could not clear ${what} on the job`),
    );
}
