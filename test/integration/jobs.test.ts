import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import {
  applyResolution,
  claimJob,
  clearSubmitStarted,
  completeFromLink,
  failJob,
  lookAgain,
  markOutcomeUnknown,
  markSubmitStarted,
  markSubmitted,
  releaseClaim,
  requeueJob,
  sendStaleToReview,
} from '../../src/db/jobs.ts';
import { JOB_STATUSES, type JobStatus, type VrJob, vrJobs, vrProductLinks } from '../../src/db/schema.ts';
import { validateListing } from '../../src/listing/listing.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

describe('job state transitions (src/db/jobs.ts)', () => {
  let services: TestServices;
  let n = 0;

  before(async () => {
    services = await setupServices();
  });
  after(async () => {
    await services?.cleanup();
  });

  async function row(status: JobStatus, values: Partial<typeof vrJobs.$inferInsert> = {}): Promise<VrJob> {
    const listing = validateListing({
      productRef: `T-${++n}`,
      brand: 'Fender',
      model: 'Telecaster',
      price: 999,
    });
    const [inserted] = await services.database.db
      .insert(vrJobs)
      .values({ productRef: listing.productRef, payload: { listing }, status, ...values })
      .returning();
    return inserted!;
  }
  const read = async (id: number) =>
    (await services.database.db.select().from(vrJobs).where(eq(vrJobs.id, id)))[0]!;

  /** Runs `transition` on a row in each status: it moves exactly the allowed ones, and leaves the rest untouched. */
  async function onlyFrom(
    allowed: JobStatus[],
    transition: (job: VrJob) => Promise<VrJob | undefined>,
    values: Partial<typeof vrJobs.$inferInsert> = {},
  ): Promise<Map<JobStatus, VrJob>> {
    const moved = new Map<JobStatus, VrJob>();
    for (const status of JOB_STATUSES) {
      const job = await row(status, values);
      const result = await transition(job);
      if (allowed.includes(status)) {
        assert.ok(result, `moves from ${status}`);
        moved.set(status, result);
      } else {
        assert.equal(result, undefined, `leaves ${status} alone`);
        assert.deepEqual(await read(job.id), job, `a ${status} row is unchanged`);
      }
    }
    return moved;
  }

  test('claim takes queued and redelivered rows and counts the attempt', async () => {
    const moved = await onlyFrom(['queued', 'in_progress'], (job) => claimJob(services.database.db, job.id));
    for (const job of moved.values()) {
      assert.equal(job.status, 'in_progress');
      assert.equal(job.attempts, 1);
    }
  });

  test('the submit mark is set and cleared only while creating', async () => {
    const payload = {
      listing: validateListing({ productRef: 'X', brand: 'Fender', model: 'Jazz', price: 1 }),
    };
    const moved = await onlyFrom(['in_progress'], (job) =>
      markSubmitStarted(services.database.db, job.id, payload),
    );
    const started = moved.get('in_progress')!;
    assert.ok(started.submitStartedAt);
    assert.equal(started.payload.listing.model, 'Jazz');
    const cleared = await clearSubmitStarted(services.database.db, started.id);
    assert.equal(cleared?.submitStartedAt, null);
  });

  test('submitted and outcome unknown both wait for an id; only the latter says the outcome is unknown', async () => {
    const submitted = (
      await onlyFrom(['in_progress'], (job) => markSubmitted(services.database.db, job.id))
    ).get('in_progress')!;
    assert.equal(submitted.status, 'completed_pending_id');
    assert.equal(submitted.submitOutcomeUnknown, false);
    assert.ok(submitted.submittedAt && submitted.nextResolutionAt);
    const unknown = (
      await onlyFrom(['in_progress'], (job) => markOutcomeUnknown(services.database.db, job.id, 'timed out'))
    ).get('in_progress')!;
    assert.equal(unknown.status, 'completed_pending_id');
    assert.equal(unknown.submitOutcomeUnknown, true);
    assert.match(unknown.error!, /^submit outcome unknown: timed out/);
  });

  test('releasing a claim keeps the generation (the same BullMQ job retries); requeueing bumps it and forgets the submit', async () => {
    const released = (
      await onlyFrom(['in_progress'], (job) =>
        releaseClaim(services.database.db, job.id, 'brand check timed out'),
      )
    ).get('in_progress')!;
    assert.equal(released.status, 'queued');
    assert.equal(released.generation, 0);
    assert.equal(released.error, 'brand check timed out');

    const moved = await onlyFrom(
      ['failed', 'needs_review'],
      (job) => requeueJob(services.database.db, job.id, ['failed', 'needs_review'], null),
      {
        generation: 2,
        resolutionAttempts: 3,
        submittedAt: new Date(),
        submitOutcomeUnknown: true,
        error: 'x',
      },
    );
    for (const job of moved.values()) {
      assert.equal(job.status, 'queued');
      assert.equal(job.generation, 3);
      assert.equal(job.resolutionAttempts, 0);
      assert.equal(job.submittedAt, null);
      assert.equal(job.submitOutcomeUnknown, false);
      assert.equal(job.error, null);
    }
  });

  test('a link completes a job being created or waiting for a person, never one pending resolution', async () => {
    const moved = await onlyFrom(['in_progress', 'failed', 'needs_review'], (job) =>
      completeFromLink(services.database.db, job.id, 5005),
    );
    for (const job of moved.values()) {
      assert.equal(job.status, 'completed');
      assert.equal(job.vrListingId, 5005);
      assert.ok(job.completedAt);
    }
  });

  test('a person retrying a job whose submit began looks again, counted from now, outcome known', async () => {
    const moved = await onlyFrom(
      ['failed', 'needs_review'],
      (job) => lookAgain(services.database.db, job.id),
      {
        resolutionAttempts: 4,
        submitOutcomeUnknown: true,
        submittedAt: new Date(0),
      },
    );
    for (const job of moved.values()) {
      assert.equal(job.status, 'completed_pending_id');
      assert.equal(job.resolutionAttempts, 0);
      assert.equal(job.submitOutcomeUnknown, false);
      assert.ok(job.submittedAt!.getTime() > 0);
    }
  });

  test('failing in creation drops the submit mark; failing in resolution keeps it, so a retry never submits again', async () => {
    const mark = { submitStartedAt: new Date() };
    const creation = (
      await onlyFrom(['in_progress'], (job) => failJob(services.database.db, job.id, 'V&R rejected it'), mark)
    ).get('in_progress')!;
    assert.equal(creation.status, 'failed');
    assert.equal(creation.submitStartedAt, null);
    const resolution = (
      await onlyFrom(
        ['completed_pending_id'],
        (job) => applyResolution(services.database.db, job, { kind: 'not_found', resolutionAttempts: 5 }),
        mark,
      )
    ).get('completed_pending_id')!;
    assert.equal(resolution.status, 'failed');
    assert.equal(resolution.error, 'not found in the V&R export after 5 attempts');
    assert.ok(resolution.submitStartedAt);
  });

  test("the flush's steps apply only to pending rows; a found id completes the job and links the product", async () => {
    const db = services.database.db;
    const completed = (
      await onlyFrom(['completed_pending_id'], (job) =>
        db.transaction((tx) => applyResolution(tx, job, { kind: 'complete', vrListingId: 7000 + job.id })),
      )
    ).get('completed_pending_id')!;
    assert.equal(completed.status, 'completed');
    const links = await db.select().from(vrProductLinks).where(eq(vrProductLinks.jobId, completed.id));
    assert.deepEqual(
      links.map((l) => [l.productRef, l.vrListingId]),
      [[completed.productRef, 7000 + completed.id]],
      'linked once, and only the row that moved',
    );

    const pending = await row('completed_pending_id', { generation: 1, submitOutcomeUnknown: true });
    const resubmitted = await applyResolution(db, pending, { kind: 'resubmit', reason: 'never shown' });
    assert.equal(resubmitted?.status, 'queued');
    assert.equal(resubmitted?.generation, 2);

    const ambiguous = await row('completed_pending_id');
    const review = await applyResolution(db, ambiguous, {
      kind: 'ambiguous',
      candidates: [11, 12],
      resolutionAttempts: 2,
    });
    assert.equal(review?.status, 'needs_review');
    assert.deepEqual(review?.payload.candidates, [11, 12]);
    assert.equal(review?.payload.listing.productRef, ambiguous.productRef, 'the listing is kept');

    const waiting = await row('completed_pending_id', { resolutionAttempts: 1 });
    const at = new Date(Date.now() + 60_000);
    const waited = await applyResolution(db, waiting, { kind: 'wait', nextResolutionAt: at });
    assert.equal(waited?.status, 'completed_pending_id');
    assert.equal(waited?.resolutionAttempts, 1, 'a wait without a try keeps the count');
    assert.equal(waited?.nextResolutionAt?.getTime(), at.getTime());
  });

  test('the sweep sends only listings pending since before the cut-off to a person', async () => {
    const old = await row('completed_pending_id', { submittedAt: new Date(Date.now() - 3_600_000) });
    const fresh = await row('completed_pending_id', { submittedAt: new Date() });
    const failedOld = await row('failed', { submittedAt: new Date(Date.now() - 3_600_000) });
    const ids = await sendStaleToReview(services.database.db, new Date(Date.now() - 600_000), 600_000);
    assert.ok(ids.includes(old.id));
    assert.ok(!ids.includes(fresh.id) && !ids.includes(failedOld.id));
    const stale = await read(old.id);
    assert.equal(stale.status, 'needs_review');
    assert.match(stale.error!, /pending for over 10 minutes/);
    assert.equal((await read(fresh.id)).status, 'completed_pending_id');
  });
});
