import assert from 'node:assert/strict';
import { test } from 'node:test';
import { factsLearnedLines, suggestedFlushSettleMs, testListingTexts } from '../../src/cli/round-trip.ts';

test('suggested FLUSH_SETTLE_MS: the measured delay and half again, rounded up to 5 s, at least 5 s', () => {
  assert.equal(suggestedFlushSettleMs(0), 5_000);
  assert.equal(suggestedFlushSettleMs(2_687), 5_000);
  assert.equal(suggestedFlushSettleMs(20_000), 30_000);
  assert.equal(suggestedFlushSettleMs(21_000), 35_000);
});

test('the test listing says it is a test, in its model and its description, and carries its nonce', () => {
  const texts = testListingTexts('abc123');
  assert.match(texts.model, /^TEST LISTING by vr-lister check-site --round-trip — will be deleted abc123$/);
  assert.match(texts.descriptionHtml, /TEST LISTING by vr-lister check-site --round-trip — will be deleted/);
  assert.ok(texts.descriptionHtml.includes(texts.marker));
  assert.match(texts.marker, /abc123/);
});

test('facts learned: nothing when none, else one line per fact with its value and evidence', () => {
  assert.deepEqual(factsLearnedLines([]), []);
  const lines = factsLearnedLines([
    { key: 'round_trip.indexingDelayMs', value: 2687, evidence: 'run 1', observedAt: new Date(0) },
  ]);
  assert.equal(lines[0], 'facts learned about V&R:');
  assert.match(lines[1]!, /round_trip\.indexingDelayMs +2687 +\(1970-01-01T00:00:00\.000Z; run 1\)/);
});
