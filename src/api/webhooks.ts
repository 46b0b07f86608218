import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DELIVERY_STATUSES } from '../db/schema.ts';
import { withTimeout } from '../lifecycle.ts';
import {
  type DeliveryJobData,
  enqueueHeads,
  findDelivery,
  listDeliveries,
  markForRedelivery,
} from '../webhooks/deliveries.ts';
import { type ApiContext, invalid } from './context.ts';
import { parseJobId, queryErrors } from './jobs.ts';

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

const digits = (what: string) => z.string({ error: 'must be given once' }).regex(/^\d{1,15}$/, what);

export const deliveriesQuery = z.strictObject(
  {
    status: z.enum(DELIVERY_STATUSES, { error: `must be one of ${DELIVERY_STATUSES.join(', ')}` }).optional(),
    limit: digits('must be a whole number')
      .transform(Number)
      .pipe(z.number().min(1, 'must be at least 1').max(MAX_PAGE, `must be at most ${MAX_PAGE}`))
      .optional(),
    cursor: digits('is not a cursor this API returned').transform(Number).optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : 'must be a query string') },
);

/** The delivery log and redelivery: GET /api/vr/webhooks/deliveries, POST .../:id/redeliver. */
export function registerWebhookRoutes(
  app: FastifyInstance,
  ctx: ApiContext,
  webhookQueue: Queue<DeliveryJobData>,
): void {
  app.get('/api/vr/webhooks/deliveries', async (request, reply) => {
    const query = deliveriesQuery.safeParse(request.query ?? {});
    if (!query.success) return reply.code(400).send(invalid('invalid query', queryErrors(query.error)));
    const { status, limit = DEFAULT_PAGE, cursor } = query.data;
    const rows = await listDeliveries(ctx.database.db, { status, limit: limit + 1, beforeId: cursor });
    const page = rows.slice(0, limit);
    return { deliveries: page, nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null };
  });

  app.post<{ Params: { id: string } }>(
    '/api/vr/webhooks/deliveries/:id/redeliver',
    async (request, reply) => {
      const id = parseJobId(request.params.id);
      if (typeof id !== 'number') return reply.code(400).send(invalid('invalid delivery id', id));
      const marked = await markForRedelivery(ctx.database.db, id);
      if (!marked) return reply.code(404).send({ error: 'delivery not found', id });
      if (marked.alreadyPending) {
        return reply.code(409).send({
          error: 'already pending',
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
    },
  );
}
