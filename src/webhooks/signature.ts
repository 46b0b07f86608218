import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header a webhook request carries its signature in: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'x-vr-lister-signature';
/**
 * A copy of the signed body's `id`, for convenience (routing, logs): the header itself is not
 * signed, so a receiver de-duplicates on the body's `id`.
 */
export const EVENT_ID_HEADER = 'x-vr-lister-event-id';
export const DELIVERY_ID_HEADER = 'x-vr-lister-delivery-id';
/** How old a signature a receiver should accept: older ones are replays. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** HMAC-SHA256, keyed with WEBHOOK_SECRET, of `<timestamp>.<raw body>`, in lower-case hex. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The signature header's value for a body sent at `now` (a new timestamp on every attempt). */
export function signatureHeader(secret: string, body: string, now: Date = new Date()): string {
  const timestamp = Math.floor(now.getTime() / 1000);
  return `t=${timestamp},v1=${webhookSignature(secret, timestamp, body)}`;
}

/**
 * What a receiver does with a webhook request: true when `header` signs `body` (the raw bytes, as
 * received) with `secret` and its timestamp is within `toleranceSeconds` of `now`.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string,
  { toleranceSeconds = DEFAULT_TOLERANCE_SECONDS, now = new Date() } = {},
): boolean {
  const match = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match) return false;
  const timestamp = Number(match[1]);
  if (Math.abs(now.getTime() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(webhookSignature(secret, timestamp, body), 'hex');
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
}
