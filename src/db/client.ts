import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema.ts';

export type Db = PostgresJsDatabase<typeof schema>;
export type Sql = postgres.Sql;

export interface Database {
  db: Db;
  sql: Sql;
  /** The URL it connects to (for a connection of its own, see withAdvisoryLock). */
  url: string;
  close(): Promise<void>;
}

export function connectDatabase(url: string, { max = 5 }: { max?: number } = {}): Database {
  const sql = postgres(url, { max, onnotice: () => {}, connect_timeout: 10 });
  const db = drizzle(sql, { schema });
  let closing: Promise<void> | undefined;
  return {
    db,
    sql,
    url,
    close: () => {
      closing ??= sql.end({ timeout: 5 });
      return closing;
    },
  };
}

/**
 * Runs `fn` holding a session-level advisory lock, taken on a one-connection pool of its own.
 *
 * Not `sql.reserve()`: postgres.js 3.4.9 throws an uncatchable TypeError in `nextWrite` and the
 * process dies when a reserved (pinned) connection is used after its server went away, e.g. the
 * unlock after a Postgres restart (porsager/postgres#1208). A pool reconnects instead, and the
 * unlock just fails. A lost connection loses the lock with it, so what `fn` writes must stay safe
 * without it (the flush's writes are conditional and the links table is unique).
 */
export async function withAdvisoryLock<T>(url: string, key: number, fn: () => Promise<T>): Promise<T> {
  const lock = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await lock`select pg_advisory_lock(${key})`;
    try {
      return await fn();
    } finally {
      // The lock ends with its connection below.
      await lock`select pg_advisory_unlock(${key})`.catch(() => {});
    }
  } finally {
    await lock.end({ timeout: 5 }).catch(() => {}); // best effort: Postgres drops the lock with the session
  }
}
