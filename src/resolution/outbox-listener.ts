import postgres from 'postgres';
import type { Sql } from '../db/client.ts';
import { closeAll, once } from '../lifecycle.ts';
import type { Outage } from '../outage.ts';
import { OUTBOX_CHANNEL } from '../queues.ts';

/** How often the outbox listener checks that its LISTEN is alive (a notification to itself). */
export const OUTBOX_HEARTBEAT_MS = 5_000;
/** The LISTEN connection's application_name, to tell it apart in pg_stat_activity. */
export const OUTBOX_LISTENER_APP = 'vr-lister outbox listener';
const HEARTBEAT = 'heartbeat';

export interface OutboxListenerDeps {
  databaseUrl: string;
  /** The shared client the heartbeat notification is sent on (not the listening one). */
  sql: Sql;
  heartbeatMs?: number;
  /**
   * Runs on a notification and after every (re)LISTEN, one at a time; notifications during a run
   * make one more run. It reports its own failures: a rejection is dropped.
   */
  onNotify: () => Promise<void>;
  /** Postgres's outage: a failed LISTEN or heartbeat is `down`, a heartbeat sent is `up`. */
  outage: Outage;
}

type Client = { sql: postgres.Sql; ready: Promise<boolean> };

/**
 * LISTEN on OUTBOX_CHANNEL for rows a host application committed in its own transaction.
 *
 * postgres.js re-listens after a lost connection, but only once: if the server isn't back yet
 * that fails silently, and the failed LISTEN stays cached, so listening again on the same client
 * fails too. So the LISTEN gets a client of its own, and a notification to ourselves every few
 * seconds proves it alive; when one goes missing, a new client listens again and onNotify runs
 * (commits meanwhile were not heard).
 */
export class OutboxListener {
  readonly #deps: OutboxListenerDeps;
  #client: Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> = Promise.resolve();
  #heartbeatSent = 0;
  #heartbeatSeen = 0;
  #draining: Promise<void> = Promise.resolve();
  #drainPending = false;
  #stopped = false;

  constructor(deps: OutboxListenerDeps) {
    this.#deps = deps;
  }

  /** Listens and starts the heartbeat; resolves once the first LISTEN is in place or has failed. */
  async start(): Promise<void> {
    this.#client = this.#listen();
    this.#timer = setInterval(() => this.#beat(), this.#deps.heartbeatMs ?? OUTBOX_HEARTBEAT_MS);
    this.#timer.unref();
    await this.#client.ready;
  }

  /** Stops the heartbeat, waits for a beat and a drain in progress, ends the LISTEN client. */
  readonly stop: () => Promise<void> = once(async () => {
    this.#stopped = true;
    clearInterval(this.#timer);
    await closeAll([
      () => this.#beating,
      async () => this.#client?.sql.end({ timeout: 5 }),
      () => this.#draining,
    ]);
  });

  #drain(): void {
    if (this.#drainPending) return;
    this.#drainPending = true;
    this.#draining = this.#draining.then(async () => {
      this.#drainPending = false;
      await this.#deps.onNotify().catch(() => {}); // onNotify reports its own failures
    });
  }

  #listen(): Client {
    const sql = postgres(this.#deps.databaseUrl, {
      max: 1,
      onnotice: () => {},
      connect_timeout: 10,
      connection: { application_name: OUTBOX_LISTENER_APP },
    });
    const ready = sql
      .listen(
        OUTBOX_CHANNEL,
        (payload) => {
          if (payload === HEARTBEAT) this.#heartbeatSeen = this.#heartbeatSent;
          else this.#drain();
        },
        () => this.#drain(),
      )
      .then(() => true)
      .catch((error) => {
        this.#deps.outage.down(error, { listener: OUTBOX_CHANNEL });
        return false;
      });
    return { sql, ready };
  }

  #beat(): void {
    this.#beating = this.#beating.then(async () => {
      if (this.#stopped || !this.#client) return;
      try {
        if (!(await this.#client.ready) || this.#heartbeatSeen < this.#heartbeatSent) {
          // The last heartbeat never came back: the LISTEN is gone.
          const old = this.#client;
          this.#client = this.#listen();
          await old.sql.end({ timeout: 0 }).catch(() => {}); // a dead client: a new one listens
          if (!(await this.#client.ready)) return;
          this.#heartbeatSeen = this.#heartbeatSent;
        }
        this.#heartbeatSent += 1;
        await this.#deps.sql`select pg_notify(${OUTBOX_CHANNEL}, ${HEARTBEAT})`;
        this.#deps.outage.up({ listener: OUTBOX_CHANNEL });
      } catch (error) {
        this.#deps.outage.down(error, { listener: OUTBOX_CHANNEL });
      }
    });
  }
}
