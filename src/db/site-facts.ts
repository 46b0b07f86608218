import { asc } from 'drizzle-orm';
import type { Executor } from './jobs.ts';
import { vrSiteFacts } from './schema.ts';
import { proveSite } from './site-trust.ts';

/** The page after a Publish POST showed field errors, yet V&R stored the listing: that verdict is wrong. */
export const FIELD_ERRORS_BUT_STORED = 'publish.field_errors_but_stored';

/** Facts `check-site --round-trip` learns: `round_trip.indexingDelayMs`, `round_trip.feesStored`, ... */
export const ROUND_TRIP_FACT_PREFIX = 'round_trip.';
/** A round trip passed: one listing went the whole way (published, found, read back, deleted). */
export const SITE_PROVEN = 'site.proven_by_round_trip';

/** Records (or refreshes) one fact about the real site, with where it was seen. */
export async function recordSiteFact(
  db: Executor,
  key: string,
  fact: { value: unknown; evidence: string | null },
): Promise<void> {
  const row = { key, value: fact.value, evidence: fact.evidence, observedAt: new Date() };
  await db
    .insert(vrSiteFacts)
    .values(row)
    .onConflictDoUpdate({
      target: vrSiteFacts.key,
      set: { value: row.value, evidence: row.evidence, observedAt: row.observedAt },
    });
}

export interface SiteFactRow {
  key: string;
  value: unknown;
  evidence: string | null;
  observedAt: Date;
}

/** Every fact learnt, by key. */
export async function listSiteFacts(db: Executor): Promise<SiteFactRow[]> {
  return db.select().from(vrSiteFacts).orderBy(asc(vrSiteFacts.key));
}

/**
 * A passed round trip proves the site (probation ends, db/site-trust.ts), and says so as a fact.
 */
export async function siteProvenByRoundTrip(db: Executor, evidence: string): Promise<void> {
  await db.transaction(async (tx) => {
    await recordSiteFact(tx, SITE_PROVEN, { value: true, evidence });
    await proveSite(tx, `check-site --round-trip: ${evidence}`);
  });
}
