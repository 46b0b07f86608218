import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { DELIVERY_STATUSES } from '../db/schema.ts';
import { withTimeout } from '../lifecycle.ts';
import {
  type DeliveryJobData,
  enqueueHeads,
  findDelivery,
  listDeliveries,
  markForRedelivery,
} from '../webhooks/deliveries.ts';
import type { ApiContext } from './context.ts';
import { conflict, notFound } from './http-error.ts';
import { DEFAULT_PAGE, type IdParams, pagedListQuery } from './jobs.ts';

export const deliveriesQuery = pagedListQuery(DELIVERY_STATUSES);

/** The delivery log and redelivery: GET /api/vr/webhooks/deliveries, POST .../:id/redeliver. */
export function registerWebhookRoutes(
  app: FastifyInstance,
  ctx: ApiContext,
  webhookQueue: Queue<DeliveryJobData>,
): void {
  app.get('/api/vr/webhooks/deliveries', async (request) => {
    const { status, limit = DEFAULT_PAGE, cursor } = request.query as z.output<typeof deliveriesQuery>;
    const rows = await listDeliveries(ctx.database.db, { status, limit: limit + 1, beforeId: cursor });
    const page = rows.slice(0, limit);
    return { deliveries: page, nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null };
  });

  app.post<{ Params: IdParams }>('/api/vr/webhooks/deliveries/:id/redeliver', async (request, reply) => {
    const { id } = request.params;
    const marked = await markForRedelivery(ctx.database.db, id);
    if (!marked) throw notFound('delivery not found', { id });
    if (marked.alreadyPending) {
      throw conflict('already pending', {
        message: `delivery ${id} is still being tried; it can be sent again once delivered or failed`,
        delivery: await findDelivery(ctx.database.db, id),
      });
    }
    let queued = true;
    try {
      await withTimeout(
        enqueueHeads(ctx.database.db, webhookQueue, {
          productRefs: [marked.row.productRef],
          url: marked.row.url,
        }),
        5_000,
        'Redis',
      );
    } catch (error) {
      // The row is pending: the webhook sender's sweep adds its job when Redis is back.
      ctx.logger.warn({ err: error, deliveryId: id }, 'redelivery saved but not queued');
      queued = false;
    }
    return reply.code(202).send({ delivery: await findDelivery(ctx.database.db, id), queued });
  });
}
