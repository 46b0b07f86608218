import postgres from 'postgres';
import { Listener } from '../db/listener.ts';
import type { JobEventName, JobResult } from '../db/schema.ts';
import type { Logger } from '../logger.ts';

/** The channel the vr_jobs trigger (drizzle/0002) notifies at commit, one notification per event. */
export const JOB_EVENTS_CHANNEL = 'vr_lister_job_events';

/** A job's final event, as onResult sees it and a webhook's signed body carries it. */
export interface JobResultEvent {
  /** The event's id (vr_job_events.id): the same on every webhook retry and redelivery. */
  id: number;
  event: JobEventName;
  job: JobResult;
  /** When the status changed (ISO 8601). */
  at: string;
}

export interface PgListenerOptions {
  url: string;
  channel: string;
  /** Runs on every notification, after every (re)connect and every pollIntervalMs; one at a time. */
  onWake: () => Promise<void>;
  logger: Logger;
  pollIntervalMs?: number;
}

/**
 * LISTEN on one channel, on a Listener (src/db/listener.ts) that listens again after an outage,
 * with start/stop. Notifications only wake the reader, which reads the truth from Postgres: one lost
 * while the connection was down is made up for by the read after the LISTEN is back (and by the
 * periodic one).
 */
export class PgListener {
  readonly #options: PgListenerOptions;
  readonly #listener: Listener;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #down = false;
  #stopped = false;

  constructor(options: PgListenerOptions) {
    this.#options = options;
    const { url, channel, logger } = options;
    this.#listener = new Listener({
      url,
      channel,
      onNotify: () => void this.wake(),
      onListen: () => void this.wake(),
      // Said once an outage, not every heartbeat.
      onDown: (error) => {
        if (!this.#down) logger.warn({ err: error, channel }, 'LISTEN failed; will retry');
        this.#down = true;
      },
      onUp: () => {
        if (this.#down) logger.info({ channel }, 'listening again');
        this.#down = false;
      },
    });
  }

  /** Listens, then wakes once; a Postgres that isn't answering yet is retried on the poll. */
  async start(): Promise<void> {
    this.#timer = setInterval(() => void this.wake(), this.#options.pollIntervalMs ?? 30_000);
    this.#timer.unref();
    await this.#listener.start();
    await this.wake();
  }

  /** Runs onWake now, or once more after the run in progress. */
  wake(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        let failed = false;
        do {
          this.#again = false;
          try {
            await this.#options.onWake();
          } catch (error) {
            failed = true;
            this.#options.logger.warn(
              { err: error, channel: this.#options.channel },
              'reading events failed',
            );
          }
        } while (this.#again && !this.#stopped && !failed);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
    await this.#listener.close().catch(() => {}); // best effort on stop
  }
}

/** How long an id skipped in the sequence is looked for: a transaction still open, or rolled back. */
const GAP_WAIT_MS = 10 * 60_000;
const MAX_GAPS = 10_000;
const PAGE = 1000;
/** Ids before the start looked at for events still being committed. */
const START_WINDOW = 1000;

type Row = { id: string | number; event: JobEventName; job: JobResult; created_at: Date };

/**
 * Every job event from the moment it starts, in id order, each once, to its subscribers. Ids come
 * from a sequence and become visible at commit, so one can show up after a higher one: ids skipped
 * over are read again for a while (GAP_WAIT_MS) and delivered when their transaction commits.
 */
export class JobEventStream {
  readonly #sql: postgres.Sql;
  readonly #listener: PgListener;
  readonly #subscribers = new Set<(event: JobResultEvent) => void>();
  readonly #logger: Logger;
  #lastId = 0;
  readonly #gaps = new Map<number, number>();
  #started: Promise<void> | undefined;

  constructor({ url, logger, pollIntervalMs }: { url: string; logger: Logger; pollIntervalMs?: number }) {
    this.#logger = logger;
    this.#sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
    this.#listener = new PgListener({
      url,
      channel: JOB_EVENTS_CHANNEL,
      logger,
      pollIntervalMs,
      onWake: () => this.#catchUp(),
    });
  }

  /** Events from now on; the first call reads where the log stands, later calls share that. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      // The last ids written: any missing among them may belong to a transaction still open, so
      // they are looked for like any other gap (an event committed just after this read is kept).
      const recent = await this.#sql<{ id: string }[]>`
        select id from vr_job_events order by id desc limit ${START_WINDOW}`;
      const ids = recent.map((r) => Number(r.id));
      this.#lastId = ids[0] ?? 0;
      const seen = new Set(ids);
      const now = Date.now();
      for (let id = Math.max(1, this.#lastId - START_WINDOW + 1); id < this.#lastId; id++)
        if (!seen.has(id)) this.#gaps.set(id, now);
      await this.#listener.start();
    })().catch((error: unknown) => {
      // Not kept: the next call tries again.
      this.#started = undefined;
      throw error;
    });
    return this.#started;
  }

  subscribe(callback: (event: JobResultEvent) => void): () => void {
    this.#subscribers.add(callback);
    return () => this.#subscribers.delete(callback);
  }

  async #catchUp(): Promise<void> {
    const now = Date.now();
    for (const [id, since] of this.#gaps) if (now - since > GAP_WAIT_MS) this.#gaps.delete(id);
    for (;;) {
      const gaps = [...this.#gaps.keys()];
      const rows = await this.#sql<Row[]>`
        select id, event, job, created_at from vr_job_events
        where id > ${this.#lastId} or id = any(${gaps}::int8[])
        order by id limit ${PAGE}`;
      for (const row of rows) {
        const id = Number(row.id);
        if (id > this.#lastId) {
          for (let skipped = this.#lastId + 1; skipped < id && this.#gaps.size < MAX_GAPS; skipped++)
            this.#gaps.set(skipped, now);
          this.#lastId = id;
        } else {
          this.#gaps.delete(id);
        }
        const event: JobResultEvent = {
          id,
          event: row.event,
          job: row.job,
          at: row.created_at.toISOString(),
        };
        // Actions' events (action.done, action.failed) go to webhooks only: onResult is about jobs.
        if (!row.event.startsWith('job.')) continue;
        for (const subscriber of this.#subscribers) {
          try {
            subscriber(event);
          } catch (error) {
            this.#logger.error({ err: error, eventId: id }, 'an onResult callback threw');
          }
        }
      }
      if (rows.length < PAGE) return;
    }
  }

  async stop(): Promise<void> {
    await this.#listener.stop();
    await this.#sql.end({ timeout: 5 }).catch(() => {}); // best effort on stop
  }
}
