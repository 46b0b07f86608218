import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { once } from '../lifecycle.ts';
import type { Logger } from '../logger.ts';
import type { Outage } from '../outage.ts';
import type { FlushJobData } from './trigger.ts';

/** The name of the sweep's job scheduler and of the jobs it makes. */
export const SWEEP_JOB = 'sweep';
/** The name of the scheduled reconcile's job scheduler and jobs (RECONCILE_INTERVAL_MS). */
export const RECONCILE_JOB = 'reconcile';

export interface SweepScheduleDeps {
  /** The resolution queue. */
  queue: Queue<FlushJobData>;
  /** The queue's connection: its reconnects ('ready' after the first) put the schedule back. */
  connection: Redis;
  /** The sweep interval, and how often the schedule is checked. */
  everyMs: number;
  /** The scheduled reconcile's interval; 0 (the default): none, and one left from before is removed. */
  reconcileEveryMs?: number;
  logger: Logger;
  /** Redis's outage: a failed check is `down`, a check done is `up`. */
  outage: Outage;
}

/**
 * What only Redis remembers: one flush at a time across processes, and the sweep's (and the
 * reconcile's) schedule.
 * Redis may be emptied (FLUSHALL, a restart without persistence, a failover) while the worker lives
 * on; then nothing would run the sweep that rebuilds the queues from Postgres. So both are put back
 * on start and on every reconnect, and checked every sweep interval.
 */
export class SweepSchedule {
  readonly #deps: SweepScheduleDeps;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  #connectedOnce = false;
  readonly #onReady = () => {
    if (this.#connectedOnce) void this.#check(true);
    this.#connectedOnce = true;
  };

  constructor(deps: SweepScheduleDeps) {
    this.#deps = deps;
  }

  /** Puts the schedule in place now (the promise: that first check, which never rejects). */
  start(): Promise<void> {
    const first = this.#check(true);
    this.#timer = setInterval(() => void this.#check(false), this.#deps.everyMs);
    this.#timer.unref();
    this.#connectedOnce = this.#deps.connection.status === 'ready';
    this.#deps.connection.on('ready', this.#onReady);
    return first;
  }

  /** No more checks; waits for one in progress (it waits for Redis while Redis is away). */
  readonly stop: () => Promise<void> = once(async () => {
    clearInterval(this.#timer);
    this.#deps.connection.off('ready', this.#onReady);
    await this.#checking;
  });

  // One check at a time: while Redis is away the checks would queue up and all report at once.
  #check(always: boolean): Promise<void> {
    const { logger, outage } = this.#deps;
    this.#checking ??= this.#schedule(always)
      .then(
        (added) => {
          outage.up();
          if (added && !always)
            logger.warn('the sweep was missing from Redis (emptied?): scheduled it again');
        },
        (error) => outage.down(error, { step: 'schedule the sweep' }),
      )
      .finally(() => {
        this.#checking = undefined;
      });
    return this.#checking;
  }

  /** Puts back what is missing (all of it when `always`); true when the scheduler was (re)written. */
  async #schedule(always: boolean): Promise<boolean> {
    const { queue, everyMs } = this.#deps;
    if ((await queue.getGlobalConcurrency()) !== 1) await queue.setGlobalConcurrency(1);
    await this.#scheduleReconcile(always);
    if (!always && (await queue.getJobScheduler(SWEEP_JOB))) return false;
    await queue.upsertJobScheduler(
      SWEEP_JOB,
      { every: everyMs },
      {
        name: SWEEP_JOB,
        data: { reason: 'sweep', requestedAt: '' },
        // Without these every sweep run stayed in Redis for good (1,440 jobs a day at the default).
        opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
      },
    );
    return true;
  }

  /** On the same queue as flushes: one export download at a time (its global concurrency is 1). */
  async #scheduleReconcile(always: boolean): Promise<void> {
    const { queue } = this.#deps;
    const everyMs = this.#deps.reconcileEveryMs ?? 0;
    if (everyMs === 0) {
      if (always) await queue.removeJobScheduler(RECONCILE_JOB);
      return;
    }
    if (!always && (await queue.getJobScheduler(RECONCILE_JOB))) return;
    await queue.upsertJobScheduler(
      RECONCILE_JOB,
      { every: everyMs },
      {
        name: RECONCILE_JOB,
        data: { reason: 'reconcile', requestedAt: '' },
        opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
      },
    );
  }
}
