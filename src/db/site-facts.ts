import type { Executor } from './jobs.ts';
import { vrSiteFacts } from './schema.ts';

/** The page after a Publish POST showed field errors, yet V&R stored the listing: that verdict is wrong. */
export const FIELD_ERRORS_BUT_STORED = 'publish.field_errors_but_stored';

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
