import { z } from 'zod';
import { ACTION_KINDS, ACTION_STATUSES } from '../db/schema.ts';
import { actionChangesSchema, photoChangesSchema } from '../listing/action.ts';
import { SITE_STATES } from '../vr/site-state.ts';
import { actionsQuery } from './actions.ts';
import {
  badRequest,
  deliveryView,
  enqueueBody,
  enqueuedJob,
  example,
  idParams,
  invalidAnswer,
  isoTime,
  jobDetailSchema,
  jobViewSchema,
  message,
  notFound,
  pathId,
  queuedLater,
  type RouteDoc,
  reconcileReport,
  reviewItemSchema,
} from './answer-shapes.ts';
import { listQuery } from './jobs.ts';
import { linkBody } from './link.ts';
import { retryBody } from './retry.ts';
import { deliveriesQuery } from './webhooks.ts';

/** Every route the contract describes, by `METHOD url`; the rest (Bull Board, the docs' own) is hidden. */
export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /healthz': {
    summary: 'The process runs (no authentication)',
    tags: ['health'],
    response: { 200: z.object({ ok: z.literal(true) }) },
  },
  'GET /readyz': {
    summary: 'Postgres and Redis answer (no authentication)',
    tags: ['health'],
    response: Object.fromEntries(
      [200, 503].map((code) => [
        code,
        z
          .object({
            ok: z.boolean(),
            failed: z.array(z.string()),
            checks: z.record(z.string(), z.enum(['ok', 'unavailable'])),
          })
          .describe(code === 200 ? 'ready' : 'a check failed (named in failed)'),
      ]),
    ),
  },
  'GET /metrics': {
    summary: 'Prometheus text: listings by status, queues, resolution runs, process',
    tags: ['health'],
    response: {
      200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: z.string() } } },
    },
  },
  'POST /api/vr/jobs': {
    summary: 'Enqueue one listing or many',
    tags: ['jobs'],
    body: enqueueBody,
    bodyCheckedByHandler: true,
    bodyExamples: [
      example,
      [{ ...example, productRef: 'SKU-2', model: 'Telecaster', year: 1965 }],
      { listings: [{ ...example, productRef: 'SKU-3', model: 'Jazzmaster', year: 1959 }] },
      { productRef: 'SKU-4', brand: 'Fender', price: 0 },
    ],
    response: {
      201: z
        .union([z.object({ job: enqueuedJob }), z.object({ jobs: z.array(enqueuedJob) })])
        .describe('written and enqueued'),
      200: z
        .union([z.object({ job: enqueuedJob }), z.object({ jobs: z.array(enqueuedJob) })])
        .describe('every listing already had an active job (an idempotent repeat)'),
      400: z.union([invalidAnswer, badRequest]),
      409: z
        .object({ error: z.literal('already listed'), productRef: z.string(), message: z.string() })
        .describe('the product is already on V&R, or has a job in needs_review'),
      413: message('body over the limit'),
      503: queuedLater('the listings are'),
    },
  },
  'GET /api/vr/jobs': {
    summary: 'Jobs, oldest first, a page at a time',
    tags: ['jobs'],
    querystring: listQuery,
    response: {
      200: z.object({
        jobs: z.array(jobViewSchema),
        nextCursor: z.string().nullable().describe('pass back as cursor for the next page; null on the last'),
      }),
      400: invalidAnswer,
    },
  },
  'GET /api/vr/jobs/:id': {
    summary: 'One job, with its listing and what a person needs to understand it',
    tags: ['jobs'],
    params: idParams('job', '1'),
    response: { 200: z.object({ job: jobDetailSchema }), 400: invalidAnswer, 404: notFound },
  },
  'GET /api/vr/jobs/:id/artifacts/:name': {
    summary: "A job's evidence file (screenshot, page, trace), by the name its job recorded",
    tags: ['jobs'],
    params: z.object({
      id: pathId("the job's id", '1'),
      name: z
        .string()
        .describe("a name from the job's artifacts")
        .meta({ examples: ['publish-1700000000000.png'] }),
    }),
    response: {
      200: {
        description: 'the file, never run as a page (Content-Security-Policy: sandbox)',
        content: {
          'image/png': { schema: z.string() },
          'text/html': { schema: z.string() },
          'application/zip': { schema: z.string() },
        },
      },
      400: invalidAnswer,
      404: z
        .object({
          error: z.string(),
          id: z.number().int(),
          name: z.string().optional(),
          message: z.string().optional(),
        })
        .describe('no such job, no such recorded name, or the file is gone (ARTIFACTS_RETENTION_DAYS)'),
    },
  },
  'POST /api/vr/jobs/:id/retry': {
    summary: 'Put a failed or needs_review job back in the pipeline, never listing it twice',
    tags: ['jobs'],
    params: idParams('job', '1'),
    // No body at all is the same as {}.
    body: retryBody.nullish(),
    bodyExamples: [{}, { resubmit: true }],
    response: {
      200: z.object({ action: z.enum(['linked', 'resolving', 'requeued']), job: jobDetailSchema }),
      400: invalidAnswer,
      404: notFound,
      409: z
        .object({ error: z.literal('cannot retry'), status: z.string().optional(), message: z.string() })
        .describe('not failed or needs_review, or another active job for the product'),
      503: queuedLater('the job is'),
    },
  },
  'POST /api/vr/jobs/:id/link': {
    summary: 'A person says which V&R listing is the job’s: it completes with that id',
    tags: ['jobs'],
    params: idParams('job', '1'),
    body: linkBody,
    bodyExamples: [{ vrListingId: 7001 }, { vrListingId: 1 }],
    response: {
      200: z.object({ action: z.literal('linked'), job: jobDetailSchema }),
      400: invalidAnswer,
      404: notFound,
      409: z
        .object({ error: z.literal('cannot link'), status: z.string(), message: z.string() })
        .describe('not failed or needs_review, an id linked elsewhere, or an id not in the last export'),
    },
  },
  'GET /api/vr/review': {
    summary: 'The jobs in needs_review: why, their candidates beside what we asked, their evidence',
    tags: ['jobs'],
    response: { 200: z.object({ jobs: z.array(reviewItemSchema) }) },
  },
  'GET /api/vr/resolution-status': {
    summary: 'Pending resolutions and the last resolution run',
    tags: ['resolution'],
    response: {
      200: z.object({
        pending_count: z.number().int(),
        oldest_pending: isoTime.nullable(),
        last_resolution: z
          .object({
            id: z.number().int(),
            trigger: z.string(),
            startedAt: isoTime,
            finishedAt: isoTime.nullable(),
            rowsScanned: z.number().int().nullable(),
            matched: z.number().int().nullable(),
            unmatched: z.number().int().nullable(),
            bytes: z.number().int().nullable(),
            durationMs: z.number().int().nullable(),
            error: z.string().nullable(),
          })
          .catchall(z.unknown())
          .nullable(),
        site_state: z
          .object({
            state: z.enum(SITE_STATES),
            message: z.string().describe('what happened and what to run'),
            since: isoTime.nullable(),
          })
          .nullable()
          .optional()
          .describe('V&R as the workers last saw it; null when Redis did not answer'),
      }),
    },
  },
  'POST /api/vr/resolve-pending': {
    summary: 'Download the V&R export now and resolve what it can',
    tags: ['resolution'],
    response: {
      200: z.object({ resolved: z.number().int(), failed: z.number().int(), errors: z.array(z.string()) }),
      502: message('the export failed; nothing was written'),
    },
  },
  'GET /api/vr/reconcile': {
    summary:
      'Download the V&R export and compare it with our listings: what a person sold, deleted or changed there',
    tags: ['resolution'],
    response: {
      200: reconcileReport,
      502: message('V&R or its export failed (unavailable, damaged or cut short): nothing to report'),
    },
  },
  'POST /api/vr/resume': {
    summary: 'Let creation go on after the circuit breaker paused it (as `vr-lister resume`)',
    tags: ['resolution'],
    response: {
      200: z.object({
        wasPaused: z
          .boolean()
          .describe('false: creation was not paused (the suspect streak is cleared anyway)'),
        released: z
          .number()
          .int()
          .nullable()
          .describe('held jobs brought forward; null: Redis did not answer, they run when their hold ends'),
      }),
    },
  },
  'GET /api/vr/webhooks/deliveries': {
    summary: 'The webhook delivery log, newest first',
    tags: ['webhooks'],
    querystring: deliveriesQuery,
    response: {
      200: z.object({ deliveries: z.array(deliveryView), nextCursor: z.string().nullable() }),
      400: invalidAnswer,
    },
  },
  'POST /api/vr/webhooks/deliveries/:id/redeliver': {
    summary: 'Send a delivered or failed delivery again (same event id)',
    tags: ['webhooks'],
    params: idParams('delivery', '1'),
    response: {
      202: z.object({
        delivery: deliveryView,
        queued: z.boolean().describe('false: Redis did not take it; the sender sweeps it up'),
      }),
      400: invalidAnswer,
      404: notFound,
      409: z
        .object({ error: z.literal('already pending'), message: z.string(), delivery: deliveryView })
        .describe('still being tried'),
    },
  },
};

const actionView = z.object({
  id: z.number().int(),
  productRef: z.string(),
  kind: z.enum(ACTION_KINDS),
  status: z.enum(ACTION_STATUSES),
  vrListingId: z.number().int().nullable().describe("the listing's V&R id, once known"),
  changes: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe('what an update changes, or the photos replace_photos sets'),
  attempts: z.number().int(),
  error: z.string().nullable(),
  evidence: z.string().nullable().describe('what V&R showed when the action was judged done'),
  createdAt: isoTime,
  updatedAt: isoTime,
  doneAt: isoTime.nullable(),
});

/**
 * An action's body, by kind: `update` takes `changes` (the fields to change), `replace_photos`
 * takes `changes.photos`, the other kinds nothing. A body whose kind matches is checked against
 * that kind's schema alone, so each error names its field.
 */
const actionBody = z.discriminatedUnion('kind', [
  z.strictObject(
    { kind: z.enum(['mark_sold', 'restore', 'delete'] satisfies (typeof ACTION_KINDS)[number][]) },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? 'is only for update and replace_photos (changes), or not a field at all'
          : undefined,
    },
  ),
  z.strictObject({ kind: z.literal('update'), changes: actionChangesSchema.optional() }),
  z.strictObject({ kind: z.literal('replace_photos'), changes: photoChangesSchema }),
]);

/** The listing actions (src/api/actions.ts). */
const ACTION_ROUTE_DOCS: Record<string, RouteDoc> = {
  'POST /api/vr/listings/:productRef/actions': {
    summary: 'Mark a listing sold, restore it, change it, replace its photos or delete it on V&R',
    tags: ['actions'],
    params: z.object({ productRef: z.string().meta({ examples: ['SKU-1'] }) }),
    body: actionBody,
    bodyExamples: [
      { kind: 'mark_sold' },
      { kind: 'update', changes: { price: 1199 } },
      { kind: 'replace_photos', changes: { photos: ['https://shop.example/photos/sku-1-front.jpg'] } },
      { kind: 'delete' },
    ],
    response: {
      202: actionView
        .extend({
          created: z.boolean().describe('false: asked already, or already true; nothing was written'),
          message: z.string().optional(),
        })
        .describe('recorded: queued, or waiting_for_id until the listing has its V&R id'),
      400: invalidAnswer,
      404: z
        .object({ error: z.string(), productRef: z.string(), message: z.string() })
        .describe('no such listing'),
      409: z
        .object({ error: z.literal('action refused'), productRef: z.string(), message: z.string() })
        .describe('the listing failed, is in review, or was deleted'),
      503: queuedLater('the action is'),
    },
  },
  'GET /api/vr/actions': {
    summary: 'Actions on listings, newest first, a page at a time',
    tags: ['actions'],
    querystring: actionsQuery,
    response: {
      200: z.object({ actions: z.array(actionView), nextCursor: z.string().nullable() }),
      400: invalidAnswer,
    },
  },
  'GET /api/vr/actions/:id': {
    summary: 'One action',
    tags: ['actions'],
    params: idParams('action', '1'),
    response: { 200: actionView, 400: invalidAnswer, 404: notFound },
  },
};
Object.assign(ROUTE_DOCS, ACTION_ROUTE_DOCS);
