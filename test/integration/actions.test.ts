import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { connectApiRedis } from '../../src/api/main.ts';
import { InvalidActionError, validateAction } from '../../src/listing/action.ts';
import { silentLogger } from '../../src/logger.ts';
import { ActionRefusedError, UnknownListingError } from '../../src/producer/actions.ts';
import type { Producer } from '../../src/producer/producer.ts';
import { buildTestApi } from '../helpers/api.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

const TOKEN = 'test-token-actions-0123456789';

describe('asking for actions on listings: bad input, unknown and refused listings', () => {
  let services: TestServices;
  let producer: Producer;

  before(async () => {
    services = await setupServices();
    producer = services.producer();
    await producer.enqueueListings([
      { productRef: 'LIVE-1', brand: 'Fender', model: 'Stratocaster', price: 1000 },
      { productRef: 'BROKEN-1', brand: 'Gibson', model: 'Les Paul', price: 2000 },
    ]);
    await services.database
      .sql`update vr_jobs set status = 'failed', error = 'V&R refused it' where product_ref = 'BROKEN-1'`;
  });

  after(async () => services.cleanup());

  const actionCount = async () =>
    Number((await services.database.sql`select count(*)::int as n from vr_actions`)[0]!.n);

  test('a negative or fractional price, an unknown field or a wrong type: the field is named, nothing written', async () => {
    const badChanges = fc.oneof(
      fc.integer({ max: 0 }).map((price) => ({ changes: { price }, field: 'changes.price' })),
      fc
        .double({ min: 0.01, max: 1e6, noNaN: true })
        .filter((p) => !Number.isInteger(p))
        .map((price) => ({ changes: { price }, field: 'changes.price' })),
      fc
        .string({ minLength: 1, maxLength: 12 })
        .filter((k) => !['price', 'description', 'shipping', 'processingTime', '__proto__'].includes(k))
        .map((key) => ({ changes: { [key]: 1 }, field: `changes.${key}` })),
      fc
        .oneof(fc.string(), fc.boolean(), fc.constant(null))
        .map((price) => ({ changes: { price }, field: 'changes.price' })),
      fc.integer({ min: -1000, max: -1 }).map((fee) => ({
        changes: { shipping: { fees: { uk: fee } } },
        field: 'changes.shipping.fees.uk',
      })),
    );
    await fc.assert(
      fc.asyncProperty(badChanges, async ({ changes, field }) => {
        await assert.rejects(
          () => producer.updateListing('LIVE-1', changes as never),
          (error: unknown) =>
            error instanceof InvalidActionError && error.errors.some((e) => e.field === field),
        );
      }),
      { numRuns: 60 },
    );
    assert.equal(await actionCount(), 0);
  });

  test('replace_photos: a bad photo URL, too many or none, or an unknown field: the field is named, nothing written', async () => {
    const good = (i: number) => `https://shop.example/photos/${i}.jpg`;
    const badUrl = fc.oneof(
      fc.constantFrom('ftp://shop.example/a.jpg', 'file:///etc/passwd', 'not a url', 'javascript:alert(1)'),
      fc.webUrl({ validSchemes: ['https'] }).map((u) => u.replace('https://', 'https://user:secret@')),
      fc.oneof(fc.integer(), fc.boolean(), fc.constant(null)),
    );
    const badPhotos = fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 20 }), fc.nat(), badUrl).map(([count, at, bad]) => {
        const index = at % count;
        const list: unknown[] = Array.from({ length: count }, (_, i) => good(i));
        list[index] = bad;
        return { changes: { photos: list }, field: `changes.photos.${index}` };
      }),
      fc.integer({ min: 21, max: 40 }).map((count) => ({
        changes: { photos: Array.from({ length: count }, (_, i) => good(i)) },
        field: 'changes.photos',
      })),
      fc.constant({ changes: { photos: [] }, field: 'changes.photos' }),
      fc.constant({ changes: {}, field: 'changes.photos' }),
      fc
        .oneof(fc.string(), fc.constant(null))
        .map((photos) => ({ changes: { photos }, field: 'changes.photos' })),
      fc
        .string({ minLength: 1, maxLength: 12 })
        .filter((k) => !['photos', '__proto__'].includes(k))
        .map((key) => ({
          changes: { photos: [good(0)], [key]: 1 },
          field: `changes.${key}`,
          photosOk: true,
        })),
    );
    await fc.assert(
      fc.asyncProperty(badPhotos, async (bad) => {
        const { changes, field } = bad;
        const named = (error: unknown) =>
          error instanceof InvalidActionError && error.errors.some((e) => e.field === field);
        // The whole changes object, as the API passes it on.
        assert.throws(() => validateAction({ productRef: 'LIVE-1', kind: 'replace_photos', changes }), named);
        if (!('photosOk' in bad))
          await assert.rejects(
            () => producer.replacePhotos('LIVE-1', (changes as { photos: string[] }).photos),
            named,
          );
      }),
      { numRuns: 80 },
    );
    // 21 photos: the limit is named.
    await assert.rejects(
      () =>
        producer.replacePhotos(
          'LIVE-1',
          Array.from({ length: 21 }, (_, i) => good(i)),
        ),
      /changes\.photos must have at most 20 images/,
    );
    // Photos are not something an update changes, nor a mark_sold.
    await assert.rejects(
      () => producer.updateListing('LIVE-1', { photos: [good(0)] } as never),
      (error: unknown) =>
        error instanceof InvalidActionError && error.errors.some((e) => e.field === 'changes.photos'),
    );
    assert.equal(await actionCount(), 0);
  });

  test('an unknown product ref is named; nothing is written', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^NOPE-[A-Za-z0-9]{1,20}$/), async (ref) => {
        await assert.rejects(
          () => producer.markSold(ref),
          (error: unknown) => error instanceof UnknownListingError && error.message.includes(ref),
        );
      }),
      { numRuns: 30 },
    );
    await assert.rejects(() => producer.deleteListing('bad ref with spaces'), /productRef/);
    assert.equal(await actionCount(), 0);
  });

  test('a failed listing is refused with the reason; a listing without its id waits; asking twice writes once', async () => {
    await assert.rejects(
      () => producer.markSold('BROKEN-1'),
      (error: unknown) =>
        error instanceof ActionRefusedError && /failed \(V&R refused it\)/.test(error.message),
    );
    const first = await producer.updateListing('LIVE-1', { price: 900 });
    assert.equal(first.status, 'waiting_for_id');
    assert.equal(first.created, true);
    const second = await producer.updateListing('LIVE-1', { price: 900 });
    assert.equal(second.created, false);
    assert.equal(second.id, first.id);
    const sold = await producer.markSold('LIVE-1');
    const soldAgain = await producer.markSold('LIVE-1');
    assert.equal(soldAgain.created, false);
    assert.equal(soldAgain.id, sold.id);
    assert.equal(await actionCount(), 2);
  });

  test('an action in a host transaction that rolls back leaves nothing', async () => {
    await assert.rejects(
      services.database.sql.begin(async (tx) => {
        await producer.deleteListing('LIVE-1', { tx });
        throw new Error('host rolls back');
      }),
      /host rolls back/,
    );
    const rows = await services.database.sql`select kind from vr_actions where kind = 'delete'`;
    assert.equal(rows.length, 0);
  });

  test('the API: 202 with the action, 400 naming the field, 404 for an unknown ref, the list, one action, and the metric', async () => {
    const redis = connectApiRedis(services.redisUrl, silentLogger);
    const app = await buildTestApi(services, { env: { API_TOKEN: TOKEN }, redis });
    const auth = { authorization: `Bearer ${TOKEN}` };
    try {
      const before = await actionCount();
      const bad = await app.inject({
        method: 'POST',
        url: '/api/vr/listings/LIVE-1/actions',
        headers: auth,
        payload: { kind: 'update', changes: { price: -5, colour: 'red' } },
      });
      assert.equal(bad.statusCode, 400);
      const fields = (bad.json() as { errors: { field: string }[] }).errors.map((e) => e.field).sort();
      assert.deepEqual(fields, ['changes.colour', 'changes.price']);
      const tooMany = await app.inject({
        method: 'POST',
        url: '/api/vr/listings/LIVE-1/actions',
        headers: auth,
        payload: {
          kind: 'replace_photos',
          changes: { photos: Array.from({ length: 21 }, (_, i) => `https://shop.example/${i}.jpg`) },
        },
      });
      assert.equal(tooMany.statusCode, 400);
      assert.deepEqual(
        (tooMany.json() as { errors: { field: string }[] }).errors.map((e) => e.field),
        ['changes.photos'],
      );
      const badUrl = await app.inject({
        method: 'POST',
        url: '/api/vr/listings/LIVE-1/actions',
        headers: auth,
        payload: {
          kind: 'replace_photos',
          changes: { photos: ['https://shop.example/1.jpg', 'ftp://x/2.jpg'] },
        },
      });
      assert.equal(badUrl.statusCode, 400);
      assert.deepEqual(
        (badUrl.json() as { errors: { field: string }[] }).errors.map((e) => e.field),
        ['changes.photos.1'],
      );
      const unknown = await app.inject({
        method: 'POST',
        url: '/api/vr/listings/NOPE-API/actions',
        headers: auth,
        payload: { kind: 'mark_sold' },
      });
      assert.equal(unknown.statusCode, 404);
      assert.match(unknown.body, /NOPE-API/);
      assert.equal(await actionCount(), before);

      const asked = await app.inject({
        method: 'POST',
        url: '/api/vr/listings/LIVE-1/actions',
        headers: auth,
        payload: { kind: 'update', changes: { price: 850 } },
      });
      assert.equal(asked.statusCode, 202, asked.body);
      const action = asked.json() as { id: number; status: string; created: boolean };
      assert.equal(action.status, 'waiting_for_id');
      assert.equal(action.created, true);
      const photos = await app.inject({
        method: 'POST',
        url: '/api/vr/listings/LIVE-1/actions',
        headers: auth,
        payload: { kind: 'replace_photos', changes: { photos: ['https://shop.example/new-1.jpg'] } },
      });
      assert.equal(photos.statusCode, 202, photos.body);
      const replacing = photos.json() as { kind: string; status: string; changes: { photos: string[] } };
      assert.deepEqual(
        { kind: replacing.kind, status: replacing.status, changes: replacing.changes },
        {
          kind: 'replace_photos',
          status: 'waiting_for_id',
          changes: { photos: ['https://shop.example/new-1.jpg'] },
        },
      );
      const one = await app.inject({ url: `/api/vr/actions/${action.id}`, headers: auth });
      assert.equal((one.json() as { id: number }).id, action.id);
      const list = await app.inject({ url: '/api/vr/actions?status=waiting_for_id', headers: auth });
      assert.ok((list.json() as { actions: { id: number }[] }).actions.some((a) => a.id === action.id));
      assert.equal((await app.inject({ url: '/api/vr/actions/999999', headers: auth })).statusCode, 404);

      await services.database.sql`update vr_actions set status = 'done' where id = ${action.id}`;
      const metrics = await app.inject({ url: '/metrics', headers: auth });
      assert.match(metrics.body, /vr_lister_actions_total\{kind="update",outcome="done"\} 1/);
    } finally {
      await app.close();
      redis.disconnect();
    }
  });
});
