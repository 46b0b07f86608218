import helmet from '@fastify/helmet';
import { Queue } from 'bullmq';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import type { Redis } from 'ioredis';
import type { Config, VrSite } from '../config.ts';
import type { Database } from '../db/client.ts';
import { resolutionStatus } from '../db/queries.ts';
import { closeAll, withTimeout } from '../lifecycle.ts';
import type { Logger } from '../logger.ts';
import { createMetrics } from '../metrics.ts';
import {
  CREATE_QUEUE,
  type CreateJobData,
  creationJobOptions,
  RESOLVE_QUEUE,
  WEBHOOK_QUEUE,
} from '../queues.ts';
import { type FlushResult, runFlush } from '../resolution/flush.ts';
import type { ReconcileReport } from '../resolution/reconcile.ts';
import { reconcile } from '../resolution/reconcile-check.ts';
import type { FlushJobData } from '../resolution/trigger.ts';
import { safeErrorMessage } from '../safe-errors.ts';
import type { BrowserSession } from '../vr/browser-session.ts';
import { openBrowserSession } from '../vr/open-session.ts';
import { readSiteState, siteStateWithBreaker } from '../vr/site-state.ts';
import type { DeliveryJobData } from '../webhooks/deliveries.ts';
import { registerActionRoutes } from './actions.ts';
import { registerAuth } from './auth.ts';
import { registerBoard } from './board.ts';
import type { ApiContext } from './context.ts';
import { errorAnswer, HttpError } from './http-error.ts';
import { registerInsecureGuard } from './insecure-guard.ts';
import { registerJobRoutes } from './jobs.ts';
import { registerLinkRoute } from './link.ts';
import { registerOpenApi } from './openapi.ts';
import { registerResumeRoute } from './resume.ts';
import { registerRetryRoute } from './retry.ts';
import { registerReviewRoute } from './review.ts';
import { registerReviewPage } from './review-page.ts';
import { registerWebhookRoutes } from './webhooks.ts';

export interface ApiDeps {
  database: Database;
  config: Config;
  site: VrSite;
  logger: Logger;
  /** The API's Redis connection (fail fast: see connectApiRedis); owned and closed by the caller. */
  redis: Redis;
}

export const READY_TIMEOUT_MS = 2_000;

/** Postgres `select 1` and Redis PING, each within READY_TIMEOUT_MS; failures are named, not detailed. */
async function readiness(ctx: Pick<ApiContext, 'database' | 'redis' | 'logger'>) {
  const checks: Record<string, () => Promise<unknown>> = {
    postgres: async () => ctx.database.sql`select 1`,
    redis: () => ctx.redis.ping(),
  };
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await withTimeout(check(), READY_TIMEOUT_MS, name);
        return [name, 'ok'] as const;
      } catch (error) {
        // Details go to the log only: /readyz answers anyone.
        ctx.logger.warn({ err: error, check: name }, 'readiness check failed');
        return [name, 'unavailable'] as const;
      }
    }),
  );
  const failed = results.filter(([, state]) => state !== 'ok').map(([name]) => name);
  return { ok: failed.length === 0, failed, checks: Object.fromEntries(results) };
}

/** The body limit of every route but POST /api/vr/jobs (LIMITS.requestBodyBytes). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * What a browser may load for the API's pages: Bull Board's own scripts, styles (it sets some
 * inline) and images, nothing from another host, never inside a frame.
 */
export const CONTENT_SECURITY_POLICY = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    baseUri: ["'self'"],
    connectSrc: ["'self'"],
    fontSrc: ["'self'", 'data:'],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    imgSrc: ["'self'", 'data:'],
    objectSrc: ["'none'"],
    scriptSrc: ["'self'"],
    scriptSrcAttr: ["'none'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
  },
};

/** The HTTP API. Everything but the health checks needs API_TOKEN, unless run insecurely on purpose. */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const { database, config, site, logger, redis } = deps;
  if (!config.apiToken && !config.apiInsecure) {
    throw new Error('API_TOKEN is not set: set it, or set API_INSECURE=on to run without authentication');
  }
  const timeoutMs = config.apiRequestTimeoutMs;
  const app: FastifyInstance = Fastify({
    loggerInstance: logger.child({ component: 'api' }) as FastifyBaseLogger,
    // Per-request lines off: our handlers log what matters, without headers or bodies.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: DEFAULT_BODY_LIMIT,
    // A request must arrive whole, headers and body, within API_REQUEST_TIMEOUT_MS: a client
    // trickling a body (with or without a token) is answered 408 and cut off. Fastify turns
    // Node's own limit off unless asked, and Node checks it every connectionsCheckingInterval.
    // (No idle timeout on the socket: a flush may take minutes to answer, and sends nothing meanwhile.)
    requestTimeout: timeoutMs,
    http: {
      requestTimeout: timeoutMs,
      headersTimeout: Math.min(timeoutMs, 60_000),
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(timeoutMs / 4))),
    },
  });
  // Sockets beyond this are closed as they connect: file descriptors stay for Postgres and Redis.
  app.server.maxConnections = config.apiMaxConnections;
  const prefix = config.queuePrefix;
  const createQueue = new Queue<CreateJobData>(CREATE_QUEUE, { connection: redis, prefix });
  const resolveQueue = new Queue<FlushJobData>(RESOLVE_QUEUE, { connection: redis, prefix });
  const webhookQueue = new Queue<DeliveryJobData>(WEBHOOK_QUEUE, { connection: redis, prefix });
  for (const queue of [createQueue, resolveQueue, webhookQueue]) {
    queue.on('error', (error) => logger.debug({ err: error, queue: queue.name }, 'queue error'));
  }
  app.addHook('onClose', () =>
    closeAll([() => createQueue.close(), () => resolveQueue.close(), () => webhookQueue.close()]),
  );
  const ctx: ApiContext = {
    database,
    config,
    logger,
    redis,
    createQueue,
    resolveQueue,
    producer: {
      db: database.db,
      queue: createQueue,
      logger,
      jobOptions: creationJobOptions(config),
      queueTimeoutMs: 5_000,
      listingDefaults: config.listingDefaults,
      markerTemplate: config.refMarkerTemplate,
    },
  };
  // A Chromium only when someone asks for a flush (POST /api/vr/resolve-pending) or a reconcile here, kept after.
  let session: BrowserSession | undefined;
  const exportSession = () => {
    session ??= openBrowserSession({ config, site, database, logger, redis });
    return session;
  };
  app.addHook('onClose', async () => session?.close());
  const metrics = createMetrics({
    database,
    queues: [createQueue, resolveQueue, webhookQueue],
    logger,
    siteState: { redis, queuePrefix: prefix },
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, body } = errorAnswer(error, request.routeOptions.bodyLimit ?? DEFAULT_BODY_LIMIT);
    // No request body, headers or query in the log: they may carry listings or credentials.
    const fields = { err: error, method: request.method, route: request.routeOptions.url, status };
    if (status >= 500) logger.error(fields, 'request failed');
    else logger.debug(fields, 'request refused');
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: 'not found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  // Before auth, so that a 401 carries them too. HSTS is the TLS terminator's to send.
  await app.register(helmet, {
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    frameguard: { action: 'deny' },
    strictTransportSecurity: false,
  });
  app.addHook('onRequest', async (_request, reply) => {
    // Answers hold listings, job errors and queue data: no cache keeps them. (Bull Board's
    // static files set their own caching.)
    reply.header('cache-control', 'no-store');
  });
  registerAuth(app, config.apiToken);
  // No token to keep other web sites out (API_INSECURE=on): Host and content-type checks instead.
  if (!config.apiToken) registerInsecureGuard(app);
  // Before the routes: it attaches their documented schemas as they are declared.
  await registerOpenApi(app);

  app.get('/healthz', { config: { public: true } }, async () => ({ ok: true }));
  app.get('/readyz', { config: { public: true } }, async (_request, reply) => {
    const result = await readiness(ctx);
    return reply.code(result.ok ? 200 : 503).send(result);
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.contentType).send(text);
  });
  app.get('/api/vr/resolution-status', async () => {
    const [status, site] = await Promise.all([
      resolutionStatus(database.db),
      siteStateWithBreaker(
        database.db,
        withTimeout(readSiteState(redis, config.queuePrefix), READY_TIMEOUT_MS, 'Redis').catch(() => null),
      ),
    ]);
    // What the workers last saw of V&R, or the breaker's pause; never the session itself.
    return {
      ...status,
      site_state: site ? { state: site.state, message: site.message, since: site.since || null } : null,
    };
  });
  // Calls that arrive while a flush runs share it and its answer: one export download however
  // many callers (a flush is 30 to 60 s of V&R's time).
  let flushing: Promise<FlushResult> | undefined;
  app.post('/api/vr/resolve-pending', async () => {
    flushing ??= runFlush({ database, session: exportSession(), config, logger }, 'api').finally(() => {
      flushing = undefined;
    });
    try {
      const result = await flushing;
      return { resolved: result.resolved, failed: result.failed + result.needsReview, errors: result.errors };
    } catch (error) {
      // Nothing was written; the message (a V&R or export problem) is what the operator needs.
      throw new HttpError(502, { error: 'flush failed', message: safeErrorMessage(error) });
    }
  });
  // As for a flush: callers that arrive while a reconcile runs share its export and its answer.
  let reconciling: Promise<ReconcileReport> | undefined;
  app.get('/api/vr/reconcile', async () => {
    reconciling ??= reconcile({ db: database.db, session: exportSession(), config }).finally(() => {
      reconciling = undefined;
    });
    try {
      return await reconciling;
    } catch (error) {
      throw new HttpError(502, { error: 'reconcile failed', message: safeErrorMessage(error) });
    }
  });
  registerJobRoutes(app, ctx);
  registerRetryRoute(app, ctx);
  registerLinkRoute(app, ctx);
  registerReviewRoute(app, ctx, site.baseUrl);
  await registerReviewPage(app, ctx, site.baseUrl);
  registerActionRoutes(app, ctx);
  registerResumeRoute(app, ctx);
  registerWebhookRoutes(app, ctx, webhookQueue);
  await registerBoard(app, [createQueue, resolveQueue, webhookQueue]);
  return app;
}
