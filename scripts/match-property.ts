/**
 * The matcher's model-based property test with more histories and a seed of your choice:
 *   npm run test:property -- --seed 42 --runs 100000
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { history, runHistory } from '../test/helpers/match-model.ts';

const { values } = parseArgs({
  options: { seed: { type: 'string' }, runs: { type: 'string', default: '50000' } },
});
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const numRuns = Number(values.runs);
if (!Number.isInteger(seed) || !Number.isInteger(numRuns) || numRuns < 1) {
  console.error('usage: npm run test:property -- [--seed N] [--runs M]');
  process.exit(2);
}
console.log(`seed ${seed}, ${numRuns} histories`);
const started = Date.now();
fc.assert(
  fc.property(history, (h) => {
    runHistory(h);
  }),
  { seed, numRuns },
);
console.log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
