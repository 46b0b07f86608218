#!/usr/bin/env node
/**
 * Runs the integration and e2e tiers, alone (`npm run test:integration`, `test:e2e`: two files at a
 * time) or as one node:test run, their files interleaved three at a time (`npm run test:services`,
 * which `npm test` and `npm run test:coverage` run).
 *
 * Why interleaved: the e2e tier leaves a core idle while its files wait on the simulator's delays,
 * restarts and child processes, and the integration tier fills those gaps instead of running after
 * them (measured on 2 cores: integration then e2e 93 s + 559 s; interleaved 543 s, at 95 % of both
 * cores). Each file has its own database and queue prefix, so files don't see each other.
 *
 * `node --import tsx scripts/run-tiers.mjs [--concurrency=N] TIER...` with TIER one of
 * `integration`, `e2e`; TAP on stdout, exit 1 when a test failed. Child processes inherit
 * `--import tsx` from this one.
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { run } from 'node:test';
import { tap } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const TIERS = {
  integration: ['test/integration', 'simulator/test/integration'],
  e2e: ['test/e2e', 'simulator/test/e2e'],
};

/**
 * The longest files (a minute or more each) start first, so that the run doesn't end on one of them
 * alone: only an order, so a file missing here or renamed costs time, never a test.
 */
const LONGEST_FIRST = [
  'test/e2e/faults-vr.test.ts',
  'test/e2e/start.test.ts',
  'test/e2e/actions.test.ts',
  'simulator/test/e2e/simulator-browser.test.ts',
  'test/e2e/creation-form.test.ts',
  'test/e2e/vr-session.test.ts',
  'test/e2e/verification.test.ts',
  'test/e2e/creation-process.test.ts',
  'test/e2e/creation.test.ts',
  'test/e2e/faults-postgres.test.ts',
  'test/e2e/resolution.test.ts',
  'test/e2e/restart.test.ts',
  'test/integration/cli.test.ts',
];

const args = process.argv.slice(2);
const concurrency = Number(args.find((a) => a.startsWith('--concurrency='))?.split('=')[1] ?? 2);
const tiers = args.filter((a) => !a.startsWith('--'));
if (!Number.isInteger(concurrency) || concurrency < 1 || tiers.length === 0 || tiers.some((t) => !TIERS[t])) {
  console.error('usage: run-tiers.mjs [--concurrency=N] integration|e2e...');
  process.exit(2);
}

const rank = (file) => {
  const at = LONGEST_FIRST.indexOf(file);
  return at === -1 ? LONGEST_FIRST.length : at;
};

const filesOf = (tier) =>
  TIERS[tier]
    .flatMap((dir) =>
      readdirSync(join(root, dir))
        .filter((name) => name.endsWith('.test.ts'))
        .map((name) => `${dir}/${name}`),
    )
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
    .map((file) => join(root, file));

/** a1, b1, a2, b2, ...: the first tier named leads (put the longest first). */
function interleave(lists) {
  const out = [];
  for (let i = 0; i < Math.max(...lists.map((l) => l.length)); i += 1)
    for (const list of lists) if (i < list.length) out.push(list[i]);
  return out;
}

const stream = run({ files: interleave(tiers.map(filesOf)), concurrency, timeout: 600_000 });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
stream.compose(tap).pipe(process.stdout);
