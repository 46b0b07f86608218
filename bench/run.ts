import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { runCsvCase } from './csv.ts';
import { lowerBoundSeconds, runE2eCase, SCALED_SITE } from './e2e.ts';

/** `npm run bench`: medians of BENCH_REPS runs, written to bench/results/latest.{json,md}. */

const reps = Number(process.env.BENCH_REPS ?? 3);
const sizes = (process.env.BENCH_SIZES ?? '1,2,5,10,20,50').split(',').map(Number);
const oldWaySizes = (process.env.BENCH_OLD_SIZES ?? '1,2,5,10,20').split(',').map(Number);
const csvRows = (process.env.BENCH_CSV_ROWS ?? '1500,20000,100000').split(',').map(Number);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function repeat<T>(label: string, run: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < reps; i += 1) {
    results.push(await run());
    process.stderr.write(`${label}: run ${i + 1}/${reps}\n`);
  }
  return results;
}

const csv = [];
for (const rows of csvRows) {
  const runs = await repeat(`csv ${rows} rows`, () => runCsvCase(rows, 1000));
  csv.push({
    rows,
    jobs: runs[0]!.jobs,
    bytes: runs[0]!.bytes,
    parseOnlyMBps: median(runs.map((r) => r.parseOnlyMBps)),
    parseAndMatchMBps: median(runs.map((r) => r.parseAndMatchMBps)),
    matched: runs[0]!.matched,
    rssGrowthMB: Math.max(...runs.map((r) => r.rssGrowthMB)),
  });
}

const e2e = [];
for (const n of sizes) {
  const batched = await repeat(`vr-lister ${n}`, () => runE2eCase(n));
  const old = oldWaySizes.includes(n)
    ? await repeat(`old way ${n}`, () => runE2eCase(n, { oldWay: true }))
    : [];
  const seconds = median(batched.map((r) => r.seconds));
  const oldSeconds = old.length ? median(old.map((r) => r.seconds)) : null;
  const floor = lowerBoundSeconds(n);
  e2e.push({
    listings: n,
    seconds,
    exports: median(batched.map((r) => r.exports)),
    oldWaySeconds: oldSeconds,
    oldWayExports: old.length ? median(old.map((r) => r.exports)) : null,
    lowerBoundSeconds: floor,
    ratioToLowerBound: seconds / floor,
    ratioToOldWay: oldSeconds ? seconds / oldSeconds : null,
  });
}

const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  memoryGB: Math.round(os.totalmem() / 1e9),
  node: process.version,
  date: new Date().toISOString(),
  reps,
  scaledSite: SCALED_SITE,
};
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(
  new URL('./results/latest.json', import.meta.url),
  `${JSON.stringify({ machine, e2e, csv }, null, 2)}\n`,
);
const fmt = (n: number | null, digits = 2) => (n === null ? '–' : n.toFixed(digits));
const md = [
  '# vr-lister benchmark',
  '',
  `${machine.date}, Node ${machine.node}, ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGB} GB; medians of ${reps} runs.`,
  '',
  '## End to end (simulator at the real site’s timings ÷ 100)',
  '',
  '| listings | vr-lister s | exports | old way s | old exports | lower bound s | × lower bound | × old way |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...e2e.map(
    (r) =>
      `| ${r.listings} | ${fmt(r.seconds)} | ${r.exports} | ${fmt(r.oldWaySeconds)} | ${r.oldWayExports ?? '–'} | ${fmt(r.lowerBoundSeconds)} | ${fmt(r.ratioToLowerBound)} | ${fmt(r.ratioToOldWay)} |`,
  ),
  '',
  '## CSV resolution (1,000 pending jobs)',
  '',
  '| rows | MB | parse MB/s | parse + match MB/s | matched | RSS growth MB |',
  '|---:|---:|---:|---:|---:|---:|',
  ...csv.map(
    (r) =>
      `| ${r.rows} | ${fmt(r.bytes / 1e6, 1)} | ${fmt(r.parseOnlyMBps, 1)} | ${fmt(r.parseAndMatchMBps, 1)} | ${r.matched} | ${fmt(r.rssGrowthMB, 1)} |`,
  ),
  '',
].join('\n');
await writeFile(new URL('./results/latest.md', import.meta.url), md);
process.stdout.write(md);
