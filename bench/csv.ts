import { csvLine, EXPORT_HEADER, generateCatalog } from '../simulator/src/catalog.ts';
import type { MatchCriteria } from '../src/db/schema.ts';
import { brandKey, descriptionHash, finishKey, modelKey } from '../src/listing/normalize.ts';
import { scanExport } from '../src/resolution/export-stream.ts';
import { candidateFloor, createMatcher, type PendingJob } from '../src/resolution/match.ts';

export interface CsvCaseResult {
  rows: number;
  jobs: number;
  bytes: number;
  parseOnlyMBps: number;
  parseAndMatchMBps: number;
  /** The rate the export arrives at on the real site (3 MB in 30 s at best): parsing must beat it. */
  downloadMBps: number;
  matched: number;
  rssGrowthMB: number;
}

async function* chunks(buffer: Buffer, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < buffer.length; offset += size) yield buffer.subarray(offset, offset + size);
}

/** Pending jobs whose listings are the last `count` rows of the export, as the resolver would see them. */
function pendingJobsFor(catalog: ReturnType<typeof generateCatalog>, count: number): PendingJob[] {
  const tail = catalog.slice(-count);
  const lastKnownId = (catalog[catalog.length - count - 1]?.product_id ?? 0) as number;
  return tail.map((listing, index) => {
    const criteria: MatchCriteria = {
      brand: listing.brand_name,
      brandKey: brandKey(listing.brand_name),
      model: listing.product_model_name,
      modelKey: modelKey(listing.product_model_name),
      year: listing.product_year ? Number(listing.product_year) : null,
      finish: listing.product_finish || null,
      finishKey: finishKey(listing.product_finish),
      price: Number(listing.product_price),
      descriptionHash: descriptionHash(listing.product_description),
      marker: null,
      lastKnownId,
      recordedAt: new Date().toISOString(),
    };
    return { id: index + 1, submittedAt: new Date(index), criteria, resolutionAttempts: 0 };
  });
}

/** The real site sends about 3 MB in 30 to 60 s: the parse only has to keep up with the fastest. */
export const REAL_DOWNLOAD_MBPS = 3 / 30;
/** Peak RSS growth allowed while reading 100,000 rows: the export is streamed, never held. */
export const RSS_GROWTH_LIMIT_MB = 100;

/**
 * Parse (csv-parse through scanExport, every check included), and parse + match, of a generated
 * export; the file is built in memory first.
 */
export async function runCsvCase(rows: number, jobs: number): Promise<CsvCaseResult> {
  const catalog = generateCatalog(rows, 42);
  const file = Buffer.concat([EXPORT_HEADER, ...catalog.map((l) => csvLine(l))]);
  const pending = pendingJobsFor(catalog, Math.min(jobs, rows));

  const parseStart = performance.now();
  await scanExport(chunks(file), () => {});
  const parseSeconds = (performance.now() - parseStart) / 1000;

  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 20);
  const matchStart = performance.now();
  const matcher = createMatcher({
    jobs: pending,
    linkedIds: new Set(),
    exportRequestedAt: new Date(),
    indexingAllowanceMs: 0,
  });
  await scanExport(chunks(file), (row) => matcher.offer(row), { minProductId: candidateFloor(pending) });
  const outcome = matcher.finish();
  const matchSeconds = (performance.now() - matchStart) / 1000;
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, process.memoryUsage().rss);

  const mb = file.length / 1e6;
  return {
    rows,
    jobs: pending.length,
    bytes: file.length,
    parseOnlyMBps: mb / parseSeconds,
    parseAndMatchMBps: mb / matchSeconds,
    downloadMBps: REAL_DOWNLOAD_MBPS,
    matched: outcome.matched.length,
    rssGrowthMB: (rssPeak - rssBefore) / 1e6,
  };
}
