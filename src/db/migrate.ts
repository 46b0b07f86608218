import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { connectDatabase } from './client.ts';

// src/db → ../../drizzle, and dist/db → ../../drizzle: the same path from source and build.
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Creates the database named in the URL when it doesn't exist (a fresh machine's first run). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) return false;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const [exists] = await sql`select 1 from pg_database where datname = ${name}`;
    if (exists) return false;
    try {
      await sql.unsafe(`create database "${name.replaceAll('"', '""')}"`);
    } catch (error) {
      // 42P04: another process created it first.
      if ((error as { code?: string }).code !== '42P04') throw error;
      return false;
    }
    return true;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Applies drizzle/ migrations; an advisory lock lets several processes call it at once. */
export async function runMigrations(url: string): Promise<void> {
  await ensureDatabase(url);
  const database = connectDatabase(url, { max: 1 });
  try {
    await database.sql`select pg_advisory_lock(727274)`;
    await migrate(database.db, { migrationsFolder: MIGRATIONS_FOLDER });
    await database.sql`select pg_advisory_unlock(727274)`;
  } finally {
    await database.close();
  }
}
