/**
 * Matching pending jobs to rows of the V&R export: pure, streaming (`offer` each row once, then
 * `finish`), and conservative. A job gets an id only when the evidence leaves no doubt; otherwise it
 * is ambiguous (a person must look), a duplicate (the item is on V&R twice), or unmatched (it waits
 * for the next export, since V&R indexes new listings with a delay).
 *
 * Rules (docs/matching.md says why each pairing they make can't be wrong):
 * 1. A row is a candidate for a job only if its product_id is above the job's lastKnownId, it is not
 *    already linked to a product, and its brand key equals the job's.
 * 2. Marker on: only rows whose description carries the job's own ref; one → matched, several →
 *    duplicates. A row carrying some marker is no candidate for a marker-off job (unless its
 *    description is exactly the one that job submitted, marker text included).
 * 3. Marker off: tiers of evidence (description, model, price), ranked within a tier by how many of
 *    year and finish are as submitted; year, finish or price that disagree disqualify; a model
 *    similarity under 0.85 disqualifies; only a job's best rank counts.
 * 4. One-to-one: jobs with identical criteria form a group. Its best-rank rows pair with its jobs
 *    (submission order ↔ product_id order) only when every job of the group is certainly in this
 *    export (its submit is known to have landed, at least the indexing allowance before the export
 *    was requested) and there are exactly as many rows as jobs. Then the rows are ours and no
 *    stranger's: ours are all there, at the best rank, and there is no room for another.
 * 5. Any doubt: ambiguous or unmatched, never a match.
 */
import type { MatchCriteria } from '../db/schema.ts';
import {
  bigrams,
  brandKey,
  createMarkerExtractor,
  DEFAULT_MARKER_TEMPLATE,
  descriptionHash,
  diceOfBigrams,
  finishKey,
  htmlToText,
  isRefChar,
  modelKey,
} from '../listing/normalize.ts';
import type { ExportRow } from './export-stream.ts';

export interface PendingJob {
  id: number;
  /** When Publish answered (for an unknown outcome: when we gave up waiting). */
  submittedAt: Date;
  /** When Publish was clicked; with submittedAt, the window in which V&R gave the listing its id. */
  submitStartedAt?: Date | null;
  /** The submit may never have reached V&R: its listing can't be counted on being in any export. */
  submitOutcomeUnknown?: boolean;
  criteria: MatchCriteria;
  resolutionAttempts: number;
}

/**
 * Whether a listing submitted at `submittedAt` is certainly in an export requested at
 * `exportRequestedAt`: V&R shows a new listing in the export within the indexing allowance
 * (FLUSH_SETTLE_MS). The one rule for "could this export hold it", used by the matcher (may a group
 * be paired by count?) and by planResolution (does this export use up one of the job's tries?).
 */
export function inExportBy(submittedAt: Date | null, exportRequestedAt: Date, allowanceMs: number): boolean {
  return submittedAt !== null && submittedAt.getTime() <= exportRequestedAt.getTime() - allowanceMs;
}

export interface MatchOutcome {
  matched: Array<{ jobId: number; vrListingId: number; evidence: string }>;
  /** Candidates the evidence can't tell apart (or a row wanted by two groups): needs a person. */
  ambiguous: Array<{ jobId: number; candidates: number[] }>;
  /** A marker found on several rows: the item is on V&R more than once. */
  duplicates: Array<{ jobId: number; vrListingIds: number[] }>;
  /** Nothing certain yet: the job waits for the next export. */
  unmatched: number[];
  /**
   * Of the unmatched, the jobs whose look-alikes are in this export, too few to pair (one of them
   * may be theirs): their absence is not proven. Left out when none.
   */
  lookAlikesSeen?: number[];
}

export interface MatcherOptions {
  jobs: readonly PendingJob[];
  /** V&R ids already linked to a product: never candidates. */
  linkedIds: ReadonlySet<number>;
  markerTemplate?: string;
  /** When the export was requested: listings submitted later, or just before, may be missing from it. */
  exportRequestedAt: Date;
  /** How long V&R may take to show a new listing in the export (FLUSH_SETTLE_MS). */
  indexingAllowanceMs: number;
  /** Called once for every row that became a candidate of some job (to keep what a person needs to see). */
  onCandidate?: (row: ExportRow) => void;
}

export interface Matcher {
  offer(row: ExportRow): void;
  finish(): MatchOutcome;
}

/** Minimum model similarity for a row whose model key differs from the job's. */
export const MODEL_SIMILARITY_THRESHOLD = 0.85;

/** Evidence tiers, strongest first. */
export const TIER = {
  marker: 4,
  /** Description and model equal. */
  A: 3,
  /** Description equal, or model and price equal. */
  B: 2,
  /** Similar model and equal price. */
  C: 1,
} as const;

type Evidence = 'marker' | 'description+model' | 'description' | 'model+price' | 'fuzzy-model+price';

/** Evidence rank: the tier, then how many of year and finish agree (0..2) within it. */
const rank = (tier: number, agreement: number) => tier * 4 + agreement;
const MARKER_RANK = rank(TIER.marker, 2);

interface Candidate {
  id: number;
  /** `rank(tier, agreement)`: higher is stronger. */
  tier: number;
  evidence: Evidence;
}

interface JobRef {
  job: PendingJob;
  order: number;
}

interface Group {
  kind: 'marker' | 'plain';
  /** Jobs in submission order (submittedAt, then id). */
  jobs: JobRef[];
  minLastKnownId: number;
  candidates: Candidate[];
  // Marker groups (always one job):
  ref?: string;
  /** Marker text to look for literally when it can't be parsed with the current template. */
  literalMarker?: string;
  // Plain groups:
  modelKey: string;
  modelBigrams: number[];
  descriptionHash: string | null;
  year: number | null;
  finishKey: string | null;
  price: number;
}

interface BrandBucket {
  minLastKnownId: number;
  markerByRef: Map<string, Group[]>;
  literalMarkers: Group[];
  plain: Group[];
}

const byCandidateId = (a: Candidate, b: Candidate) => a.id - b.id;

function compareJobs(a: PendingJob, b: PendingJob): number {
  return a.submittedAt.getTime() - b.submittedAt.getTime() || a.id - b.id;
}

/** Where `marker` occurs in `text` as a whole token (not followed by another ref character). */
function containsMarker(text: string, marker: string): boolean {
  let from = 0;
  while (true) {
    const at = text.indexOf(marker, from);
    if (at < 0) return false;
    const next = text[at + marker.length];
    const prev = at > 0 ? text[at - 1] : undefined;
    const clearBefore = prev === undefined || !/[A-Za-z0-9]/.test(prev) || !/^[A-Za-z0-9]/.test(marker);
    if ((next === undefined || !isRefChar(next)) && clearBefore) return true;
    from = at + 1;
  }
}

/**
 * The highest product_id that can't be a candidate for any of `jobs`: every candidate's id is above
 * its job's lastKnownId (rule 1; `offer` returns before anything else for such a row), so rows at or
 * below the smallest lastKnownId can be skipped unread. No jobs: no row can be a candidate.
 */
export function candidateFloor(jobs: readonly PendingJob[]): number {
  let floor = Number.MAX_SAFE_INTEGER;
  for (const job of jobs) floor = Math.min(floor, job.criteria.lastKnownId);
  return floor;
}

export function createMatcher(options: MatcherOptions): Matcher {
  const template = options.markerTemplate ?? DEFAULT_MARKER_TEMPLATE;
  const extractRefs = createMarkerExtractor(template);
  const linkedIds = options.linkedIds;

  const buckets = new Map<string, BrandBucket>();
  const groups: Group[] = [];
  const plainByKey = new Map<string, Group>();

  const sortedJobs = [...options.jobs].sort(compareJobs);
  sortedJobs.forEach((job, order) => {
    const c = job.criteria;
    // Keys are normalised again: idempotent for keys made by this module, a safety net for others.
    const bKey = brandKey(c.brandKey);
    let bucket = buckets.get(bKey);
    if (bucket === undefined) {
      bucket = { minLastKnownId: c.lastKnownId, markerByRef: new Map(), literalMarkers: [], plain: [] };
      buckets.set(bKey, bucket);
    }
    bucket.minLastKnownId = Math.min(bucket.minLastKnownId, c.lastKnownId);
    const mKey = modelKey(c.modelKey);
    const base = {
      jobs: [{ job, order }],
      minLastKnownId: c.lastKnownId,
      candidates: [],
      modelKey: mKey,
      modelBigrams: bigrams(mKey),
      descriptionHash: c.descriptionHash,
      year: c.year,
      finishKey: finishKey(c.finishKey),
      price: c.price,
    };
    if (c.marker !== null) {
      const refs = extractRefs(c.marker);
      const group: Group = { ...base, kind: 'marker' };
      if (refs.length === 1 && refs[0] !== undefined) {
        group.ref = refs[0];
        const list = bucket.markerByRef.get(refs[0]);
        if (list) list.push(group);
        else bucket.markerByRef.set(refs[0], [group]);
      } else {
        // Written with another template: look for the marker text itself.
        group.literalMarker = htmlToText(c.marker);
        bucket.literalMarkers.push(group);
      }
      groups.push(group);
      return;
    }
    const key = JSON.stringify([bKey, mKey, c.descriptionHash, c.year, base.finishKey, c.price]);
    const existing = plainByKey.get(key);
    if (existing) {
      existing.jobs.push({ job, order });
      existing.minLastKnownId = Math.min(existing.minLastKnownId, c.lastKnownId);
      return;
    }
    const group: Group = { ...base, kind: 'plain' };
    plainByKey.set(key, group);
    bucket.plain.push(group);
    groups.push(group);
  });

  // Brand names repeat a lot in an export: normalise each spelling once.
  const brandKeys = new Map<string, string>();
  let finished = false;

  // Candidates added so far: a row that adds one is reported to onCandidate.
  let added = 0;
  function offer(row: ExportRow): void {
    const before = added;
    offerRow(row);
    if (added !== before) options.onCandidate?.(row);
  }

  function offerRow(row: ExportRow): void {
    if (finished) throw new Error('matcher: offer() after finish()');
    let bKey = brandKeys.get(row.brandName);
    if (bKey === undefined) {
      bKey = brandKey(row.brandName);
      brandKeys.set(row.brandName, bKey);
    }
    const bucket = buckets.get(bKey);
    if (bucket === undefined) return;
    const id = row.productId;
    if (id <= bucket.minLastKnownId || linkedIds.has(id)) return;

    // Markers. The extractor probes the raw description before decoding it, so rows without any
    // marker cost one `includes`; and it runs only when some job of this brand needs it.
    let refs: string[] | undefined;
    let literalFound = false;
    if (bucket.markerByRef.size > 0) {
      refs = extractRefs(row.description);
      for (const ref of refs) {
        for (const group of bucket.markerByRef.get(ref) ?? []) {
          if (id > group.minLastKnownId && !group.candidates.some((c) => c.id === id)) {
            group.candidates.push({ id, tier: MARKER_RANK, evidence: 'marker' });
            added++;
          }
        }
      }
    }
    if (bucket.literalMarkers.length > 0) {
      const text = htmlToText(row.description);
      for (const group of bucket.literalMarkers) {
        if (group.literalMarker && containsMarker(text, group.literalMarker)) {
          literalFound = true;
          if (id > group.minLastKnownId) {
            group.candidates.push({ id, tier: MARKER_RANK, evidence: 'marker' });
            added++;
          }
        }
      }
    }

    if (bucket.plain.length === 0) return;
    const rowModel = modelKey(row.modelName);
    let rowBigrams: number[] | undefined;
    let rowFinish: string | null | undefined;
    let rowHash: string | null | undefined;
    for (const group of bucket.plain) {
      if (id <= group.minLastKnownId) continue;
      // Contradictions first: they are cheap and disqualify whatever else agrees.
      if (group.year !== null && row.year !== null && group.year !== row.year) continue;
      if (row.price !== null && Math.abs(row.price - group.price) > 1) continue;
      if (rowFinish === undefined) rowFinish = finishKey(row.finish);
      if (group.finishKey !== null && rowFinish !== null && rowFinish !== group.finishKey) continue;
      const modelEqual = rowModel === group.modelKey;
      if (!modelEqual) {
        rowBigrams ??= bigrams(rowModel);
        const n = rowBigrams.length + group.modelBigrams.length;
        // Dice can't exceed 2·min/(n+m): skip the merge when the lengths alone rule it out.
        const bound = n === 0 ? 0 : (2 * Math.min(rowBigrams.length, group.modelBigrams.length)) / n;
        if (bound < MODEL_SIMILARITY_THRESHOLD) continue;
        if (diceOfBigrams(rowBigrams, group.modelBigrams) < MODEL_SIMILARITY_THRESHOLD) continue;
      }
      let descriptionEqual = false;
      if (group.descriptionHash !== null) {
        if (rowHash === undefined) rowHash = descriptionHash(row.description);
        descriptionEqual = rowHash === group.descriptionHash;
      }
      // A row with a marker belongs to a marker-on listing, not to a marker-off job, unless the
      // description is exactly the one this job submitted (its own text then carries that marker).
      if (!descriptionEqual) {
        refs ??= extractRefs(row.description);
        if (refs.length > 0 || literalFound) continue;
      }
      const priceEqual = row.price !== null && row.price === group.price;
      let tier = 0;
      let evidence: Evidence = 'description+model';
      if (descriptionEqual && modelEqual) tier = TIER.A;
      else if (descriptionEqual) [tier, evidence] = [TIER.B, 'description'];
      else if (modelEqual && priceEqual) [tier, evidence] = [TIER.B, 'model+price'];
      else if (priceEqual) [tier, evidence] = [TIER.C, 'fuzzy-model+price'];
      if (tier === 0) continue;
      // Within a tier, a row whose year and finish are as submitted (both given and equal, or both
      // absent) beats one that lacks what we sent or carries what we didn't: V&R keeps fields as sent.
      const agreement = Number(group.year === row.year) + Number(group.finishKey === rowFinish);
      group.candidates.push({ id, tier: rank(tier, agreement), evidence });
      added++;
    }
  }

  function finish(): MatchOutcome {
    finished = true;
    const outcome: MatchOutcome = { matched: [], ambiguous: [], duplicates: [], unmatched: [] };

    // Each group's best tier and the rows at that tier (all of them; rows below never count).
    const best = new Map<Group, { tier: number; rows: Candidate[] }>();
    for (const group of groups) {
      let tier = 0;
      for (const c of group.candidates) if (c.tier > tier) tier = c.tier;
      const rows = group.candidates.filter((c) => c.tier === tier).sort(byCandidateId);
      best.set(group, { tier, rows });
    }

    // A row that is the best candidate of two groups at the same tier: neither group can have it.
    const claims = new Map<string, Group[]>();
    for (const group of groups) {
      const b = best.get(group)!;
      for (const c of b.rows) {
        const key = `${c.id}:${b.tier}`;
        const list = claims.get(key);
        if (list) list.push(group);
        else claims.set(key, [group]);
      }
    }
    const contested = new Set<Group>();
    for (const list of claims.values()) if (list.length > 1) for (const g of list) contested.add(g);

    // Strongest evidence first, then earliest submission.
    const order = [...groups].sort((a, b) => {
      const ta = best.get(a)!.tier;
      const tb = best.get(b)!.tier;
      return tb - ta || (a.jobs[0]?.order ?? 0) - (b.jobs[0]?.order ?? 0);
    });

    // Rows given to a group, and rows a group stood on without being paired (it waits or is in
    // doubt): a later group may ignore the first (they are another job's), not the second.
    const matchedRows = new Set<number>();
    const reservedRows = new Set<number>();
    const ambiguous = (group: Group, ids: number[]) => {
      for (const { job } of group.jobs) outcome.ambiguous.push({ jobId: job.id, candidates: ids });
    };
    const unmatched = (group: Group) => {
      for (const { job } of group.jobs) outcome.unmatched.push(job.id);
    };
    const certainlyInExport = (job: PendingJob) =>
      !job.submitOutcomeUnknown &&
      inExportBy(job.submittedAt, options.exportRequestedAt, options.indexingAllowanceMs);

    for (const group of order) {
      const b = best.get(group)!;
      const allIds = b.rows.map((c) => c.id);
      const standsOnReserved = allIds.some((id) => reservedRows.has(id) && !matchedRows.has(id));
      const rows = b.rows.filter((c) => !matchedRows.has(c.id));
      const pair = (ids: Candidate[]) =>
        group.jobs.forEach(({ job }, i) => {
          const row = ids[i]!;
          matchedRows.add(row.id);
          outcome.matched.push({ jobId: job.id, vrListingId: row.id, evidence: row.evidence });
        });
      // Whatever happens, these rows are not given to a weaker group afterwards.
      for (const id of allIds) reservedRows.add(id);

      if (contested.has(group)) {
        ambiguous(group, allIds);
        continue;
      }
      if (group.kind === 'marker') {
        const job = group.jobs[0]!.job;
        if (b.rows.length === 0) outcome.unmatched.push(job.id);
        else if (b.rows.length > 1) outcome.duplicates.push({ jobId: job.id, vrListingIds: allIds });
        else if (rows.length === 1 && !standsOnReserved) pair(rows);
        else ambiguous(group, allIds);
        continue;
      }
      if (rows.length < group.jobs.length && !standsOnReserved) {
        // Fewer rows than jobs: can't tell which listing is still missing from the export; wait.
        unmatched(group);
        if (rows.length) {
          outcome.lookAlikesSeen = [
            ...(outcome.lookAlikesSeen ?? []),
            ...group.jobs.map(({ job }) => job.id),
          ];
        }
        continue;
      }
      // Pairing by count is sound only when all of ours are in this export: else a stranger's
      // look-alike can fill the place of one not indexed yet (or never submitted). Wait for an export
      // that holds them all; the jobs that could be in this one use up a try.
      const allInExport = group.jobs.every(({ job }) => certainlyInExport(job));
      // Ids follow Publish clicks: submission order is id order only when no two submits overlap.
      const inOrder = group.jobs.every(({ job }, i) => {
        const next = group.jobs[i + 1]?.job;
        return !next?.submitStartedAt || job.submittedAt.getTime() <= next.submitStartedAt.getTime();
      });
      if (
        !allInExport ||
        standsOnReserved ||
        rows.length !== group.jobs.length ||
        !inOrder ||
        !group.jobs.every(({ job }, i) => rows[i]!.id > job.criteria.lastKnownId)
      ) {
        ambiguous(
          group,
          rows.map((c) => c.id),
        );
        continue;
      }
      pair(rows);
    }

    const byJob = (a: { jobId: number }, b: { jobId: number }) => a.jobId - b.jobId;
    outcome.matched.sort(byJob);
    outcome.ambiguous.sort(byJob);
    outcome.duplicates.sort(byJob);
    outcome.unmatched.sort((a, b) => a - b);
    return outcome;
  }

  return { offer, finish };
}

/** One line for logs: `matched 3, ambiguous 1, duplicates 0, unmatched 2`. */
export function summarizeOutcome(o: MatchOutcome): string {
  return `matched ${o.matched.length}, ambiguous ${o.ambiguous.length}, duplicates ${o.duplicates.length}, unmatched ${o.unmatched.length}`;
}
