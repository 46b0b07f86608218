import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { JobResultEvent } from '../../src/producer/job-events.ts';
import { ResultTimeoutError } from '../../src/producer/producer.ts';
import { startCli } from '../helpers/cli.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';

const listing = (productRef: string, model = 'Telecaster') => ({
  productRef,
  brand: 'Fender',
  model,
  price: 1500,
  category: 'Guitars>Electric solid body',
});

describe('producer events, driven by status changes in Postgres', () => {
  let services: TestServices;
  before(async () => {
    services = await setupServices();
  });
  after(async () => {
    await services.cleanup();
  });

  const finish = (id: number, status: string, vrId: number | null = null) =>
    services.database
      .sql`update vr_jobs set status = ${status}::vr_job_status, vr_listing_id = ${vrId} where id = ${id}`;

  test('onResult: each final job once, from any writer, also across a lost LISTEN connection', async () => {
    const producer = services.producer();
    const seen: JobResultEvent[] = [];
    const stop = producer.onResult((event) => seen.push(event));
    const jobs = await producer.enqueueListings([
      listing('EV-1'),
      listing('EV-2'),
      listing('EV-3'),
      listing('EV-4'),
    ]);
    await waitFor('listening', async () => {
      const [row] = await services.database
        .sql`select 1 from pg_stat_activity where datname = current_database() and query ilike 'listen%'`;
      return row;
    });
    await finish(jobs[0]!.id, 'in_progress');
    await finish(jobs[0]!.id, 'completed', 4001);
    await finish(jobs[1]!.id, 'failed');
    await waitFor('two events', () => seen.length === 2);
    // The LISTEN connection dropped (a Postgres restart, a proxy timeout): events written meanwhile arrive.
    await services.database
      .sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query ilike 'listen%'`;
    await finish(jobs[2]!.id, 'needs_review');
    await finish(jobs[3]!.id, 'completed', 4004);
    await waitFor('four events', () => seen.length >= 4, 90_000);
    stop();
    assert.deepEqual(
      seen.map((e) => [e.job.productRef, e.event, e.job.vrListingId]),
      [
        ['EV-1', 'job.completed', 4001],
        ['EV-2', 'job.failed', null],
        ['EV-3', 'job.needs_review', null],
        ['EV-4', 'job.completed', 4004],
      ],
    );
    assert.equal(new Set(seen.map((e) => e.id)).size, 4);
  });

  test('onResult: an event still being committed when it starts listening is not skipped', async (t) => {
    const enqueuer = services.producer();
    const [slow, quick] = await enqueuer.enqueueListings([listing('EV-SLOW'), listing('EV-QUICK')]);
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => {
      commit = resolve;
    });
    // The slow transaction takes the lower event id and commits after a higher one is visible.
    const inFlight = services.database.sql.begin(async (tx) => {
      await tx`update vr_jobs set status = 'completed', vr_listing_id = 6001 where id = ${slow!.id}`;
      await committed;
    });
    // Not left open (holding a connection and the row) when the test fails before it commits.
    t.after(() => {
      commit();
      return inFlight.catch(() => {});
    });
    await waitFor('the slow event written', async () => {
      const [row] = await services.database
        .sql`select 1 from pg_stat_activity where state = 'idle in transaction' and datname = current_database()`;
      return row;
    });
    await finish(quick!.id, 'failed');
    const producer = services.producer();
    const seen: JobResultEvent[] = [];
    producer.onResult((event) => seen.push(event));
    await producer.waitForResult('EV-QUICK', { timeoutMs: 10_000 });
    commit();
    await inFlight;
    await waitFor('the slow event', () => seen.some((e) => e.job.productRef === 'EV-SLOW'), 90_000);
    assert.deepEqual(
      seen.map((e) => e.job.productRef),
      ['EV-SLOW'],
      'the event committed before listening began is not replayed; the one in flight arrives',
    );
  });

  test('waitForResult: at once for a job already final; ResultTimeoutError when none comes', async () => {
    const producer = services.producer();
    const job = await producer.enqueueListing(listing('EV-DONE'));
    await finish(job.id, 'completed', 5005);
    const result = await producer.waitForResult('EV-DONE', { timeoutMs: 10_000 });
    assert.deepEqual(result, {
      id: job.id,
      productRef: 'EV-DONE',
      status: 'completed',
      vrListingId: 5005,
      error: null,
      candidates: [],
    });
    await producer.enqueueListing(listing('EV-WAITING'));
    await assert.rejects(producer.waitForResult('EV-WAITING', { timeoutMs: 300 }), ResultTimeoutError);
    const waiting = producer.waitForResult('EV-LATER', { timeoutMs: 30_000 });
    const later = await producer.enqueueListing(listing('EV-LATER'));
    await finish(later.id, 'failed');
    assert.equal((await waiting).status, 'failed');
  });
});

describe('end to end through `vr-lister start` (real workers, Chromium, the simulator): waitForResult and webhooks', () => {
  let services: TestServices;
  before(async () => {
    services = await setupServices();
  });
  after(async () => {
    await services.cleanup();
  });

  test('5 listings: waitForResult resolves with their V&R ids; a receiver failing 3 times gets each signed event, once each in the log', async () => {
    const secret = 'whsec-e2e-0123456789abcdef';
    const receiver = await startReceiver(secret, (n) => (n <= 3 ? 500 : 200));
    const system = startCli(
      ['start'],
      services.env({
        API_PORT: '0',
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: secret,
        WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
        WEBHOOK_BACKOFF_MS: '200',
        // Above the built-in simulator's indexing delay (1 s), below the default 5 s: each flush waits less.
        FLUSH_SETTLE_MS: '1500',
      }),
    );
    try {
      await waitFor('the start banner', () => /Stop:/.test(system.output()), 120_000);
      const api = /API:\s+(http:\/\/127\.0\.0\.1:\d+)\s/.exec(system.output())![1]!;
      const token = /API token:\s+(\S+)/.exec(system.output())![1]!;
      const producer = services.producer();
      const refs = Array.from({ length: 5 }, (_, i) => `E2E-WAIT-${i}`);
      const results = refs.map((ref) => producer.waitForResult(ref, { timeoutMs: 400_000 }));
      await producer.enqueueListings(refs.map((ref, i) => listing(ref, `Telecaster ${i}`)));
      const done = await Promise.all(results);
      for (const [i, result] of done.entries()) {
        assert.equal(result.productRef, refs[i]);
        assert.equal(result.status, 'completed', result.error ?? '');
        assert.ok(Number.isInteger(result.vrListingId) && result.vrListingId! > 0);
      }
      assert.equal(new Set(done.map((r) => r.vrListingId)).size, refs.length);
      await waitFor('every webhook accepted', () => receiver.accepted().length >= refs.length, 120_000);
      assert.ok(
        receiver.requests.every((r) => r.signed && r.body.id === Number(r.eventId)),
        'every request signed, its event id inside the signed body',
      );
      assert.equal(receiver.requests.length - receiver.accepted().length, 3, 'three refusals');
      assert.deepEqual(
        receiver
          .accepted()
          .map((r) => [r.body.job.productRef, r.body.job.vrListingId])
          .sort(),
        done.map((r) => [r.productRef, r.vrListingId]).sort(),
        'one accepted event per job, with its V&R id',
      );
      const log = await waitFor('the log shows every delivery delivered', async () => {
        const answer = await fetch(`${api}/api/vr/webhooks/deliveries?limit=100`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const { deliveries } = (await answer.json()) as {
          deliveries: { eventId: number; status: string; attempts: number }[];
        };
        return deliveries.length === refs.length && deliveries.every((d) => d.status === 'delivered')
          ? deliveries
          : undefined;
      });
      assert.equal(new Set(log.map((d) => d.eventId)).size, refs.length, 'each event once in the log');
      assert.equal(
        log.reduce((sum, d) => sum + d.attempts, 0),
        refs.length + 3,
      );
    } finally {
      system.child.kill('SIGTERM');
      await system.exited;
      await receiver.close();
    }
  });
});
