import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { ACTION_STATUSES } from '../db/schema.ts';
import { ActionQueueUnavailableError, findAction, listActions, requestAction } from '../producer/actions.ts';
import type { ApiContext } from './context.ts';
import { notFound, queueUnavailable } from './http-error.ts';
import { DEFAULT_PAGE, type IdParams, pagedListQuery } from './jobs.ts';

export const actionsQuery = pagedListQuery(ACTION_STATUSES);

/**
 * `POST /api/vr/listings/{productRef}/actions` `{kind, changes?}` → 202 with the action;
 * `GET /api/vr/actions` (newest first, `?status&limit&cursor`); `GET /api/vr/actions/{id}`.
 */
export function registerActionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  // A bad action, an unknown listing or a refused one reaches the error handler as thrown.
  app.post<{ Params: { productRef: string }; Body: { kind: string; changes?: unknown } }>(
    '/api/vr/listings/:productRef/actions',
    async (request, reply) => {
      const { kind, changes } = request.body;
      try {
        const action = await requestAction(ctx.producer, {
          productRef: request.params.productRef,
          kind,
          changes,
        });
        return reply.code(202).send(action);
      } catch (error) {
        if (!(error instanceof ActionQueueUnavailableError)) throw error;
        throw queueUnavailable(error.message, { action: error.action });
      }
    },
  );

  app.get('/api/vr/actions', async (request) => {
    const query = request.query as z.output<typeof actionsQuery>;
    const limit = query.limit ?? DEFAULT_PAGE;
    const actions = await listActions(ctx.database.db, {
      status: query.status,
      limit,
      beforeId: query.cursor,
    });
    const next = actions.length === limit ? String(actions.at(-1)!.id) : null;
    return { actions, nextCursor: next };
  });

  app.get<{ Params: IdParams }>('/api/vr/actions/:id', async (request) => {
    const { id } = request.params;
    const action = await findAction(ctx.database.db, id);
    if (!action) throw notFound('action not found', { id });
    return action;
  });
}
