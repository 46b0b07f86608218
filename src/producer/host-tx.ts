import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type postgres from 'postgres';
import type { Db } from '../db/client.ts';

/** A host application's own transaction: a drizzle transaction or a postgres.js `sql.begin` one. */
export type HostTransaction = Db | postgres.TransactionSql;

export type Run = (query: SQL) => Promise<Record<string, unknown>[]>;

const dialect = new PgDialect();

/** Runs drizzle SQL on either kind of transaction, so one insert path serves both. */
export function runnerFor(tx: HostTransaction): Run {
  if (typeof tx === 'function') {
    return async (query) => {
      const { sql: text, params } = dialect.sqlToQuery(query);
      return [...(await tx.unsafe(text, params as postgres.ParameterOrJSON<never>[]))];
    };
  }
  return async (query) => [...(await tx.execute(query))] as Record<string, unknown>[];
}
