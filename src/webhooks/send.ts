import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AllowedHost } from '../config.ts';
import { checkedAddress, pinnedLookup } from '../net/address-policy.ts';
import { DELIVERY_ID_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './signature.ts';

/** The URL as logs and the delivery log show it: scheme, host and path; never a query string. */
export function displayWebhookUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

export type SendOutcome =
  | { ok: true; statusCode: number }
  /** `permanent`: trying again can't help (the address is refused); the delivery fails at once. */
  | { ok: false; statusCode: number | null; reason: string; permanent: boolean };

export interface SendOptions {
  url: string;
  body: string;
  secret: string;
  eventId: number;
  deliveryId: number;
  allowHosts: readonly AllowedHost[];
  timeoutMs: number;
}

/** Bytes of an answer read (and dropped): only its status matters. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * POSTs one signed event. The receiver's address is checked like a photo's (public addresses only,
 * unless WEBHOOK_ALLOW_HOSTS allows it) and the connection pinned to it; redirects are not followed.
 * A 2xx answer is a delivery; anything else is a failure to try again.
 */
export async function sendWebhook(options: SendOptions): Promise<SendOutcome> {
  const url = new URL(options.url);
  const where = displayWebhookUrl(options.url);
  let address: Awaited<ReturnType<typeof checkedAddress>>;
  try {
    address = await checkedAddress(url, options.allowHosts, undefined, 'WEBHOOK_ALLOW_HOSTS');
  } catch (error) {
    const code = (error as { code?: string }).code;
    return {
      ok: false,
      statusCode: null,
      reason: `${where} could not be resolved: ${code ?? (error as Error).message}`,
      permanent: false,
    };
  }
  if ('refused' in address) {
    return {
      ok: false,
      statusCode: null,
      reason: `${where} is refused: ${address.refused}`,
      permanent: true,
    };
  }
  const pinned = address;
  return new Promise<SendOutcome>((resolve) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        agent: false,
        signal: AbortSignal.timeout(options.timeoutMs),
        lookup: pinnedLookup(pinned) as never,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(options.body),
          'user-agent': 'vr-lister-webhooks',
          [SIGNATURE_HEADER]: signatureHeader(options.secret, options.body),
          [EVENT_ID_HEADER]: String(options.eventId),
          [DELIVERY_ID_HEADER]: String(options.deliveryId),
        },
      },
      (response) => {
        const statusCode = response.statusCode ?? 0;
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) response.destroy();
        });
        const done = () =>
          resolve(
            statusCode >= 200 && statusCode < 300
              ? { ok: true, statusCode }
              : { ok: false, statusCode, reason: `${where} answered HTTP ${statusCode}`, permanent: false },
          );
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      },
    );
    request.on('error', (error) => {
      const code = (error as { code?: string }).code;
      const reason =
        error.name === 'TimeoutError' || code === 'ABORT_ERR'
          ? `${where} did not answer within ${options.timeoutMs} ms`
          : `${where} could not be reached: ${code ?? error.message}`;
      resolve({ ok: false, statusCode: null, reason, permanent: false });
    });
    request.end(options.body);
  });
}
