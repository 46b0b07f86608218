import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

interface Row {
  status: string;
  generation: number;
  vr_listing_id: number | null;
  submit_started_at: Date | null;
}

describe('a person decides a job in review: retry --resubmit and link', () => {
  let services: TestServices;
  const row = async (id: number) =>
    (
      await services.database.sql<Row[]>`
        select status, generation, vr_listing_id::int, submit_started_at from vr_jobs where id = ${id}`
    )[0]!;

  /** A job whose Publish left with an unknown outcome and that no export showed. */
  async function inReview(ref: string): Promise<number> {
    const job = await services
      .producer()
      .enqueueListing({ productRef: ref, brand: 'Fender', model: 'Jaguar', price: 1900 });
    await services.database.sql`
      update vr_jobs set status = 'needs_review', submit_started_at = now(), submitted_at = now(),
        submit_outcome_unknown = true, error = 'the Publish was sent but its outcome is unknown'
      where id = ${job.id}`;
    return job.id;
  }

  before(async () => {
    services = await setupServices();
    // The last complete export held ids up to 5000.
    await services.database.sql`
      insert into vr_resolution_runs (trigger, finished_at, max_product_id, rows_scanned)
      values ('test', now(), 5000, 30)`;
  });
  after(() => services.cleanup());

  test('retry without --resubmit looks again and keeps the submit mark; with --resubmit it goes back to creation', async () => {
    const id = await inReview('REV-1');
    const plain = await runCli(['retry', String(id), '--json'], services.env());
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(JSON.parse(plain.stdout).action, 'resolving');
    assert.equal((await row(id)).status, 'completed_pending_id');
    assert.ok((await row(id)).submit_started_at, 'the mark stays: never a second submit by itself');

    await services.database.sql`update vr_jobs set status = 'needs_review' where id = ${id}`;
    const resubmit = await runCli(['retry', String(id), '--resubmit', '--json'], services.env());
    assert.equal(resubmit.code, 0, resubmit.stderr);
    assert.equal(JSON.parse(resubmit.stdout).action, 'requeued');
    const after = await row(id);
    assert.equal(after.status, 'queued');
    assert.equal(after.generation, 1);
    assert.equal(after.submit_started_at, null);
  });

  test('link completes the job with the id and links the product; refused for an id not in the last export or linked elsewhere', async () => {
    const id = await inReview('REV-2');
    const unseen = await runCli(['link', String(id), '9000'], services.env());
    assert.equal(unseen.code, 2);
    assert.match(unseen.stderr, /not in the last complete export \(highest id 5000\)/);
    assert.equal((await row(id)).status, 'needs_review');

    await services.database
      .sql`insert into vr_product_links (product_ref, vr_listing_id) values ('OTHER', 4001)`;
    const taken = await runCli(['link', String(id), '4001'], services.env());
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, /already linked to productRef OTHER/);

    const linked = await runCli(['link', String(id), '4002', '--json'], services.env());
    assert.equal(linked.code, 0, linked.stderr);
    assert.deepEqual(JSON.parse(linked.stdout), { action: 'linked', id, vrListingId: 4002 });
    assert.equal((await row(id)).status, 'completed');
    assert.equal((await row(id)).vr_listing_id, 4002);
    // The person's listing is read back like a found one.
    const [read] = await services.database.sql<{ verification: unknown }[]>`
      select verification from vr_jobs where id = ${id}`;
    assert.deepEqual(read?.verification, { status: 'pending', differences: [], checkedAt: null });
    const [link] = await services.database.sql<{ product_ref: string }[]>`
      select product_ref from vr_product_links where vr_listing_id = 4002`;
    assert.equal(link?.product_ref, 'REV-2');

    const again = await runCli(['link', String(id), '4002'], services.env());
    assert.equal(again.code, 2);
    assert.match(again.stderr, /is completed: only failed or needs_review jobs can be linked/);
  });
});
