import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { CREATE_QUEUE, RESOLVE_QUEUE } from '../queues.ts';

export const BOARD_PATH = '/admin/queues';

/**
 * Bull Board at /admin/queues, read-only: a retry must go through POST /api/vr/jobs/:id/retry,
 * which applies the never-list-twice rules; Bull Board's own retry would not.
 */
export async function registerBoard(app: FastifyInstance, queues: Queue[]): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  // basePath is what the UI uses for its links and API calls; the prefix is where Fastify mounts it.
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.map(
      (queue) =>
        new BullMQAdapter(queue, {
          readOnlyMode: true,
          description:
            queue.name === CREATE_QUEUE
              ? 'creation: one listing per job, through the V&R form'
              : queue.name === RESOLVE_QUEUE
                ? 'resolution: flushes that download the V&R export once per batch'
                : 'webhooks: one delivery of a job event to one WEBHOOK_URL per job, with its attempts',
        }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'vr-lister' } },
  });
  await app.register(async (board) => {
    board.addHook('onSend', async (_request, reply, payload) =>
      typeof payload === 'string' && String(reply.getHeader('content-type')).startsWith('text/html')
        ? withoutOutsideLinks(payload)
        : payload,
    );
    await board.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });
  });
}

/**
 * Bull Board's page links Google Fonts: every visit would tell Google who opens the board, and
 * when. The links to other hosts are dropped (the UI falls back to the system's sans-serif), and
 * the Content-Security-Policy would refuse them anyway.
 */
export function withoutOutsideLinks(html: string): string {
  return html.replace(/<link\b[^>]*\bhref=["']?(?:https?:)?\/\/[^>]*>\s*/gi, '');
}
