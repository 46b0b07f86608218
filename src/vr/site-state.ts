import type { Redis } from 'ioredis';
import type { Executor } from '../db/jobs.ts';
import { readSiteTrust, type SiteTrust } from '../db/site-trust.ts';
import { PERSON_NEEDED, type PersonNeeded } from './errors.ts';

/** `suspect`: the circuit breaker paused creation (Postgres, db/site-trust.ts) until `vr-lister resume`. */
export type SiteState = 'ok' | PersonNeeded | 'suspect';
export const SITE_STATES = [
  'ok',
  'blocked',
  'login_refused',
  'session_key',
  'chromium_sandbox',
  'suspect',
] as const satisfies readonly SiteState[];

/** V&R's state as the workers last saw it, shared through Redis with status, watch, /metrics and the API. */
export interface SiteStateRecord {
  state: SiteState;
  /** What to tell a person: what happened and what to run. */
  message: string;
  since: string;
}

const OK: SiteStateRecord = { state: 'ok', message: 'V&R answers and we are logged in', since: '' };

function key(prefix: string): string {
  return `${prefix}:vr-site-state`;
}

/** The line status and watch show for a state. */
export function siteStateLine(record: SiteStateRecord): string {
  if (record.state === 'blocked') return PERSON_NEEDED;
  return record.message;
}

export async function writeSiteState(
  redis: Redis,
  prefix: string,
  state: SiteState,
  message: string,
): Promise<void> {
  const record: SiteStateRecord = { state, message, since: new Date().toISOString() };
  await redis.set(key(prefix), JSON.stringify(record));
}

/** `ok` when nothing was written (no worker has met a problem yet). */
export async function readSiteState(redis: Redis, prefix: string): Promise<SiteStateRecord> {
  const text = await redis.get(key(prefix));
  if (!text) return OK;
  try {
    const record = JSON.parse(text) as SiteStateRecord;
    return SITE_STATES.includes(record.state) ? record : OK;
  } catch {
    return OK;
  }
}

/** The breaker's pause as a state to show, or undefined when creation is not paused. */
export function pausedSiteState(trust: SiteTrust): SiteStateRecord | undefined {
  if (!trust.pausedAt) return undefined;
  return {
    state: 'suspect',
    message: trust.pauseReason ?? 'creation is paused: run `vr-lister resume`',
    since: trust.pausedAt.toISOString(),
  };
}

/**
 * What status, watch, the API and /metrics show: the breaker's pause (kept in Postgres) before what
 * the workers wrote to Redis. `fromRedis` is the caller's read of Redis, null when it did not answer;
 * null back only when neither says anything.
 */
export async function siteStateWithBreaker(
  db: Executor,
  fromRedis: Promise<SiteStateRecord | null>,
): Promise<SiteStateRecord | null> {
  const [trust, record] = await Promise.all([
    // Postgres not answering: the workers' own state is still worth showing.
    readSiteTrust(db).catch(() => null),
    fromRedis,
  ]);
  return (trust && pausedSiteState(trust)) ?? record;
}
