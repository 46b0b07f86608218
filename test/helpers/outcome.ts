import assert from 'node:assert/strict';
import type postgres from 'postgres';
import { waitFor } from './services.ts';

/** A listing as `GET /__sim/state?source=form` shows it (the fields the checks need). */
export interface SimFormListing {
  product_id: number;
  product_description: string;
}

/** The simulator's listings created through the form, read over HTTP like an outside test would. */
export async function fetchFormListings(simUrl: string): Promise<SimFormListing[]> {
  const response = await fetch(`${simUrl}/__sim/state?source=form`);
  if (!response.ok) throw new Error(`GET /__sim/state answered HTTP ${response.status}`);
  return ((await response.json()) as { listings: SimFormListing[] }).listings;
}

/** The listings carrying this product's reference marker (the default `Ref: {ref}` template). */
export function listingsFor(listings: SimFormListing[], productRef: string): SimFormListing[] {
  return listings.filter((l) => l.product_description.includes(`Ref: ${productRef}<`));
}

export interface Outcome {
  /** Products whose every job row is `completed` with the id of their one listing on V&R. */
  ok: string[];
  /** Products on V&R more than once. */
  duplicates: string[];
  /** Products whose completed job carries an id that is not their listing's. */
  wrongIds: string[];
  /** Products not on V&R, or whose job is not `completed` (still pending, failed, in review). */
  lost: string[];
  /** One line per problem, for the failure message. */
  problems: string[];
}

export interface JobRow {
  product_ref: string;
  status: string;
  vr_listing_id: string | null;
  error: string | null;
}

/**
 * Checks the end state of a run against the simulator: each product on V&R exactly once, its job
 * `completed` with that listing's id, and no job left anywhere else.
 */
export async function checkOutcome(sql: postgres.Sql, simUrl: string, refs: string[]): Promise<Outcome> {
  const rows = await sql<JobRow[]>`
    select product_ref, status, vr_listing_id::text, error from vr_jobs order by id`;
  return compareOutcome(await fetchFormListings(simUrl), rows, refs);
}

/** checkOutcome on rows read some other way (`vr-lister jobs --json`). */
export function compareOutcome(listings: SimFormListing[], rows: JobRow[], refs: string[]): Outcome {
  const outcome: Outcome = { ok: [], duplicates: [], wrongIds: [], lost: [], problems: [] };
  for (const ref of refs) {
    const onVr = listingsFor(listings, ref);
    const jobs = rows.filter((r) => r.product_ref === ref);
    if (onVr.length > 1) {
      outcome.duplicates.push(ref);
      outcome.problems.push(
        `${ref}: on V&R ${onVr.length} times (${onVr.map((l) => l.product_id).join(', ')})`,
      );
      continue;
    }
    const job = jobs.length === 1 ? jobs[0] : undefined;
    if (job?.status !== 'completed' || onVr.length === 0) {
      outcome.lost.push(ref);
      outcome.problems.push(
        `${ref}: ${onVr.length} listing(s) on V&R, jobs ${jobs.map((j) => `${j.status}${j.error ? ` (${j.error})` : ''}`).join(', ') || 'none'}`,
      );
      continue;
    }
    if (Number(job.vr_listing_id) !== onVr[0]!.product_id) {
      outcome.wrongIds.push(ref);
      outcome.problems.push(`${ref}: job has id ${job.vr_listing_id}, its listing is ${onVr[0]!.product_id}`);
      continue;
    }
    outcome.ok.push(ref);
  }
  const extra = rows.filter((r) => !refs.includes(r.product_ref));
  for (const row of extra) outcome.problems.push(`unexpected job for ${row.product_ref} (${row.status})`);
  return outcome;
}

/**
 * Waits until the product's job is `completed`, then checks it is on V&R exactly once and carries
 * that listing's id.
 */
export async function waitListedOnce(sql: postgres.Sql, simUrl: string, productRef: string): Promise<void> {
  const job = await waitFor(
    `${productRef} resolved`,
    async () => {
      const [row] = await sql<{ status: string; vr_listing_id: number | null }[]>`
        select status, vr_listing_id::int from vr_jobs where product_ref = ${productRef}`;
      return row?.status === 'completed' ? row : undefined;
    },
    120_000,
  );
  const onVr = listingsFor(await fetchFormListings(simUrl), productRef);
  assert.equal(onVr.length, 1, `${productRef} on V&R once`);
  assert.equal(job.vr_listing_id, onVr[0]!.product_id, `${productRef} has its listing's id`);
}
