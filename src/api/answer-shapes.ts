/** The shapes of the API's answers and requests, shared by the routes' documentation (route-docs.ts). */
import { z } from 'zod';
import { DELIVERY_STATUSES, JOB_STATUSES, REVIEW_KINDS, WEBHOOK_EVENTS } from '../db/schema.ts';
import { LIMITS, listingSchema } from '../listing/listing.ts';
import { CHANGED_FIELDS } from '../resolution/reconcile.ts';

export const fieldError = z.object({
  index: z.number().int().optional().describe('position in a bulk call'),
  field: z.string(),
  message: z.string(),
});
export const invalidAnswer = z
  .object({ error: z.string(), errors: z.array(fieldError), moreErrors: z.number().int().optional() })
  .describe('the request named a bad field: which, and why; nothing was written');
export const message = (description: string) =>
  z.object({ error: z.string(), message: z.string() }).describe(description);
export const badRequest = z
  .object({ error: z.literal('bad request'), code: z.string().optional(), message: z.string() })
  .describe('not JSON, or not sent as application/json');
export const notFound = z.object({ error: z.string(), id: z.number().int() }).describe('no such id');

export const isoTime = z.string().describe('ISO 8601');
export const jobStatus = z.enum(JOB_STATUSES);

export const verificationSchema = z.object({
  status: z
    .enum(['ok', 'mismatch', 'pending', 'skipped'])
    .describe('pending: not read yet; skipped: VERIFY_LISTINGS=off; mismatch: V&R stored other than asked'),
  differences: z
    .array(
      z.object({
        field: z
          .string()
          .describe(
            'category, price, brand, model, year, shipping.fees.<region>, shipping.localPickup, processingTime, photos, description.marker, listing',
          ),
        asked: z.unknown(),
        found: z.unknown(),
      }),
    )
    .describe('each field V&R stored other than asked'),
  checkedAt: isoTime.nullable().describe('when the edit page was read'),
  detail: z.string().optional(),
});

export const jobViewSchema = z.object({
  id: z.number().int(),
  productRef: z.string(),
  status: jobStatus,
  vrListingId: z.string().nullable().describe("V&R's id, once known (a string: ids are 64-bit)"),
  attempts: z.number().int(),
  resolutionAttempts: z.number().int(),
  submittedAt: isoTime.nullable(),
  error: z.string().nullable(),
  artifacts: z
    .array(z.object({ name: z.string(), step: z.string(), at: isoTime }))
    .optional()
    .describe('evidence saved when a creation step met a page it did not expect (GET .../artifacts/:name)'),
  verification: verificationSchema
    .nullable()
    .optional()
    .describe(
      'the read-back of the listing from its V&R edit page once its id is known (null before, or when there is nothing to verify)',
    ),
});
export const enqueuedJob = jobViewSchema.extend({
  created: z.boolean().describe('false: an active job for the product already existed and is returned'),
});
export const jobDetailSchema = z.looseObject({
  ...jobViewSchema.shape,
  generation: z.number().int(),
  submitStartedAt: isoTime.nullable(),
  submitOutcomeUnknown: z.boolean(),
  createdAt: isoTime,
  updatedAt: isoTime,
  completedAt: isoTime.nullable(),
  candidates: z.array(z.number().int()).describe('V&R ids a person must choose between (needs_review)'),
  listing: z.looseObject({ productRef: z.string() }).describe('the listing as validated and stored'),
});
export const reviewItemSchema = z.object({
  id: z.number().int(),
  productRef: z.string(),
  kind: z.enum([...REVIEW_KINDS, 'other']).describe('why it is in review, for code'),
  reason: z.string().describe('why it is in review, for a person, with what to do'),
  since: isoTime,
  submittedAt: isoTime.nullable(),
  submitOutcomeUnknown: z.boolean(),
  asked: z
    .object({
      brand: z.string(),
      model: z.string(),
      price: z.number(),
      year: z.number().int().nullable(),
      category: z.string().nullable(),
    })
    .describe('what we asked V&R to list'),
  candidates: z
    .array(
      z.object({
        vrListingId: z.number().int(),
        brand: z.string().nullable(),
        model: z.string().nullable(),
        price: z.number().nullable(),
        year: z.number().int().nullable(),
        created: isoTime
          .nullable()
          .describe('when the export that showed it was requested (the export has no creation date)'),
        url: z.string().nullable().describe('<VR_BASE_URL>/product/<id>'),
      }),
    )
    .describe('the V&R listings it may be, as the export showed them'),
  evidence: z.array(z.object({ name: z.string(), step: z.string(), at: isoTime, url: z.string() })),
  actions: z.object({ link: z.string(), resubmit: z.string() }).describe('the two decisions, as commands'),
});

export const queuedLater = (what: string) =>
  z
    .object({ error: z.literal('queue unavailable'), message: z.string() })
    .catchall(z.unknown())
    .describe(
      `${what} saved in Postgres, but Redis did not take it; the sweep enqueues it when Redis is back`,
    );

export const listingRef = z.object({ productRef: z.string(), vrListingId: z.number().int() });
export const reconcileReport = z.object({
  soldOnVr: z.array(listingRef).describe('marked sold on V&R, not by vr-lister'),
  missingOnVr: z.array(listingRef).describe('gone from the export (deleted on V&R), not by vr-lister'),
  changedOnVr: z
    .array(
      listingRef.extend({
        field: z.enum(CHANGED_FIELDS),
        ours: z
          .union([z.string(), z.number()])
          .nullable()
          .describe('what vr-lister submitted or last asked for'),
        vr: z.union([z.string(), z.number()]).nullable().describe('what the export shows'),
      }),
    )
    .describe('a field that differs on V&R from what vr-lister submitted'),
  notOurs: z.number().int().describe('rows of the export that are no listing of ours'),
  checked: z.number().int().describe('our listings compared'),
  rows: z.number().int().describe('rows in the export'),
});

export const deliveryView = z.object({
  id: z.number().int(),
  eventId: z.number().int(),
  event: z.enum(WEBHOOK_EVENTS),
  jobId: z.number().int(),
  productRef: z.string(),
  url: z.string().describe('without its query string'),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
  deliveredAt: isoTime.nullable(),
});

/** A positive id in a path (ours fit 15 digits); the handler gets a number. */
export const pathId = (description: string, example: string) =>
  z
    .string()
    .regex(/^\d{1,15}$/, 'must be a positive whole number')
    .describe(description)
    .meta({ examples: [example] })
    .transform(Number)
    .pipe(z.number().positive('must be a positive whole number'));

export const idParams = (what: string, example: string) =>
  z.object({ id: pathId(`the ${what}'s id`, example) });

export const example = {
  productRef: 'SKU-1',
  brand: 'Fender',
  model: 'Stratocaster',
  price: 1299,
  year: 1962,
  category: 'Guitars>Electric solid body',
};

export const enqueueBody = z
  .union([
    listingSchema,
    z.array(listingSchema).max(LIMITS.bulkListings),
    z.strictObject({ listings: z.array(listingSchema).max(LIMITS.bulkListings) }),
  ])
  .describe('one listing, or many: an array, or { listings: [...] }');

export interface RouteDoc {
  summary: string;
  tags: string[];
  querystring?: z.ZodType;
  params?: z.ZodType;
  body?: z.ZodType;
  /**
   * The handler validates the body itself: a bulk of listings is validated in slices that yield
   * the event loop, and its errors carry each listing's index.
   */
  bodyCheckedByHandler?: true;
  /** Request bodies the example test sends (kept out of the zod schema: the converter drops meta). */
  bodyExamples?: unknown[];
  response: Record<
    number,
    z.ZodType | { description: string; content: Record<string, { schema: z.ZodType }> }
  >;
}
