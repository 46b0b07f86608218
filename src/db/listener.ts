import postgres from 'postgres';
import type { Sql } from './client.ts';

/** How often a listener checks that its LISTEN is alive (a notification to itself). */
export const LISTEN_HEARTBEAT_MS = 5_000;
const HEARTBEAT = 'heartbeat';

export interface ListenerOptions {
  url: string;
  channel: string;
  /** The LISTEN connection's application_name, to tell it apart in pg_stat_activity. */
  applicationName?: string;
  /** The client the heartbeat is sent on; by default the listener's own (one more connection). */
  heartbeatSql?: Sql;
  heartbeatMs?: number;
  /** A notification on the channel (not a heartbeat) arrived. */
  onNotify: () => void;
  /** The LISTEN is in place, first or again: notifications before it were not heard. */
  onListen: () => void;
  /** A LISTEN or a heartbeat failed. */
  onDown: (error: unknown) => void;
  /** A heartbeat was sent. */
  onUp: () => void;
}

type Client = { sql: postgres.Sql; ready: Promise<boolean> };

/**
 * LISTEN on one channel that stays listening across Postgres outages.
 *
 * postgres.js re-listens after a lost connection, but only once: if the server isn't back yet
 * that fails silently, and the failed LISTEN stays cached, so listening again on the same client
 * fails too. So the LISTEN gets a client of its own, and a notification to ourselves every few
 * seconds proves it alive; when one goes missing, a new client listens again (and onListen runs).
 */
export class Listener {
  readonly #options: ListenerOptions;
  #client: Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> = Promise.resolve();
  #heartbeatSent = 0;
  #heartbeatSeen = 0;
  #closing: Promise<void> | undefined;

  constructor(options: ListenerOptions) {
    this.#options = options;
  }

  /** Listens and starts the heartbeat; resolves once the first LISTEN is in place (true) or has failed. */
  async start(): Promise<boolean> {
    if (this.#closing || this.#client) return false;
    this.#client = this.#listen();
    this.#timer = setInterval(() => this.#beat(), this.#options.heartbeatMs ?? LISTEN_HEARTBEAT_MS);
    this.#timer.unref();
    return this.#client.ready;
  }

  /** Stops the heartbeat, waits for a beat in progress, ends the LISTEN client; once. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#timer);
      try {
        await this.#beating;
      } finally {
        await this.#client?.sql.end({ timeout: 5 });
      }
    })();
    return this.#closing;
  }

  #listen(): Client {
    const { url, channel, applicationName } = this.#options;
    const sql = postgres(url, {
      max: 1,
      onnotice: () => {},
      connect_timeout: 10,
      ...(applicationName ? { connection: { application_name: applicationName } } : {}),
    });
    const ready = sql
      .listen(
        channel,
        (payload) => {
          if (payload === HEARTBEAT) this.#heartbeatSeen = this.#heartbeatSent;
          else this.#options.onNotify();
        },
        () => this.#options.onListen(),
      )
      .then(() => true)
      .catch((error: unknown) => {
        this.#options.onDown(error);
        return false;
      });
    return { sql, ready };
  }

  #beat(): void {
    this.#beating = this.#beating.then(async () => {
      if (this.#closing || !this.#client) return;
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
        const sql = this.#options.heartbeatSql ?? this.#client.sql;
        await sql`select pg_notify(${this.#options.channel}, ${HEARTBEAT})`;
        this.#options.onUp();
      } catch (error) {
        this.#options.onDown(error);
      }
    });
  }
}
