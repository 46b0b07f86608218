import { asc, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/client.ts';
import { REVIEW_KINDS, type ReviewKind, type VrJob, vrJobs } from '../db/schema.ts';
import type { ApiContext } from './context.ts';

/** The most jobs one review answer holds, oldest first (a person works through them in order). */
export const REVIEW_LIMIT = 500;

/** One V&R listing the job may be: what the export showed of it, and where to see it. */
export interface ReviewCandidate {
  vrListingId: number;
  brand: string | null;
  model: string | null;
  price: number | null;
  year: number | null;
  /** When the export that showed it was requested (V&R's export has no creation date): it existed by then. */
  created: string | null;
  /** `<VR_BASE_URL>/product/<id>`; null when the V&R address is not known here. */
  url: string | null;
}

/** A job in needs_review as a person decides it. */
export interface ReviewItem {
  id: number;
  productRef: string;
  /** For code: why it is in review (`other` for a job sent there before kinds were recorded). */
  kind: ReviewKind | 'other';
  /** For a person: why it is in review, and what to do. */
  reason: string;
  since: string;
  submittedAt: string | null;
  submitOutcomeUnknown: boolean;
  /** What we asked V&R to list. */
  asked: { brand: string; model: string; price: number; year: number | null; category: string | null };
  candidates: ReviewCandidate[];
  /** Evidence saved when a creation step met a page it didn't expect. */
  evidence: { name: string; step: string; at: string; url: string }[];
  /** The two decisions, as commands. */
  actions: { link: string; resubmit: string };
}

/** The reason of a job in review that has no words of its own. */
const REASONS: Record<ReviewKind | 'other', string> = {
  ambiguous: 'more than one V&R listing could be this one',
  duplicate: 'the item is on V&R more than once',
  stale: 'pending too long without being found in the V&R export',
  unknown_not_found: 'the Publish was sent, its outcome is unknown, and no export shows the listing',
  other: 'a person must look',
};

/** The product page of a V&R listing. */
export const productUrl = (baseUrl: string | undefined, id: number) =>
  baseUrl ? `${baseUrl.replace(/\/+$/, '')}/product/${id}` : null;

/** A needs_review row as a person sees it; `baseUrl` is VR_BASE_URL, for the candidates' links. */
export function reviewItem(row: VrJob, baseUrl: string | undefined): ReviewItem {
  const { payload } = row;
  const kind = payload.reviewKind && REVIEW_KINDS.includes(payload.reviewKind) ? payload.reviewKind : 'other';
  const details = new Map((payload.candidateDetails ?? []).map((detail) => [detail.id, detail]));
  const listing = payload.listing;
  return {
    id: row.id,
    productRef: row.productRef,
    kind,
    // The job's own words say it best (which candidates, which exports, what to run).
    reason: row.error ?? REASONS[kind],
    since: row.updatedAt.toISOString(),
    submittedAt: row.submittedAt?.toISOString() ?? null,
    submitOutcomeUnknown: row.submitOutcomeUnknown,
    asked: {
      brand: listing.brand,
      model: listing.model,
      price: listing.price,
      year: listing.year ?? null,
      category: listing.category ?? null,
    },
    candidates: (payload.candidates ?? []).map((id) => {
      const detail = details.get(id);
      return {
        vrListingId: id,
        brand: detail?.brand ?? null,
        model: detail?.model ?? null,
        price: detail?.price ?? null,
        year: detail?.year ?? null,
        created: detail?.seenAt ?? null,
        url: productUrl(baseUrl, id),
      };
    }),
    evidence: (row.artifacts ?? []).map((artifact) => ({
      ...artifact,
      url: `/api/vr/jobs/${row.id}/artifacts/${encodeURIComponent(artifact.name)}`,
    })),
    actions: { link: `vr-lister link ${row.id} VR_ID`, resubmit: `vr-lister retry ${row.id} --resubmit` },
  };
}

/** Every job in needs_review (up to REVIEW_LIMIT), oldest first. */
export async function listReview(db: Db, baseUrl: string | undefined): Promise<ReviewItem[]> {
  const rows = await db
    .select()
    .from(vrJobs)
    .where(eq(vrJobs.status, 'needs_review'))
    .orderBy(asc(vrJobs.id))
    .limit(REVIEW_LIMIT);
  return rows.map((row) => reviewItem(row, baseUrl));
}

/** `GET /api/vr/review`: the jobs a person must decide, with their candidates and evidence. */
export function registerReviewRoute(app: FastifyInstance, ctx: ApiContext, baseUrl: string): void {
  app.get('/api/vr/review', async () => ({ jobs: await listReview(ctx.database.db, baseUrl) }));
}
