import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ALLOWANCE_MS, type History, history, runHistory } from '../helpers/match-model.ts';

/**
 * The matcher, flush after flush, over generated histories of V&R and of our own records (see
 * helpers/match-model.ts): no job is ever given an id that isn't its own, with the marker off or on,
 * and a job whose evidence leaves no doubt at the end is resolved. More histories, with a seed:
 * `npm run test:property -- --seed N --runs M`.
 */

test('no history gives a job an id that is not its own; unambiguous jobs resolve', () => {
  fc.assert(
    fc.property(history, (h) => {
      runHistory(h);
    }),
    { numRuns: 3_000 },
  );
});

test('without strangers or unknown outcomes, every listing of ours is resolved', () => {
  const plain = history.map(
    (h): History => ({
      before: [],
      baseline: h.baseline,
      steps: h.steps
        .filter((s) => s.kind !== 'stranger')
        .map((s) => (s.kind === 'ours' ? { ...s, outcome: 'known' as const } : s)),
    }),
  );
  fc.assert(
    fc.property(plain, (h) => {
      const ours = h.steps.filter((s) => s.kind === 'ours').length;
      assert.equal(runHistory(h).resolved, ours);
    }),
    { numRuns: 500 },
  );
});

test('the issue’s history: a hand-made look-alike and a batch flush racing the indexing delay', () => {
  // Our first two identical listings, the flush 34 ms after the second: the export holds the
  // hand-made item and our first, not our second.
  const ours = { kind: 'ours', product: 0, marker: false, lag: 0, outcome: 'known', idGap: 0 } as const;
  const h: History = {
    before: [{ product: 0, variant: 'copy', idGap: 0 }],
    baseline: false,
    steps: [
      { ...ours, delay: 0 },
      { kind: 'wait', ms: 500 },
      { ...ours, delay: ALLOWANCE_MS },
      { kind: 'wait', ms: 34 },
      { kind: 'flush' },
      { ...ours, delay: 300 },
      { kind: 'wait', ms: 2 * ALLOWANCE_MS },
      { kind: 'flush' },
    ],
  };
  // No baseline: the hand-made item can't be told from ours; nobody takes a wrong id.
  assert.deepEqual(runHistory(h), { resolved: 0, review: 3 });
  // With the baseline it is below every job's last known id: all three resolve.
  assert.deepEqual(runHistory({ ...h, baseline: true }), { resolved: 3, review: 0 });
});
