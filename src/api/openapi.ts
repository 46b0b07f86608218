import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { createSerializerCompiler, jsonSchemaTransform, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  ACTION_KINDS,
  ACTION_STATUSES,
  DELIVERY_STATUSES,
  JOB_STATUSES,
  REVIEW_KINDS,
  WEBHOOK_EVENTS,
} from '../db/schema.ts';
import { actionChangesSchema } from '../listing/action.ts';
import { LIMITS, listingSchema } from '../listing/listing.ts';
import { CHANGED_FIELDS } from '../resolution/reconcile.ts';
import { SITE_STATES } from '../vr/site-state.ts';
import { actionsQuery } from './actions.ts';
import { listQuery } from './jobs.ts';
import { linkBody } from './link.ts';
import { retryBody } from './retry.ts';
import { deliveriesQuery } from './webhooks.ts';

/**
 * The API's contract, from the zod schemas the handlers validate with (the querystrings, the
 * listing) plus the answers' shapes, which test/openapi.test.ts checks every documented example
 * against. Served at /api/openapi.json and, for a browser, at /api/docs.
 */
export const OPENAPI_PATH = '/api/openapi.json';
export const DOCS_PREFIX = '/api/docs';

// --- shapes shared by the routes' answers -----------------------------------------------------

const fieldError = z.object({
  index: z.number().int().optional().describe('position in a bulk call'),
  field: z.string(),
  message: z.string(),
});
const invalidAnswer = z
  .object({ error: z.string(), errors: z.array(fieldError), moreErrors: z.number().int().optional() })
  .describe('the request named a bad field: which, and why; nothing was written');
const message = (description: string) =>
  z.object({ error: z.string(), message: z.string() }).describe(description);
const badRequest = z
  .object({ error: z.literal('bad request'), code: z.string().optional(), message: z.string() })
  .describe('not JSON, or not sent as application/json');
const notFound = z.object({ error: z.string(), id: z.number().int() }).describe('no such id');

const isoTime = z.string().describe('ISO 8601');
const jobStatus = z.enum(JOB_STATUSES);

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
const enqueuedJob = jobViewSchema.extend({
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
const reviewItemSchema = z.object({
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

const queuedLater = (what: string) =>
  z
    .object({ error: z.literal('queue unavailable'), message: z.string() })
    .catchall(z.unknown())
    .describe(
      `${what} saved in Postgres, but Redis did not take it; the sweep enqueues it when Redis is back`,
    );

const listingRef = z.object({ productRef: z.string(), vrListingId: z.number().int() });
const reconcileReport = z.object({
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

const deliveryView = z.object({
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
const pathId = (description: string, example: string) =>
  z
    .string()
    .regex(/^\d{1,15}$/, 'must be a positive whole number')
    .describe(description)
    .meta({ examples: [example] })
    .transform(Number)
    .pipe(z.number().positive('must be a positive whole number'));

export const idParams = (what: string, example: string) =>
  z.object({ id: pathId(`the ${what}'s id`, example) });

const example = {
  productRef: 'SKU-1',
  brand: 'Fender',
  model: 'Stratocaster',
  price: 1299,
  year: 1962,
  category: 'Guitars>Electric solid body',
};

const enqueueBody = z
  .union([
    listingSchema,
    z.array(listingSchema).max(LIMITS.bulkListings),
    z.strictObject({ listings: z.array(listingSchema).max(LIMITS.bulkListings) }),
  ])
  .describe('one listing, or many: an array, or { listings: [...] }');

interface RouteDoc {
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
  changes: z.record(z.string(), z.unknown()).nullable().describe('what an update changes'),
  attempts: z.number().int(),
  error: z.string().nullable(),
  evidence: z.string().nullable().describe('what V&R showed when the action was judged done'),
  createdAt: isoTime,
  updatedAt: isoTime,
  doneAt: isoTime.nullable(),
});

/** The listing actions (src/api/actions.ts). */
const ACTION_ROUTE_DOCS: Record<string, RouteDoc> = {
  'POST /api/vr/listings/:productRef/actions': {
    summary: 'Mark a listing sold, restore it, change it or delete it on V&R',
    tags: ['actions'],
    params: z.object({ productRef: z.string().meta({ examples: ['SKU-1'] }) }),
    body: z.strictObject({ kind: z.enum(ACTION_KINDS), changes: actionChangesSchema.optional() }),
    bodyExamples: [{ kind: 'mark_sold' }, { kind: 'update', changes: { price: 1199 } }, { kind: 'delete' }],
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

const unauthorized = message('no or a wrong API token');
const misdirected = message(
  'API_INSECURE=on: only a loopback Host (127.0.0.1, localhost, [::1]) is answered',
);
const notJson = z.union([
  message('API_INSECURE=on: a state-changing request must be sent as application/json'),
  badRequest,
]);
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Routes that are not part of the contract on purpose: Bull Board, the review page, the docs' own, the spec. */
const UNDOCUMENTED = [
  /^\/admin\//,
  /^\/admin$/,
  /^\/review(?:\/|$)/,
  /^\/api\/docs/,
  /^\/api\/openapi\.json$/,
];
const undocumented = new WeakMap<FastifyInstance, string[]>();

/** Routes declared on this app that the contract doesn't describe (the OpenAPI test wants none). */
export function undocumentedRoutes(app: FastifyInstance): string[] {
  return undocumented.get(app) ?? [];
}

const carryOnly = () => (data: unknown) => ({ value: data });
const asJson = () => (data: unknown) => (typeof data === 'string' ? data : JSON.stringify(data));
// An answer is checked against its documented schema on the way out (a mismatch is a 500).
const zodSerializer = createSerializerCompiler({});

/**
 * Registers the contract: attaches each documented route's schemas as it is declared (so call
 * this before the routes), serves the spec at /api/openapi.json and Swagger UI at /api/docs.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  // src/api and dist/api alike: ../../package.json.
  const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
  const missing: string[] = [];
  undocumented.set(app, missing);
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'HEAD');
    const doc = methods.map((m) => ROUTE_DOCS[`${m} ${route.url}`]).find(Boolean);
    if (!doc) {
      if (methods.length && !UNDOCUMENTED.some((pattern) => pattern.test(route.url)))
        missing.push(`${methods.join(',')} ${route.url}`);
      return;
    }
    const isPublic = route.config?.public === true;
    route.schema = {
      summary: doc.summary,
      tags: doc.tags,
      ...(doc.querystring && { querystring: doc.querystring }),
      ...(doc.params && { params: doc.params }),
      ...(doc.body && { body: doc.body }),
      // What the auth and insecure-mode hooks answer before the handler (src/api/auth.ts,
      // insecure-guard.ts).
      response: isPublic
        ? doc.response
        : {
            ...(methods.some((m) => STATE_CHANGING.has(m)) && { 415: notJson }),
            ...doc.response,
            401: unauthorized,
            421: misdirected,
          },
      ...(isPublic && { security: [] }),
    };
    // Fastify validates what the contract documents, with the contract's own schemas; a failure
    // reaches the one error handler as a 400 naming the fields.
    route.validatorCompiler = (definition) =>
      definition.httpPart === 'body' && doc.bodyCheckedByHandler
        ? carryOnly()
        : validatorCompiler(definition as Parameters<typeof validatorCompiler>[0]);
    route.serializerCompiler = (definition) =>
      definition.schema instanceof z.ZodType
        ? zodSerializer(definition as Parameters<typeof zodSerializer>[0])
        : asJson();
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'vr-lister',
        version,
        description:
          'Lists instruments on Vintage & Rare and resolves their V&R ids. Every route but /healthz and /readyz needs `Authorization: Bearer <API_TOKEN>`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: (document) => {
      const methods = [document.route.method].flat();
      const doc = methods.map((m) => ROUTE_DOCS[`${m} ${document.url}`]).find(Boolean);
      if (!doc) return { schema: { hide: true } as never, url: document.url };
      const transformed = jsonSchemaTransform(document);
      const body = (transformed.schema as { body?: Record<string, unknown> }).body;
      if (body && doc.bodyExamples) body.examples = doc.bodyExamples;
      return transformed;
    },
  });
  // The page and its assets come from this server (no other host); a browser logs in with HTTP
  // Basic (any user name, the token as password), as for Bull Board.
  await app.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    uiConfig: { persistAuthorization: false, tryItOutEnabled: false },
    staticCSP: false,
  });
  app.get(OPENAPI_PATH, async (_request, reply) => reply.type('application/json').send(app.swagger()));
}
