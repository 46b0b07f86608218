import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { resolutionTransition } from '../../src/db/jobs.ts';
import type { VrJob } from '../../src/db/schema.ts';
import { planResolution } from '../../src/resolution/flush.ts';

const SUBMITTED = new Date('2026-01-01T12:00:00Z');

function unknownJob(marker: string | null, resolutionAttempts: number): VrJob {
  return {
    id: 7,
    productRef: 'SKU-7',
    status: 'completed_pending_id',
    payload: {
      listing: {} as VrJob['payload']['listing'],
      matchCriteria: {
        brand: 'Fender',
        brandKey: 'fender',
        model: 'Jaguar',
        modelKey: 'jaguar',
        year: null,
        finish: null,
        finishKey: null,
        price: 1900,
        descriptionHash: null,
        marker,
        lastKnownId: 100,
        recordedAt: SUBMITTED.toISOString(),
      },
    },
    attempts: 1,
    resolutionAttempts,
    generation: 0,
    submitStartedAt: SUBMITTED,
    submittedAt: SUBMITTED,
    submitOutcomeUnknown: true,
    nextResolutionAt: null,
    vrListingId: null,
    error: 'submit outcome unknown: Publish did not answer within 90000 ms',
    createdAt: SUBMITTED,
    updatedAt: SUBMITTED,
    completedAt: null,
    artifacts: [{ name: 'publish-1.png', step: 'publish', at: SUBMITTED.toISOString() }],
    verification: null,
  };
}

const notFound = { matched: [], ambiguous: [], duplicates: [], unmatched: [7] };

/** The step for the job after an export requested `afterMs` after its submit. */
function stepAfter(env: Record<string, string>, job: VrJob, afterMs: number) {
  const requestedAt = new Date(SUBMITTED.getTime() + afterMs);
  const config = loadConfig({ FLUSH_SETTLE_MS: '1000', RESOLUTION_BACKOFF_MS: '1000', ...env });
  return planResolution([job], notFound, config, requestedAt, new Date(requestedAt.getTime() + 500)).get(7)!;
}

describe('planResolution: an unknown Publish that no export shows', () => {
  test('without the policy: never resubmitted; review names the exports, the evidence and both ways out', () => {
    for (const marker of ['Ref: SKU-7', null]) {
      const step = stepAfter({}, unknownJob(marker, 2), 60_000);
      assert.equal(step.kind, 'unknown_not_found');
      assert.ok(step.kind === 'unknown_not_found');
      assert.equal(step.resolutionAttempts, 3);
      assert.match(step.reason, /not found in 3 V&R exports requested between 2026-01-01T12:00:00.000Z and/);
      assert.match(step.reason, /evidence: publish-1\.png/);
      assert.match(step.reason, /vr-lister link 7 VR_ID/);
      assert.match(step.reason, /vr-lister retry 7 --resubmit/);
    }
  });

  test('a known submit that no export shows still fails as before (its mark kept)', () => {
    const job = { ...unknownJob('Ref: SKU-7', 2), submitOutcomeUnknown: false };
    assert.equal(stepAfter({}, job, 60_000).kind, 'not_found');
  });

  test('with RESUBMIT_UNKNOWN_AFTER_MS: a marker-off job still goes to a person', () => {
    const step = stepAfter({ RESUBMIT_UNKNOWN_AFTER_MS: '30000' }, unknownJob(null, 5), 120_000);
    assert.equal(step.kind, 'unknown_not_found');
  });

  test('with RESUBMIT_UNKNOWN_AFTER_MS: a marker-on job waits until an export taken that long after the submit', () => {
    const env = { RESUBMIT_UNKNOWN_AFTER_MS: '30000' };
    const early = stepAfter(env, unknownJob('Ref: SKU-7', 4), 20_000);
    assert.equal(early.kind, 'wait');
    assert.ok(early.kind === 'wait');
    assert.ok(early.nextResolutionAt.getTime() >= SUBMITTED.getTime() + 30_000);
    assert.equal(stepAfter(env, unknownJob('Ref: SKU-7', 4), 30_000).kind, 'resubmit');
  });

  test('with RESUBMIT_UNKNOWN_AFTER_MS: never before several exports, however long ago the submit', () => {
    const env = { RESUBMIT_UNKNOWN_AFTER_MS: '30000', MAX_RESOLUTION_ATTEMPTS: '1' };
    assert.equal(stepAfter(env, unknownJob('Ref: SKU-7', 0), 50_000).kind, 'wait');
    assert.equal(stepAfter(env, unknownJob('Ref: SKU-7', 1), 50_000).kind, 'wait');
    assert.equal(stepAfter(env, unknownJob('Ref: SKU-7', 2), 50_000).kind, 'resubmit');
  });

  test('RESUBMIT_UNKNOWN_AFTER_MS is validated at start-up, by name', () => {
    assert.throws(() => loadConfig({ RESUBMIT_UNKNOWN_AFTER_MS: 'soon' }), /RESUBMIT_UNKNOWN_AFTER_MS/);
    assert.throws(
      () => loadConfig({ RESUBMIT_UNKNOWN_AFTER_MS: '7200000', STALE_PENDING_MS: '3600000' }),
      /RESUBMIT_UNKNOWN_AFTER_MS: must be less than STALE_PENDING_MS/,
    );
    assert.equal(loadConfig({}).resubmitUnknownAfterMs, undefined);
  });
});

describe('planResolution: field errors after a POST are a rejection only once an export lacks the listing', () => {
  const withErrors = (): VrJob => {
    const job = unknownJob('Ref: SKU-7', 0);
    return {
      ...job,
      submitOutcomeUnknown: true, // as markFieldErrorsAfterPost records it
      payload: { ...job.payload, fieldErrorsAfterPost: 'price: Please enter a price' },
    };
  };

  test('an export taken within the indexing allowance proves nothing: the job waits', () => {
    assert.equal(stepAfter({}, withErrors(), 500).kind, 'wait');
  });

  test('an export taken after the allowance without it: rejected with V&R’s words, the mark cleared', () => {
    const step = stepAfter({}, withErrors(), 5_000);
    assert.equal(step.kind, 'rejected');
    assert.ok(step.kind === 'rejected');
    assert.match(step.reason, /price: Please enter a price/);
    assert.equal(resolutionTransition({}, step).set.submitStartedAt, null);
    assert.equal(resolutionTransition({}, step).set.status, 'failed');
  });

  test('an export that shows it: completed with the id', () => {
    const config = loadConfig({ FLUSH_SETTLE_MS: '1000' });
    const requestedAt = new Date(SUBMITTED.getTime() + 5_000);
    const found = {
      matched: [{ jobId: 7, vrListingId: 501, evidence: 'marker' }],
      ambiguous: [],
      duplicates: [],
      unmatched: [],
    };
    assert.deepEqual(planResolution([withErrors()], found, config, requestedAt, requestedAt).get(7), {
      kind: 'complete',
      vrListingId: 501,
    });
  });

  test('candidates it cannot tell apart are not proof of absence', () => {
    const config = loadConfig({ FLUSH_SETTLE_MS: '1000' });
    const requestedAt = new Date(SUBMITTED.getTime() + 5_000);
    const unclear = {
      matched: [],
      ambiguous: [{ jobId: 7, candidates: [501, 502] }],
      duplicates: [],
      unmatched: [],
    };
    assert.notEqual(
      planResolution([withErrors()], unclear, config, requestedAt, requestedAt).get(7)!.kind,
      'rejected',
    );
  });

  test('look-alikes too few to pair (one may be it) are not proof of absence either', () => {
    const config = loadConfig({ FLUSH_SETTLE_MS: '1000' });
    const requestedAt = new Date(SUBMITTED.getTime() + 5_000);
    const tooFew = { matched: [], ambiguous: [], duplicates: [], unmatched: [7], lookAlikesSeen: [7] };
    assert.notEqual(
      planResolution([withErrors()], tooFew, config, requestedAt, requestedAt).get(7)!.kind,
      'rejected',
    );
  });
});

describe('resolutionTransition: a move to needs_review says why, and keeps what the export showed of the candidates', () => {
  const payload = {
    listing: { productRef: 'R', brand: 'Fender', model: 'Jaguar', price: 1900 },
  } as VrJob['payload'];
  const seenAt = '2026-12-01T10:00:00.000Z';
  const details = [
    { id: 7, brand: 'Fender', model: 'Jaguar', price: 1900, year: null, seenAt },
    { id: 8, brand: 'Fender', model: 'Jaguar', price: 1900, year: null, seenAt },
    { id: 9, brand: 'Fender', model: 'Other', price: 1, year: null, seenAt },
  ];

  test('ambiguous and duplicate: the kind, the ids, and only those ids’ details', () => {
    const ambiguous = resolutionTransition(
      { payload },
      { kind: 'ambiguous', candidates: [7, 8], resolutionAttempts: 2, details },
    ).set;
    assert.equal(ambiguous.status, 'needs_review');
    assert.deepEqual(ambiguous.payload, {
      ...payload,
      reviewKind: 'ambiguous',
      candidates: [7, 8],
      candidateDetails: details.slice(0, 2),
    });
    const duplicate = resolutionTransition({ payload }, { kind: 'duplicate', vrListingIds: [8, 9] }).set;
    assert.deepEqual(duplicate.payload, {
      ...payload,
      reviewKind: 'duplicate',
      candidates: [8, 9],
      candidateDetails: [],
    });
  });

  test('stale and unknown_not_found: the kind, the payload otherwise as it was', () => {
    const stale = resolutionTransition({ payload }, { kind: 'stale', stalePendingMs: 3_600_000 }).set;
    assert.deepEqual(stale.payload, { ...payload, reviewKind: 'stale' });
    const unknown = resolutionTransition(
      { payload },
      { kind: 'unknown_not_found', resolutionAttempts: 3, reason: 'not found' },
    ).set;
    assert.deepEqual(unknown.payload, { ...payload, reviewKind: 'unknown_not_found' });
  });
});
