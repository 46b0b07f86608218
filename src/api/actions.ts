import type { FastifyInstance } from 'fastify';
import { ACTION_STATUSES } from '../db/schema.ts';
import { InvalidActionError } from '../listing/action.ts';
import {
  ActionQueueUnavailableError,
  ActionRefusedError,
  findAction,
  listActions,
  requestAction,
  UnknownListingError,
} from '../producer/actions.ts';
import { type ApiContext, invalid } from './context.ts';
import { DEFAULT_PAGE, pagedListQuery, parseJobId, queryErrors } from './jobs.ts';

const actionsQuery = pagedListQuery(ACTION_STATUSES);

/**
 * `POST /api/vr/listings/{productRef}/actions` `{kind, changes?}` → 202 with the action;
 * `GET /api/vr/actions` (newest first, `?status&limit&cursor`); `GET /api/vr/actions/{id}`.
 */
export function registerActionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post<{ Params: { productRef: string } }>(
    '/api/vr/listings/:productRef/actions',
    async (request, reply) => {
      const body = request.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        return reply
          .code(400)
          .send(
            invalid('invalid action', [{ field: '(body)', message: 'must be an object { kind, changes? }' }]),
          );
      const unknown = Object.keys(body).filter((key) => key !== 'kind' && key !== 'changes');
      if (unknown.length)
        return reply.code(400).send(
          invalid(
            'invalid action',
            unknown.map((field) => ({ field, message: 'is not a known field' })),
          ),
        );
      const { kind, changes } = body as { kind?: unknown; changes?: unknown };
      try {
        const action = await requestAction(ctx.producer, {
          productRef: request.params.productRef,
          kind,
          changes,
        });
        return reply.code(202).send(action);
      } catch (error) {
        if (error instanceof InvalidActionError)
          return reply.code(400).send(invalid('invalid action', error.errors));
        if (error instanceof UnknownListingError)
          return reply
            .code(404)
            .send({ error: 'unknown listing', productRef: error.productRef, message: error.message });
        if (error instanceof ActionRefusedError)
          return reply
            .code(409)
            .send({ error: 'action refused', productRef: error.productRef, message: error.message });
        if (error instanceof ActionQueueUnavailableError)
          return reply
            .code(503)
            .send({ error: 'queue unavailable', message: error.message, action: error.action });
        throw error;
      }
    },
  );

  app.get('/api/vr/actions', async (request, reply) => {
    const query = actionsQuery.safeParse(request.query ?? {});
    if (!query.success) return reply.code(400).send(invalid('invalid query', queryErrors(query.error)));
    const limit = query.data.limit ?? DEFAULT_PAGE;
    const actions = await listActions(ctx.database.db, {
      status: query.data.status,
      limit,
      beforeId: query.data.cursor,
    });
    const next = actions.length === limit ? String(actions.at(-1)!.id) : null;
    return { actions, nextCursor: next };
  });

  app.get<{ Params: { id: string } }>('/api/vr/actions/:id', async (request, reply) => {
    const id = parseJobId(request.params.id);
    if (typeof id !== 'number') return reply.code(400).send(invalid('invalid action id', id));
    const action = await findAction(ctx.database.db, id);
    if (!action) return reply.code(404).send({ error: 'action not found', id });
    return action;
  });
}
