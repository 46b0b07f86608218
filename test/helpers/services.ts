import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { type Config, loadConfig } from '../../src/config.ts';
import { connectDatabase, type Database } from '../../src/db/client.ts';
import { MIGRATIONS_FOLDER, runMigrations } from '../../src/db/migrate.ts';
import { proveSite } from '../../src/db/site-trust.ts';
import { createProducer, type Producer } from '../../src/producer/producer.ts';
import { TEST_CHROMIUM_PATH } from './chromium.ts';

export const PG_ADMIN_URL =
  process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The account-wide listing defaults the tests run with (VR_DEFAULT_CATEGORY, VR_SHIPPING_FEES), so
 * that a test about something else can enqueue a listing without a category or shipping.
 */
export const TEST_LISTING_ENV = {
  VR_DEFAULT_CATEGORY: 'Guitars>Electric solid body',
  VR_SHIPPING_FEES: 'uk=75,europe=50,usa=100,world=150',
} as const;
export const TEST_LISTING_DEFAULTS = {
  category: TEST_LISTING_ENV.VR_DEFAULT_CATEGORY,
  shippingFees: { uk: 75, europe: 50, usa: 100, world: 150 },
};

export function randomName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A short hash of every file under drizzle/: the migrated template's name changes with them. */
export function migrationsKey(): string {
  const hash = createHash('sha256');
  (function walk(dir: string) {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else
        hash.update(relative(MIGRATIONS_FOLDER, path)).update('\0').update(readFileSync(path)).update('\0');
    }
  })(MIGRATIONS_FOLDER);
  return hash.digest('hex').slice(0, 16);
}

/** Held while the template is built or copied; advisory locks are per database, so on the admin one. */
const TEMPLATE_LOCK = 727_275;

/**
 * Creates `name` as a copy of a database migrated once (`vrl_tpl_<migrations key>`), instead of
 * migrating every test file's database from nothing. Without `name`, only makes sure the template
 * exists. The template is built under an advisory lock, so files running in parallel (and other
 * checkouts with other migrations, whose template has another name) build it once; it is migrated
 * under a temporary name and renamed when complete, so a run killed half-way leaves nothing
 * half-built behind. It takes no connections: a connection to it would stop it being copied.
 */
export async function createMigratedDatabase(pgAdminUrl: string, name?: string): Promise<void> {
  const template = `vrl_tpl_${migrationsKey()}`;
  const admin = postgres(pgAdminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin`select pg_advisory_lock(${TEMPLATE_LOCK})`;
    const [exists] = await admin`select 1 from pg_database where datname = ${template}`;
    if (!exists) {
      const building = `${template}_building`;
      await admin.unsafe(`drop database if exists "${building}" with (force)`);
      const url = new URL(pgAdminUrl);
      url.pathname = `/${building}`;
      await runMigrations(url.toString());
      await admin.unsafe(`alter database "${building}" rename to "${template}"`);
      await admin.unsafe(`alter database "${template}" with is_template true allow_connections false`);
    }
    if (name) await admin.unsafe(`create database "${name}" template "${template}"`);
  } finally {
    // Ending the session releases the lock too.
    await admin.end();
  }
}

export interface TestServices {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  /** ARTIFACTS_DIR in config() and env(): a temp dir removed by cleanup(), not ./artifacts. */
  artifactsDir: string;
  database: Database;
  redis: Redis;
  /** A config for this test file: fresh database, random queue prefix, fast timings. */
  config(overrides?: Record<string, string>): Config;
  env(overrides?: Record<string, string>): Record<string, string>;
  /** A producer on this file's database and queue prefix, closed by cleanup(). */
  producer(): Producer;
  cleanup(): Promise<void>;
}

/**
 * A fresh, migrated database (a copy of the template, see createMigratedDatabase) and a random queue prefix for one test file; on the shared services
 * unless the test brings its own (a private Redis to flush, a private Postgres to restart).
 */
export async function setupServices({
  pgAdminUrl = PG_ADMIN_URL,
  redisUrl = REDIS_URL,
  siteProven = true,
  readBack = false,
}: {
  pgAdminUrl?: string;
  redisUrl?: string;
  /**
   * The fresh database starts with the site proven (vr_site_trust), so that a test about something
   * else is not held to probation's one listing at a time. Tests of probation pass false: a fresh
   * install as a user gets it.
   */
  siteProven?: boolean;
  /**
   * Read-back after every flush (VERIFY_LISTINGS) is off unless a test is about it: a flow test
   * would otherwise wait on an edit page per listing it never checks. A test's own env overrides it.
   */
  readBack?: boolean;
} = {}): Promise<TestServices> {
  const dbName = randomName('vrl_test');
  const databaseUrl = new URL(pgAdminUrl);
  databaseUrl.pathname = `/${dbName}`;
  await createMigratedDatabase(pgAdminUrl, dbName);
  const database = connectDatabase(databaseUrl.toString(), { max: 4 });
  if (siteProven) await proveSite(database.db, 'test set-up (setupServices): not a test of probation');
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queuePrefix = randomName('vrlt');
  // A creation worker saves evidence there: in the tests, not in the working directory.
  const artifactsDir = await mkdtemp(join(tmpdir(), 'vrl-artifacts-'));
  const baseEnv = {
    DATABASE_URL: databaseUrl.toString(),
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: queuePrefix,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ARTIFACTS_DIR: artifactsDir,
    VERIFY_LISTINGS: readBack ? 'on' : 'off',
    CHROMIUM_PATH: TEST_CHROMIUM_PATH,
    ...TEST_LISTING_ENV,
  };
  const env = (overrides: Record<string, string> = {}) => ({ ...baseEnv, ...overrides });
  const producers: Producer[] = [];
  return {
    databaseUrl: databaseUrl.toString(),
    redisUrl,
    queuePrefix,
    artifactsDir,
    database,
    redis,
    env,
    config: (overrides = {}) => loadConfig(env(overrides)),
    producer() {
      const producer = createProducer({
        databaseUrl: databaseUrl.toString(),
        redisUrl,
        queuePrefix,
        createBackoffMs: 200,
        listingDefaults: TEST_LISTING_DEFAULTS,
      });
      producers.push(producer);
      return producer;
    },
    async cleanup() {
      // Each step in a finally: one that fails (Redis gone, say) leaves none of the others undone.
      try {
        await Promise.allSettled(producers.map((p) => p.close()));
        await database.close();
        await deleteKeys(redis, `${queuePrefix}:*`);
      } finally {
        redis.disconnect();
        await rm(artifactsDir, { recursive: true, force: true });
        const admin = postgres(pgAdminUrl, { max: 1, onnotice: () => {} });
        try {
          await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
        } finally {
          await admin.end();
        }
      }
    },
  };
}

export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

/**
 * Polls until `check` returns a truthy value; fails with `what` after `timeoutMs` (not a timing
 * assert), and with what `explain` says then (the processes' last log lines, say): CI keeps only
 * the failure's message.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T> | T,
  timeoutMs = 60_000,
  explain?: () => string,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const why = last ? `: ${(last as Error).message}` : '';
      throw new Error(`timed out waiting for ${what}${why}${explain ? `\n${explain()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
