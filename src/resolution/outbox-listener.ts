import type { Sql } from '../db/client.ts';
import { LISTEN_HEARTBEAT_MS, Listener } from '../db/listener.ts';
import { closeAll, once } from '../lifecycle.ts';
import type { Outage } from '../outage.ts';
import { OUTBOX_CHANNEL } from '../queues.ts';

/** How often the outbox listener checks that its LISTEN is alive (a notification to itself). */
export const OUTBOX_HEARTBEAT_MS = LISTEN_HEARTBEAT_MS;
/** The LISTEN connection's application_name, to tell it apart in pg_stat_activity. */
export const OUTBOX_LISTENER_APP = 'vr-lister outbox listener';

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

/**
 * LISTEN on OUTBOX_CHANNEL for rows a host application committed in its own transaction, on a
 * Listener (src/db/listener.ts) that listens again after an outage; onNotify then runs too
 * (commits meanwhile were not heard).
 */
export class OutboxListener {
  readonly #deps: OutboxListenerDeps;
  readonly #listener: Listener;
  #draining: Promise<void> = Promise.resolve();
  #drainPending = false;

  constructor(deps: OutboxListenerDeps) {
    this.#deps = deps;
    const context = { listener: OUTBOX_CHANNEL };
    this.#listener = new Listener({
      url: deps.databaseUrl,
      channel: OUTBOX_CHANNEL,
      applicationName: OUTBOX_LISTENER_APP,
      heartbeatSql: deps.sql,
      heartbeatMs: deps.heartbeatMs ?? OUTBOX_HEARTBEAT_MS,
      onNotify: () => this.#drain(),
      onListen: () => this.#drain(),
      onDown: (error) => deps.outage.down(error, context),
      onUp: () => deps.outage.up(context),
    });
  }

  /** Listens and starts the heartbeat; resolves once the first LISTEN is in place or has failed. */
  async start(): Promise<void> {
    await this.#listener.start();
  }

  /** Stops the heartbeat, waits for a beat and a drain in progress, ends the LISTEN client. */
  readonly stop: () => Promise<void> = once(async () => {
    await closeAll([() => this.#listener.close(), () => this.#draining]);
  });

  #drain(): void {
    if (this.#drainPending) return;
    this.#drainPending = true;
    this.#draining = this.#draining.then(async () => {
      this.#drainPending = false;
      await this.#deps.onNotify().catch(() => {}); // onNotify reports its own failures
    });
  }
}
