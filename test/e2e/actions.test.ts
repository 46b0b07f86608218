import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { OUTAGE_EVENT } from '../../src/outage.ts';
import type { Producer } from '../../src/producer/producer.ts';
import { actionJobId, CREATE_QUEUE, type CreateJobData } from '../../src/queues.ts';
import { type CliProcess, cliArgs, runCli, startCli, startProcess } from '../helpers/cli.ts';
import { type PhotoServer, startPhotoServer } from '../helpers/photo-server.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';
import { FAST_SITE, realMs } from '../helpers/sim-timing.ts';

interface SimListing {
  product_id: number;
  product_model_name: string;
  product_price: number;
  product_description: string;
  sold: boolean;
  deleted: boolean;
  photos: { file_unique_id: string; name: string; type: string; media_id: number | null }[];
}

/** The creation worker's JSON log lines (LOG_LEVEL=warn) in `text`. */
function logLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

describe('actions on listings after their id, with real worker processes and the gate', () => {
  let services: TestServices;
  let sim: Simulator;
  let producer: Producer;
  let photos: PhotoServer;
  let queue: Queue<CreateJobData>;
  const children: CliProcess[] = [];

  before(async () => {
    services = await setupServices();
    photos = await startPhotoServer();
    queue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
    // Variant 1: the AJAX calls answer with an empty body, and an edit answers with the same page.
    // A slow edit POST, so that a kill during an update can land while V&R is still answering it.
    sim = await startSimulator({
      port: 0,
      catalogRows: 50,
      seed: 24,
      variant: 1,
      cloudflare: 'auto',
      submitLatencyMs: realMs(2_000),
      ...FAST_SITE,
    });
    producer = services.producer();
  });

  after(async () => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sim.close();
    await photos.close();
    await queue.close();
    await services.cleanup();
  });

  const env = () =>
    services.env({
      VR_BASE_URL: sim.url,
      VR_USERNAME: 'demo',
      VR_PASSWORD: 'demo',
      FLUSH_SETTLE_MS: '300',
      SWEEP_INTERVAL_MS: '2000',
      WORKER_LOCK_MS: '3000',
      CREATE_BACKOFF_MS: '200',
      // An outage's waits: 200 ms doubling up to 400 ms.
      OUTAGE_RETRY_MAX_MS: '400',
      IMAGE_ALLOW_HOSTS: '127.0.0.1',
    });
  const cli = (args: string[]) => runCli(args, env());
  const simListings = async (): Promise<SimListing[]> =>
    ((await (await fetch(`${sim.url}/__sim/state`)).json()) as { listings: SimListing[] }).listings;
  /** The creation worker in a process group of its own, so that it and its Chromium can be killed at once. */
  const startCreation = () => {
    // Its warnings are read (the outage's one line): only this process logs at warn.
    const proc = startProcess('setsid', [process.execPath, ...cliArgs(), 'worker', 'create'], {
      ...env(),
      LOG_LEVEL: 'warn',
    });
    children.push(proc);
    return proc;
  };
  let creation: CliProcess;
  const byModel = async (model: string) => (await simListings()).find((l) => l.product_model_name === model)!;

  test('sold, price change, delete and a sold asked before the id: each exactly as asked, the fifth untouched', async () => {
    const refs = ['ACT-SOLD', 'ACT-PRICE', 'ACT-DELETE', 'ACT-EARLY', 'ACT-UNTOUCHED'];
    await producer.enqueueListings(
      refs.map((productRef, i) => ({
        productRef,
        brand: 'Fender',
        model: `Action Model ${productRef}`,
        price: 1000 + i,
        description: `<p>Kept text for ${productRef}</p>`,
      })),
    );
    // Asked before any worker runs: it waits for the id, it does not fail.
    const early = await producer.markSold('ACT-EARLY');
    assert.equal(early.status, 'waiting_for_id');
    assert.equal(early.created, true);

    // An unknown ref: named, exit non-zero, nothing written.
    const nope = await cli(['sold', 'NOPE-24']);
    assert.notEqual(nope.code, 0);
    assert.match(nope.stderr, /NOPE-24/);
    const [{ count }] = (await services.database.sql`select count(*)::int as count from vr_actions`) as [
      { count: number },
    ];
    assert.equal(count, 1);

    creation = startCreation();
    children.push(startCli(['worker', 'resolve'], env()));
    await waitFor(
      'all five listings completed',
      async () => {
        const [row] = await services.database.sql`
          select count(*) filter (where status = 'completed')::int as done from vr_jobs`;
        return row!.done === refs.length;
      },
      240_000,
    );

    const sold = await cli(['sold', 'ACT-SOLD', '--json']);
    assert.equal(sold.code, 0, sold.stderr);
    const price = await cli(['update', 'ACT-PRICE', '--price', '777']);
    assert.equal(price.code, 0, price.stderr);
    const removed = await cli(['delete', 'ACT-DELETE', '--yes']);
    assert.equal(removed.code, 0, removed.stderr);

    const actions = await waitFor(
      'every action done',
      async () => {
        const listed = await cli(['actions', '--json']);
        const rows = JSON.parse(listed.stdout) as { productRef: string; status: string; kind: string }[];
        if (rows.some((r) => r.status === 'failed')) throw new Error(`an action failed: ${listed.stdout}`);
        return rows.length === 4 && rows.every((r) => r.status === 'done') ? rows : undefined;
      },
      240_000,
    );
    assert.deepEqual(actions.map((a) => `${a.productRef}:${a.kind}`).sort(), [
      'ACT-DELETE:delete',
      'ACT-EARLY:mark_sold',
      'ACT-PRICE:update',
      'ACT-SOLD:mark_sold',
    ]);

    const soldOne = await byModel('Action Model ACT-SOLD');
    assert.equal(soldOne.sold, true);
    assert.equal(soldOne.deleted, false);
    const early2 = await byModel('Action Model ACT-EARLY');
    assert.equal(early2.sold, true);
    const priced = await byModel('Action Model ACT-PRICE');
    assert.equal(priced.product_price, 777);
    assert.equal(priced.sold, false);
    // item_desc was left out of the edit: the description is as it was.
    assert.match(priced.product_description, /Kept text for ACT-PRICE/);
    assert.equal((await byModel('Action Model ACT-DELETE')).deleted, true);
    const untouched = await byModel('Action Model ACT-UNTOUCHED');
    assert.deepEqual(
      { sold: untouched.sold, deleted: untouched.deleted, price: untouched.product_price },
      { sold: false, deleted: false, price: 1004 },
    );

    // Asked again: nothing written, and it says so.
    const again = await cli(['sold', 'ACT-SOLD', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const [repeat] = JSON.parse(again.stdout) as { created: boolean; message: string }[];
    assert.equal(repeat!.created, false);
    assert.match(repeat!.message, /already sold/);
    const [{ total }] = (await services.database.sql`select count(*)::int as total from vr_actions`) as [
      { total: number },
    ];
    assert.equal(total, 4);

    // The outbox holds their webhook events.
    const events = await services.database.sql`select event from vr_job_events where event like 'action.%'`;
    assert.equal(events.length, 4);
    assert.ok(events.every((e) => e.event === 'action.done'));
  });

  test("the creation worker's process group killed during an update: it completes once after the restart", async () => {
    const simState = async () =>
      (await (await fetch(`${sim.url}/__sim/state`)).json()) as { counters: { edits: number } };
    const editsBefore = (await simState()).counters.edits;
    const asked = await cli(['update', 'ACT-SOLD', '--price', '555', '--json']);
    assert.equal(asked.code, 0, asked.stderr);
    const [{ id }] = JSON.parse(asked.stdout) as [{ id: number }];
    await waitFor(
      'the update in progress',
      async () => {
        const [row] = await services.database.sql`select status from vr_actions where id = ${id}`;
        return row!.status === 'in_progress';
      },
      120_000,
    );
    // Into the edit's POST, which V&R takes 2 s to answer (if it lands before or after, the same holds).
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    process.kill(-creation.child.pid!, 'SIGKILL');
    assert.equal((await creation.exited).signal, 'SIGKILL');
    creation = startCreation();

    const row = await waitFor(
      'the update done after the restart',
      async () => {
        const [r] = await services.database
          .sql`select status, attempts, error from vr_actions where id = ${id}`;
        if (r!.status === 'failed') throw new Error(`the update failed: ${r!.error}`);
        return r!.status === 'done' ? r : undefined;
      },
      180_000,
    );
    assert.ok(Number(row.attempts) >= 2, `attempts ${row.attempts}`);
    assert.equal((await byModel('Action Model ACT-SOLD')).product_price, 555);
    // Applied once: one edit POST reached V&R, however the kill fell.
    assert.equal((await simState()).counters.edits - editsBefore, 1);
  });
  test('V&R down (503 everywhere) during an action: it waits without using its tries, one warning, and completes once V&R is back', async () => {
    const logsFrom = creation.output().length;
    sim.setFaults({ down: true });
    try {
      const asked = await cli(['update', 'ACT-PRICE', '--price', '888', '--json']);
      assert.equal(asked.code, 0, asked.stderr);
      const [{ id }] = JSON.parse(asked.stdout) as [{ id: number }];
      const [{ generation }] = (await services.database
        .sql`select generation from vr_actions where id = ${id}`) as [{ generation: number }];
      const jobId = actionJobId({ id, generation });
      // More waits than CREATE_ATTEMPTS (5): BullMQ's tries would all be gone by now.
      await waitFor(
        'the action to have waited out more tries than CREATE_ATTEMPTS',
        async () => ((await queue.getJob(jobId))?.data.outage?.delays ?? 0) >= 7,
        120_000,
      );
      const job = (await queue.getJob(jobId))!;
      assert.equal(job.attemptsMade, 0, 'no BullMQ attempt used up by the outage');
      assert.notEqual(await job.getState(), 'failed');
      const [waiting] = await services.database
        .sql`select status, attempts, error from vr_actions where id = ${id}`;
      assert.ok(['queued', 'in_progress'].includes(waiting!.status), waiting!.status);
      assert.ok(Number(waiting!.attempts) <= 1, `attempts ${waiting!.attempts} during the outage`);
      assert.match(waiting!.error ?? '', /waiting for V&R to come back: .*503/);
      sim.setFaults({ down: false });

      const done = await waitFor(
        'the update done once V&R is back',
        async () => {
          const [r] = await services.database
            .sql`select status, attempts, error, evidence from vr_actions where id = ${id}`;
          if (r!.status === 'failed') throw new Error(`the update failed: ${r!.error}`);
          return r!.status === 'done' ? r : undefined;
        },
        120_000,
      );
      // Only the try that went through counts: the outage's tries were given back.
      assert.equal(Number(done.attempts), 1);
      assert.match(done.evidence, /edit page shows the asked values/);
      assert.equal((await byModel('Action Model ACT-PRICE')).product_price, 888);
      const outage = logLines(creation.output().slice(logsFrom));
      const downs = outage.filter((l) => l.event === OUTAGE_EVENT.down && l.dependency === 'V&R');
      assert.equal(downs.length, 1, 'one warning for the whole outage');
      assert.equal(outage.filter((l) => l.event === 'creation_attempt_failed').length, 0);
    } finally {
      sim.setFaults({ down: false });
    }
  });

  test('replace_photos: a listing with 2 photos gets 3 new ones; V&R then holds exactly those 3', async () => {
    await producer.enqueueListing({
      productRef: 'ACT-PHOTOS',
      brand: 'Fender',
      model: 'Action Model ACT-PHOTOS',
      price: 1500,
      description: '<p>Kept text for ACT-PHOTOS</p>',
      images: [`${photos.url}/small.jpg`, `${photos.url}/photo.png`],
    });
    await waitFor(
      'ACT-PHOTOS completed',
      async () => {
        const [row] = await services.database
          .sql`select status from vr_jobs where product_ref = 'ACT-PHOTOS'`;
        return row?.status === 'completed';
      },
      240_000,
    );
    const before = await byModel('Action Model ACT-PHOTOS');
    assert.equal(before.photos.length, 2);

    const asked = await cli([
      'photos',
      'ACT-PHOTOS',
      `${photos.url}/photo.webp`,
      `${photos.url}/photo.png`,
      `${photos.url}/small.jpg`,
      '--json',
    ]);
    assert.equal(asked.code, 0, asked.stderr);
    const [{ id, kind }] = JSON.parse(asked.stdout) as [{ id: number; kind: string }];
    assert.equal(kind, 'replace_photos');
    const done = await waitFor(
      'the photos replaced',
      async () => {
        const [r] = await services.database
          .sql`select status, attempts, error, evidence from vr_actions where id = ${id}`;
        if (r!.status === 'failed') throw new Error(`replace_photos failed: ${r!.error}`);
        return r!.status === 'done' ? r : undefined;
      },
      180_000,
    );
    assert.match(done.evidence, /edit page shows 3 new photo/);

    const after = await byModel('Action Model ACT-PHOTOS');
    assert.equal(after.photos.length, 3);
    // New uploads, none of the old: other ids, in the asked order, all JPEG (the WebP converted).
    const oldIds = new Set(before.photos.flatMap((p) => [p.file_unique_id, String(p.media_id)]));
    for (const p of after.photos) {
      assert.ok(!oldIds.has(p.file_unique_id), `old photo ${p.file_unique_id} still there`);
      assert.ok(!oldIds.has(String(p.media_id)), `old media id ${p.media_id} still there`);
    }
    assert.deepEqual(
      after.photos.map((p) => [p.name, p.type]),
      [
        ['photo.jpg', 'image/jpeg'],
        ['photo-2.jpg', 'image/jpeg'],
        ['small.jpg', 'image/jpeg'],
      ],
    );
    // Nothing else changed: the description was left out of the edit.
    assert.match(after.product_description, /Kept text for ACT-PHOTOS/);
    assert.equal(after.product_price, 1500);
    const listed = JSON.parse((await cli(['actions', '--json'])).stdout) as { id: number; status: string }[];
    assert.equal(listed.find((a) => a.id === id)?.status, 'done');
  });
});
