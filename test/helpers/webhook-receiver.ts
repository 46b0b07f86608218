import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, verifyWebhookSignature } from '../../src/webhooks/signature.ts';

export interface ReceivedEvent {
  /** The X-VR-Lister-Event-Id header: an unsigned copy of `body.id`. */
  eventId: string;
  /** The signature header signs `raw` (so `body`, parsed from it, is what was signed). */
  signed: boolean;
  body: {
    id: number;
    event: string;
    job: {
      id: number;
      productRef: string;
      status: string;
      vrListingId: number | null;
      error: string | null;
      candidates: number[];
    };
    at: string;
  };
  raw: string;
  /** What this receiver answered. */
  answered: number;
}

/**
 * A webhook receiver as a shop would write it: checks the signature on the raw body. `answer`
 * decides each request's status (or 'hang' to never answer); every request is recorded.
 */
export async function startReceiver(secret: string, answer: (n: number) => number | 'hang' = () => 200) {
  const requests: ReceivedEvent[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const decision = answer(requests.length + 1);
      const signed = verifyWebhookSignature(
        secret,
        request.headers[SIGNATURE_HEADER] as string | undefined,
        raw,
      );
      requests.push({
        eventId: String(request.headers[EVENT_ID_HEADER]),
        signed,
        body: JSON.parse(raw),
        raw,
        answered: decision === 'hang' ? 0 : decision,
      });
      if (decision === 'hang') {
        hanging.push(response);
        return;
      }
      response.writeHead(decision).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/vr`,
    port,
    requests,
    /** Requests answered 2xx: what the shop accepted. */
    accepted: () => requests.filter((r) => r.answered >= 200 && r.answered < 300),
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
