import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema.ts';

export type Db = PostgresJsDatabase<typeof schema>;
export type Sql = postgres.Sql;

export interface Database {
  db: Db;
  sql: Sql;
  close(): Promise<void>;
}

export function connectDatabase(url: string, { max = 5 }: { max?: number } = {}): Database {
  const sql = postgres(url, { max, onnotice: () => {}, connect_timeout: 10 });
  const db = drizzle(sql, { schema });
  let closing: Promise<void> | undefined;
  return {
    db,
    sql,
    close: () => {
      closing ??= sql.end({ timeout: 5 });
      return closing;
    },
  };
}
