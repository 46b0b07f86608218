import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { claimJob, PENDING_VERIFICATION } from '../../src/db/jobs.ts';
import { type JobStatus, type Verification, vrJobs, vrSiteTrust } from '../../src/db/schema.ts';
import {
  enterLane,
  proveSite,
  readSiteTrust,
  recordListingOutcome,
  resumeCreation,
  SUSPECT_PAUSE_AFTER,
} from '../../src/db/site-trust.ts';
import { validateListing } from '../../src/listing/listing.ts';
import { silentLogger } from '../../src/logger.ts';
import { settleVerification } from '../../src/resolution/verify-job.ts';
import { buildTestApi } from '../helpers/api.ts';
import { runCli } from '../helpers/cli.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

describe('site trust: probation and the circuit breaker (src/db/site-trust.ts)', () => {
  let services: TestServices;
  let n = 0;
  const db = () => services.database.db;

  before(async () => {
    services = await setupServices({ siteProven: false });
  });
  after(async () => {
    await services?.cleanup();
  });
  beforeEach(async () => {
    // Each test starts as a fresh install: no jobs, the site not proven.
    await db().delete(vrJobs);
    await db().update(vrSiteTrust).set({
      provenAt: null,
      provenBy: null,
      suspectStreak: 0,
      suspectJobs: [],
      pausedAt: null,
      pauseReason: null,
    });
  });

  async function row(status: JobStatus, values: Partial<typeof vrJobs.$inferInsert> = {}): Promise<number> {
    const listing = validateListing({
      productRef: `T-${++n}`,
      brand: 'Fender',
      model: 'Telecaster',
      price: 999,
    });
    const [inserted] = await db()
      .insert(vrJobs)
      .values({ productRef: listing.productRef, payload: { listing }, status, ...values })
      .returning();
    return inserted!.id;
  }
  const statusOf = async (id: number) =>
    (
      await db()
        .select({ status: vrJobs.status, attempts: vrJobs.attempts })
        .from(vrJobs)
        .where(eq(vrJobs.id, id))
    )[0]!;

  test('a fresh install is not proven, not paused', async () => {
    const trust = await readSiteTrust(db());
    assert.equal(trust.provenAt, null);
    assert.equal(trust.pausedAt, null);
    assert.equal(trust.suspectStreak, 0);
  });

  test('one proven listing proves the site for good; a later suspect does not undo it', async () => {
    const { trust } = await recordListingOutcome(db(), { jobId: 7, outcome: 'proven' });
    assert.ok(trust.provenAt);
    assert.equal(trust.provenBy, 'job 7');
    await recordListingOutcome(db(), { jobId: 8, outcome: 'suspect' });
    const after = await readSiteTrust(db());
    assert.equal(after.provenBy, 'job 7');
    assert.equal(after.suspectStreak, 1);
    // A second proof keeps the first one's record.
    await recordListingOutcome(db(), { jobId: 9, outcome: 'proven' });
    assert.equal((await readSiteTrust(db())).provenBy, 'job 7');
  });

  test(`${SUSPECT_PAUSE_AFTER} consecutive suspects pause once; a proven one in between ends the streak`, async () => {
    await recordListingOutcome(db(), { jobId: 1, outcome: 'suspect' });
    await recordListingOutcome(db(), { jobId: 2, outcome: 'suspect' });
    await recordListingOutcome(db(), { jobId: 3, outcome: 'proven' });
    assert.equal((await readSiteTrust(db())).suspectStreak, 0, 'a proven listing ends the streak');
    const first = await recordListingOutcome(db(), { jobId: 4, outcome: 'suspect' });
    // The same job counted twice (a replayed flush) is one suspect, not two.
    const again = await recordListingOutcome(db(), { jobId: 4, outcome: 'suspect' });
    const second = await recordListingOutcome(db(), { jobId: 5, outcome: 'suspect' });
    assert.deepEqual([first.paused, again.paused, second.paused], [false, false, false]);
    assert.equal(second.trust.suspectStreak, 2);
    const third = await recordListingOutcome(db(), { jobId: 6, outcome: 'suspect' });
    assert.equal(third.paused, true, 'the third trips the breaker');
    assert.ok(third.trust.pausedAt);
    assert.match(third.trust.pauseReason ?? '', /jobs 4, 5, 6.*vr-lister resume/);
    const fourth = await recordListingOutcome(db(), { jobId: 10, outcome: 'suspect' });
    assert.equal(fourth.paused, false, 'already paused: no second trip to log');
    assert.equal(fourth.trust.suspectStreak, 4);
  });

  test('resume clears the pause and the streak; says whether there was a pause', async () => {
    for (const jobId of [1, 2, 3]) await recordListingOutcome(db(), { jobId, outcome: 'suspect' });
    const resumed = await resumeCreation(db());
    assert.equal(resumed.wasPaused, true);
    assert.equal(resumed.trust.pausedAt, null);
    assert.equal(resumed.trust.suspectStreak, 0);
    assert.deepEqual(resumed.trust.suspectJobs, []);
    assert.equal((await resumeCreation(db())).wasPaused, false);
    // After a resume it takes three new suspects to pause again.
    await recordListingOutcome(db(), { jobId: 4, outcome: 'suspect' });
    assert.equal((await readSiteTrust(db())).pausedAt, null);
  });

  test('the gate, not proven: the first listing takes the lane (no try used), the next waits for its outcome', async () => {
    const first = await row('queued');
    const second = await row('queued');
    assert.deepEqual(await enterLane(db(), first), { kind: 'go' });
    assert.deepEqual(
      await statusOf(first),
      { status: 'in_progress', attempts: 0 },
      'reserved, no try counted',
    );
    const waiting = await enterLane(db(), second);
    assert.equal(waiting.kind, 'wait');
    assert.equal(waiting.kind === 'wait' && waiting.busyJobId, first);
    assert.equal((await statusOf(second)).status, 'queued');
    // Its redelivery (the same row) is not held up by itself; claimJob then counts the try.
    assert.deepEqual(await enterLane(db(), first), { kind: 'go' });
    await claimJob(db(), first);
    assert.equal((await statusOf(first)).attempts, 1);
    // Submitted: still between submit and outcome.
    await db().update(vrJobs).set({ status: 'completed_pending_id' }).where(eq(vrJobs.id, first));
    assert.equal((await enterLane(db(), second)).kind, 'wait');
    // Found (or sent to review): the lane is free.
    await db().update(vrJobs).set({ status: 'needs_review' }).where(eq(vrJobs.id, first));
    assert.deepEqual(await enterLane(db(), second), { kind: 'go' });
  });

  test('the gate: two workers asking at once give the lane to one', async () => {
    const a = await row('queued');
    const b = await row('queued');
    const decisions = await Promise.all([enterLane(db(), a), enterLane(db(), b)]);
    assert.deepEqual(decisions.map((d) => d.kind).sort(), ['go', 'wait']);
  });

  test('the read-back settles it: a found listing proves the site only once read back matching; mismatches are suspects, and 3 pause creation', async () => {
    const settle = (id: number, verification: Verification) =>
      db()
        .select()
        .from(vrJobs)
        .where(eq(vrJobs.id, id))
        .then(([found]) =>
          settleVerification({ database: services.database, logger: silentLogger }, found!, verification),
        );
    const found = (vrListingId: number) =>
      row('completed', {
        vrListingId,
        submittedAt: new Date(),
        verification: PENDING_VERIFICATION,
      });
    const mismatch: Verification = {
      status: 'mismatch',
      differences: [{ field: 'shipping.fees.uk', asked: 25, found: null }],
      checkedAt: new Date().toISOString(),
    };

    // Found but not read back yet: not proven, and probation still waits for it.
    const first = await found(5001);
    assert.equal((await readSiteTrust(db())).provenAt, null);
    const next = await row('queued');
    const waiting = await enterLane(db(), next);
    assert.equal(waiting.kind === 'wait' && waiting.busyJobId, first, 'waits for the read-back');
    await settle(first, { status: 'ok', differences: [], checkedAt: new Date().toISOString() });
    assert.ok((await readSiteTrust(db())).provenAt, 'read back matching: proven');
    assert.deepEqual(await enterLane(db(), next), { kind: 'go' });

    // Three mismatches in a row pause creation.
    for (const [i, vrListingId] of [5002, 5003, 5004].entries()) {
      await settle(await found(vrListingId), mismatch);
      assert.equal(!!(await readSiteTrust(db())).pausedAt, i === 2, `after ${i + 1} mismatch(es)`);
    }
    assert.equal((await enterLane(db(), await row('queued'))).kind, 'paused');
  });

  test('the gate, proven: every job goes at once', async () => {
    await proveSite(db(), 'a round trip');
    const busy = await row('completed_pending_id');
    const next = await row('queued');
    assert.ok(busy);
    assert.deepEqual(await enterLane(db(), next), { kind: 'go' });
    assert.equal((await statusOf(next)).status, 'queued', 'nothing to reserve once proven');
  });

  test('the gate, paused: every job is held, proven or not, except one whose submit already began', async () => {
    await proveSite(db(), 'a round trip');
    for (const jobId of [1, 2, 3]) await recordListingOutcome(db(), { jobId, outcome: 'suspect' });
    const next = await row('queued');
    const decision = await enterLane(db(), next);
    assert.equal(decision.kind, 'paused');
    assert.match(decision.kind === 'paused' ? decision.reason : '', /vr-lister resume/);
    // A row that already began its submit is never submitted again: it goes on to be looked for.
    const begun = await row('queued', { submitStartedAt: new Date() });
    assert.deepEqual(await enterLane(db(), begun), { kind: 'go' });
    await resumeCreation(db());
    assert.deepEqual(await enterLane(db(), next), { kind: 'go' });
  });

  test('the pause is as loud as a blocked session: status, watch, the API, /metrics; resume ends it', async () => {
    for (const jobId of [1, 2, 3]) await recordListingOutcome(db(), { jobId, outcome: 'suspect' });
    const env = services.env();
    const status = await runCli(['status'], env);
    assert.match(status.stdout, /^V&R: 3 listings in a row .*vr-lister resume/m);
    const statusJson = JSON.parse((await runCli(['status', '--json'], env)).stdout);
    assert.equal(statusJson.site_state.state, 'suspect');
    const watch = await runCli(['watch', '--once'], env);
    assert.match(watch.stdout, /3 listings in a row .*vr-lister resume/);
    const api = await buildTestApi(services, {
      redis: services.redis,
      env: { API_TOKEN: 'test-token-0123456789' },
    });
    try {
      const headers = { authorization: 'Bearer test-token-0123456789' };
      const site = async () =>
        (await api.inject({ method: 'GET', url: '/api/vr/resolution-status', headers })).json().site_state;
      assert.equal((await site()).state, 'suspect');
      const metrics = (await api.inject({ method: 'GET', url: '/metrics', headers })).body;
      assert.match(metrics, /vr_lister_vr_session_state\{state="suspect"\} 1/);
      // A person resumes through the API: the state is what the workers last saw again.
      const resumed = await api.inject({ method: 'POST', url: '/api/vr/resume', headers, payload: {} });
      assert.equal(resumed.statusCode, 200, resumed.body);
      assert.equal(resumed.json().wasPaused, true);
      assert.equal((await site()).state, 'ok');
    } finally {
      await api.close();
    }
    // The CLI says when there was nothing to resume.
    const again = await runCli(['resume', '--json'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), { wasPaused: false, released: 0 });
  });
});
