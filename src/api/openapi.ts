import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { createSerializerCompiler, jsonSchemaTransform, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest, message } from './answer-shapes.ts';
import { ROUTE_DOCS } from './route-docs.ts';

/**
 * The API's contract: each route's zod schemas (route-docs.ts, over the shapes in answer-shapes.ts)
 * are attached to the route as it is declared, Fastify validates requests and checks answers with
 * them, and the OpenAPI document is generated from them. Served at /api/openapi.json and, for a
 * browser, at /api/docs; test/e2e/openapi.test.ts checks every documented example against them.
 */
export const OPENAPI_PATH = '/api/openapi.json';
export const DOCS_PREFIX = '/api/docs';

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
