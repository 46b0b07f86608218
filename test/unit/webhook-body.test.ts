import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHostList } from '../../src/config.ts';
import { sendWebhook } from '../../src/webhooks/send.ts';
import { webhookBody } from '../../src/webhooks/worker.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';

const SECRET = 'whsec-unit-0123456789abcdef';

test("a webhook's event id, event and time are inside the signed body; the header only repeats the id", async () => {
  const receiver = await startReceiver(SECRET);
  try {
    const event = {
      id: 4711,
      event: 'job.completed' as const,
      job: {
        id: 42,
        productRef: 'SKU-1',
        status: 'completed' as const,
        vrListingId: 80123,
        error: null,
        candidates: [],
      },
      createdAt: new Date('2026-11-30T14:02:11.512Z'),
    };
    const outcome = await sendWebhook({
      url: receiver.url,
      body: webhookBody(event),
      secret: SECRET,
      eventId: event.id,
      deliveryId: 9,
      allowHosts: parseHostList(`127.0.0.1:${receiver.port}`),
      timeoutMs: 10_000,
    });
    assert.deepEqual(outcome, { ok: true, statusCode: 200 });
    const [got] = receiver.requests;
    assert.ok(got?.signed, 'the signature verifies over the raw body');
    // `body` is parsed from the raw bytes the signature covers: what the receiver de-duplicates on.
    assert.equal(got.body.id, event.id);
    assert.equal(got.body.id, Number(got.eventId), 'the header is a copy of the signed id');
    assert.equal(got.body.event, 'job.completed');
    assert.equal(got.body.at, '2026-11-30T14:02:11.512Z');
    assert.deepEqual(got.body.job, event.job);
    assert.deepEqual(Object.keys(got.body), ['id', 'event', 'job', 'at']);
  } finally {
    await receiver.close();
  }
});
