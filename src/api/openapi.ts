import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DELIVERY_STATUSES, JOB_EVENTS, JOB_STATUSES } from '../db/schema.ts';
import { LIMITS, listingSchema } from '../listing/listing.ts';
import { SITE_STATES } from '../vr/site-state.ts';
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
const queuedLater = (what: string) =>
  z
    .object({ error: z.literal('queue unavailable'), message: z.string() })
    .catchall(z.unknown())
    .describe(
      `${what} saved in Postgres, but Redis did not take it; the sweep enqueues it when Redis is back`,
    );

const deliveryView = z.object({
  id: z.number().int(),
  eventId: z.number().int(),
  event: z.enum(JOB_EVENTS),
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

const idParams = (what: string, example: string) =>
  z.object({
    id: z
      .string()
      .describe(`the ${what}'s id`)
      .meta({ examples: [example] }),
  });

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
      415: badRequest,
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
      id: z
        .string()
        .describe("the job's id")
        .meta({ examples: ['1'] }),
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
    body: retryBody,
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

const unauthorized = message('no or a wrong API token');

/** Routes that are not part of the contract on purpose: Bull Board, the docs' own, the spec. */
const UNDOCUMENTED = [/^\/admin\//, /^\/admin$/, /^\/api\/docs/, /^\/api\/openapi\.json$/];
const undocumented = new WeakMap<FastifyInstance, string[]>();

/** Routes declared on this app that the contract doesn't describe (the OpenAPI test wants none). */
export function undocumentedRoutes(app: FastifyInstance): string[] {
  return undocumented.get(app) ?? [];
}

/** Validation stays in the handlers (with these same schemas): Fastify only carries them. */
const carryOnly = () => (data: unknown) => ({ value: data });
const asJson = () => (data: unknown) => (typeof data === 'string' ? data : JSON.stringify(data));

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
      response: isPublic ? doc.response : { ...doc.response, 401: unauthorized },
      ...(isPublic && { security: [] }),
    };
    route.validatorCompiler = carryOnly;
    route.serializerCompiler = asJson;
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
