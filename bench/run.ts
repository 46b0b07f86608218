import { mkdir, writeFile } from 'node:fs/promises';
import { lineChartSvg, svgToPng } from './chart.ts';
import {
  type CreationResult,
  type LaneResult,
  runCreationCase,
  runLaneCase,
  TEN_X_SITE,
} from './creation.ts';
import { RSS_GROWTH_LIMIT_MB, runCsvCase } from './csv.ts';
import { nominalLowerBoundSeconds, runE2eCase, SCALED_SITE } from './e2e.ts';
import { runEnqueueApiCase, runEnqueueCase } from './enqueue.ts';
import { describeMachine, loadNow } from './machine.ts';
import { PHOTO_RSS_BOUND_MB, type PhotoCaseResult, runPhotosCase } from './photos.ts';

/**
 * `npm run bench`: medians of BENCH_REPS runs of each case, written to bench/results/latest.json,
 * latest.md and latest.png. BENCH_CASES chooses the cases (csv,enqueue,creation,e2e,photos).
 */

const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const list = (name: string, fallback: string) => env(name, fallback).split(',').filter(Boolean).map(Number);
const reps = Number(env('BENCH_REPS', '3'));
const cases = new Set(env('BENCH_CASES', 'csv,enqueue,creation,lane,e2e,photos').split(','));
const sizes = list('BENCH_SIZES', '1,2,5,10,20,50');
const oldWaySizes = list('BENCH_OLD_SIZES', '1,2,5,10,20');
const csvRows = list('BENCH_CSV_ROWS', '1500,20000,100000');
const enqueueCount = Number(env('BENCH_ENQUEUE', '10000'));
const creationCount = Number(env('BENCH_CREATION', '30'));
const laneCount = Number(env('BENCH_LANE', '20'));
const chromiumPath = env('CHROMIUM_PATH', '/usr/bin/chromium');

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

async function repeat<T>(label: string, run: () => Promise<T>, times = reps): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < times; i += 1) {
    results.push(await run());
    process.stderr.write(`${label}: run ${i + 1}/${times} (load ${loadNow().loadavg1})\n`);
  }
  return results;
}

const started = Date.now();
const machine = await describeMachine(chromiumPath);
const loadAtStart = loadNow();

const csv = [];
if (cases.has('csv')) {
  for (const rows of csvRows) {
    const runs = await repeat(`csv ${rows} rows`, () => runCsvCase(rows, 1000));
    csv.push({
      rows,
      jobs: runs[0]!.jobs,
      bytes: runs[0]!.bytes,
      parseOnlyMBps: round(median(runs.map((r) => r.parseOnlyMBps)), 1),
      parseAndMatchMBps: round(median(runs.map((r) => r.parseAndMatchMBps)), 1),
      downloadMBps: runs[0]!.downloadMBps,
      matched: runs[0]!.matched,
      rssGrowthMB: round(Math.max(...runs.map((r) => r.rssGrowthMB)), 1),
    });
    const last = csv[csv.length - 1]!;
    if (last.parseAndMatchMBps <= last.downloadMBps || last.rssGrowthMB >= RSS_GROWTH_LIMIT_MB) {
      process.stderr.write(
        `csv ${rows} rows: over budget (${last.parseAndMatchMBps} MB/s against a ${last.downloadMBps} MB/s download, RSS +${last.rssGrowthMB} MB of ${RSS_GROWTH_LIMIT_MB})\n`,
      );
      process.exitCode = 1;
    }
  }
}

const enqueue = [];
if (cases.has('enqueue')) {
  const runs = await repeat(`enqueue ${enqueueCount}`, () => runEnqueueCase(enqueueCount));
  enqueue.push({
    via: 'library',
    listings: enqueueCount,
    seconds: round(median(runs.map((r) => r.seconds))),
    listingsPerSecond: Math.round(median(runs.map((r) => r.listingsPerSecond))),
  });
  const api = await repeat(`enqueue ${enqueueCount} via API`, () => runEnqueueApiCase(enqueueCount));
  enqueue.push({
    via: 'api',
    listings: enqueueCount,
    seconds: round(median(api.map((r) => r.seconds))),
    listingsPerSecond: Math.round(median(api.map((r) => r.listingsPerSecond))),
  });
}

const creation: Array<Omit<CreationResult, 'latency'> & { latency: string }> = [];
if (cases.has('creation')) {
  for (const latency of ['zero', 'scaled'] as const) {
    const runs = await repeat(`creation ${latency} latency`, () => runCreationCase(creationCount, latency));
    creation.push({
      listings: creationCount,
      latency,
      seconds: round(median(runs.map((r) => r.seconds))),
      listingsPerSecond: round(median(runs.map((r) => r.listingsPerSecond)), 2),
      siteMsPerListing: round(median(runs.map((r) => r.siteMsPerListing)), 0),
      ownMsPerListing: round(median(runs.map((r) => r.ownMsPerListing)), 0),
    });
  }
}

let lane: LaneResult | undefined;
if (cases.has('lane')) {
  const runs = await repeat(`lane ${laneCount}`, () => runLaneCase(laneCount));
  const pick = (f: (r: LaneResult) => number) => round(median(runs.map(f)), 2);
  lane = {
    listings: laneCount,
    firstListingSeconds: pick((r) => r.firstListingSeconds),
    seconds: pick((r) => r.seconds),
    siteSeconds: pick((r) => r.siteSeconds),
    ratio: pick((r) => r.ratio),
  };
}

const e2e = [];
if (cases.has('e2e')) {
  for (const n of sizes) {
    const batched = await repeat(`vr-lister ${n}`, () => runE2eCase(n));
    const old = oldWaySizes.includes(n)
      ? await repeat(`old way ${n}`, () => runE2eCase(n, { oldWay: true }))
      : [];
    const seconds = median(batched.map((r) => r.seconds));
    const oldSeconds = old.length ? median(old.map((r) => r.seconds)) : null;
    const floor = median(batched.map((r) => r.lowerBoundSeconds));
    e2e.push({
      listings: n,
      seconds: round(seconds),
      exports: median(batched.map((r) => r.exports)),
      oldWaySeconds: oldSeconds === null ? null : round(oldSeconds),
      oldWayExports: old.length ? median(old.map((r) => r.exports)) : null,
      lowerBoundSeconds: round(floor),
      nominalLowerBoundSeconds: round(nominalLowerBoundSeconds(n)),
      siteSecondsPerListing: round(median(batched.map((r) => r.siteSecondsPerListing))),
      exportSeconds: round(median(batched.map((r) => r.exportSeconds))),
      ratioToLowerBound: round(seconds / floor),
      ratioToOldWay: oldSeconds ? round(seconds / oldSeconds) : null,
      runs: batched.map((r) => round(r.seconds)),
    });
  }
}

// Once: each photo's peak RSS in a process of its own.
let photos: PhotoCaseResult[] = [];
if (cases.has('photos')) {
  photos = await runPhotosCase();
  process.stderr.write(`photos: ${photos.length} inputs (load ${loadNow().loadavg1})\n`);
  for (const photo of photos.filter((p) => p.aboveBaselineMB > PHOTO_RSS_BOUND_MB)) {
    process.stderr.write(
      `photos: ${photo.input} peaked ${photo.aboveBaselineMB} MB above the baseline, over the ${PHOTO_RSS_BOUND_MB} MB bound\n`,
    );
    process.exitCode = 1;
  }
}

const meta = {
  date: new Date().toISOString(),
  durationSeconds: Math.round((Date.now() - started) / 1000),
  reps,
  loadAtStart,
  loadAtEnd: loadNow(),
  scaledSite: SCALED_SITE,
  commit: process.env.BENCH_COMMIT ?? null,
};
const results = new URL('./results/', import.meta.url);
await mkdir(results, { recursive: true });
await writeFile(
  new URL('latest.json', results),
  `${JSON.stringify({ meta, machine, csv, enqueue, creation, lane, e2e, photos }, null, 2)}\n`,
);

let chart = '';
if (e2e.length) {
  const svg = lineChartSvg({
    title: 'vr-lister: total time until every listing is resolved',
    xLabel: 'listings',
    yLabel: 'seconds (simulator at the real site ÷ 100)',
    series: [
      {
        name: 'old way',
        color: '#d62728',
        points: e2e.flatMap((r) => (r.oldWaySeconds === null ? [] : [{ x: r.listings, y: r.oldWaySeconds }])),
      },
      { name: 'vr-lister', color: '#1f77b4', points: e2e.map((r) => ({ x: r.listings, y: r.seconds })) },
      {
        name: 'lower bound',
        color: '#2ca02c',
        dashed: true,
        points: e2e.map((r) => ({ x: r.listings, y: r.lowerBoundSeconds })),
      },
    ],
  });
  await writeFile(new URL('latest.svg', results), svg);
  try {
    await writeFile(new URL('latest.png', results), await svgToPng(svg, chromiumPath));
    chart = '![total time vs listings](latest.png)';
  } catch (error) {
    chart = `(PNG not rendered: ${(error as Error).message.split('\n')[0]}; see latest.svg)`;
  }
}

const fmt = (n: number | null | undefined, digits = 2) => (n == null ? '–' : n.toFixed(digits));
const md = [
  '# vr-lister benchmark',
  '',
  `${meta.date}; ${meta.durationSeconds} s; medians of ${reps} runs; load average ${loadAtStart.loadavg1} at start, ${meta.loadAtEnd.loadavg1} at end.`,
  '',
  `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGB} GiB, ${machine.kernel}. Node ${machine.node}, PostgreSQL ${machine.postgres}, Redis ${machine.redis}, Chromium ${machine.chromium} (playwright-core ${machine.playwrightCore}).`,
  '',
  ...(e2e.length
    ? [
        '## End to end (simulator at the real site’s timings ÷ 100)',
        '',
        'Lower bound: measured on the simulator’s side — per listing, the median answer time of each request a listing needs (form, brand check, suggestions, Publish), times the listings, plus one export (page and download).',
        '',
        '| listings | vr-lister s | exports | old way s | old exports | lower bound s | × lower bound | × old way |',
        '|---:|---:|---:|---:|---:|---:|---:|---:|',
        ...e2e.map(
          (r) =>
            `| ${r.listings} | ${fmt(r.seconds)} | ${r.exports} | ${fmt(r.oldWaySeconds)} | ${r.oldWayExports ?? '–'} | ${fmt(r.lowerBoundSeconds)} | ${fmt(r.ratioToLowerBound)} | ${fmt(r.ratioToOldWay)} |`,
        ),
        '',
        chart,
        '',
      ]
    : []),
  ...(creation.length
    ? [
        `## Creation through Chromium (${creationCount} listings after a warm-up)`,
        '',
        "Site ms/listing: the simulator's answer times plus the editor's start-up in the page (V&R's time). Own ms: the rest.",
        '',
        '| site latency | s | listings/s | site ms/listing | own ms/listing |',
        '|---|---:|---:|---:|---:|',
        ...creation.map(
          (r) =>
            `| ${r.latency} | ${fmt(r.seconds)} | ${fmt(r.listingsPerSecond)} | ${fmt(r.siteMsPerListing, 0)} | ${fmt(r.ownMsPerListing, 0)} |`,
        ),
        '',
      ]
    : []),
  ...(lane
    ? [
        `## The V&R lane at 10×-scaled timings (page ${TEN_X_SITE.pageLatencyMs} ms, editor 1 s, Publish ${TEN_X_SITE.submitLatencyMs / 1000} s, export ${TEN_X_SITE.exportLatencyMs / 1000} s)`,
        '',
        `A fresh install's first listing (the login and the baseline export come with it): ${fmt(lane.firstListingSeconds)} s. Then ${lane.listings} listings in steady state, until every one has its id:`,
        '',
        '| listings | s | site s: N × (page + editor + Publish) + one export | ratio |',
        '|---:|---:|---:|---:|',
        `| ${lane.listings} | ${fmt(lane.seconds)} | ${fmt(lane.siteSeconds)} | ${fmt(lane.ratio)} |`,
        '',
      ]
    : []),
  ...(csv.length
    ? [
        '## CSV resolution (1,000 pending jobs)',
        '',
        '| rows | MB | csv-parse MB/s | parse + match MB/s | real download MB/s | parse ÷ download | matched | peak RSS growth MB |',
        '|---:|---:|---:|---:|---:|---:|---:|---:|',
        ...csv.map(
          (r) =>
            `| ${r.rows} | ${fmt(r.bytes / 1e6, 1)} | ${fmt(r.parseOnlyMBps, 1)} | ${fmt(r.parseAndMatchMBps, 1)} | ${fmt(r.downloadMBps, 1)} | ${fmt(r.parseAndMatchMBps / r.downloadMBps, 0)}× | ${r.matched} | ${fmt(r.rssGrowthMB, 1)} |`,
        ),
        '',
        `The export is read with csv-parse while it downloads; the real site sends about 3 MB in 30 s at best, so parse + match must stay above that rate. Peak RSS growth must stay under ${RSS_GROWTH_LIMIT_MB} MB at 100,000 rows.`,
        '',
      ]
    : []),
  ...(enqueue.length
    ? [
        '## Enqueue',
        '',
        '| via | listings | s | listings/s |',
        '|---|---:|---:|---:|',
        ...enqueue.map((r) => `| ${r.via} | ${r.listings} | ${fmt(r.seconds)} | ${r.listingsPerSecond} |`),
        '',
        process.env.BENCH_API_URL
          ? `Through the API at ${process.env.BENCH_API_URL}, ${process.env.BENCH_API_CHUNK ?? 1000} listings per request.`
          : `Through an API started here, ${process.env.BENCH_API_CHUNK ?? 1000} listings per request (BENCH_API_URL measures another).`,
        '',
      ]
    : []),
  ...(photos.length
    ? [
        '## Photos: peak RSS of one photo’s preparation, each in a process of its own',
        '',
        '| input | result | ms | peak RSS MB | above baseline MB |',
        '|---|---|---:|---:|---:|',
        ...photos.map((r) => `| ${r.input} | ${r.result} | ${r.ms} | ${r.peakMB} | ${r.aboveBaselineMB} |`),
        '',
        `Download from a local server, toJpeg and fitToBudget, as a listing's photo; the baseline is the same process preparing a small photo. Bound: ${PHOTO_RSS_BOUND_MB} MB above the baseline.`,
        '',
      ]
    : []),
].join('\n');
await writeFile(new URL('latest.md', results), md);
process.stdout.write(md);
