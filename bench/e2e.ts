import { type ServedRequest, type SimulatorOptions, startSimulator } from '../simulator/src/server.ts';
import { startCreationProcess } from '../src/creation/main.ts';
import { silentLogger } from '../src/logger.ts';
import { startResolutionProcess } from '../src/resolution/main.ts';
import { setupServices } from '../test/helpers/services.ts';

/** The real site's timings scaled down 100 times (submit path ~450 ms, export ~600 ms). */
export const SCALED_SITE = {
  pageLatencyMs: 100,
  ajaxLatencyMs: 50,
  submitLatencyMs: 200,
  exportLatencyMs: 600,
};

export interface E2eResult {
  listings: number;
  seconds: number;
  exports: number;
  /**
   * The floor, measured on the simulator's side: per listing, the median time it took to answer each
   * request a listing needs (form, brand check, suggestions, Publish), times the number of listings,
   * plus one export (its page and its download).
   */
  lowerBoundSeconds: number;
  /** The simulator's own time per listing (creation requests only). */
  siteSecondsPerListing: number;
  exportSeconds: number;
}

export function benchListings(prefix: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    productRef: `${prefix}-${i}`,
    brand: 'Fender',
    model: `Stratocaster ${i}`,
    price: 1000 + i,
    description: `<p>Bench listing ${i}</p>`,
  }));
}

/** Polls every 20 ms (the test helper's 100 ms would blur the totals). */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const median = (values: number[]) => {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Request kinds a listing's creation needs once each, by `METHOD path`. */
const CREATION_KINDS = [
  'GET /instruments/add_edit_item',
  'POST /ajax/check_brand_exists',
  'POST /ajax/get_suggested_brands_name',
  'POST /instruments/add_edit_item',
];
const EXPORT_KINDS = [
  'GET /instruments/export_inventory',
  'GET /instruments/export_inventory/export_inventory',
];

/** Collects the simulator's answer times and turns them into the site's own time. */
export function siteClock() {
  const served: ServedRequest[] = [];
  const kind = (r: ServedRequest) => `${r.method} ${r.path}`;
  const medianOf = (k: string) =>
    median(served.filter((r) => kind(r) === k).map((r) => r.ms - r.clientWaitMs));
  return {
    onRequestServed: (r: ServedRequest) => {
      served.push(r);
    },
    reset: () => {
      served.length = 0;
    },
    served,
    /** The form page and its Publish, per listing: the requests nothing of ours can overlap. */
    pageAndSubmitSeconds: () =>
      (medianOf('GET /instruments/add_edit_item') + medianOf('POST /instruments/add_edit_item')) / 1000,
    /** Seconds the site itself needs per listing: one of each creation request. */
    perListingSeconds: () => CREATION_KINDS.reduce((sum, k) => sum + medianOf(k), 0) / 1000,
    exportSeconds: () => EXPORT_KINDS.reduce((sum, k) => sum + medianOf(k), 0) / 1000,
    count: (k: string) => served.filter((r) => kind(r) === k).length,
  };
}

export interface E2eOptions {
  /** The strategy vr-lister replaces: one listing, one export, one resolution, repeat. */
  oldWay?: boolean;
  /** FLUSH_SETTLE_MS for vr-lister (the simulator indexes at once here). */
  flushSettleMs?: number;
}

/** Enqueues `count` listings into a fresh install and measures until every one is resolved. */
export async function runE2eCase(count: number, { oldWay = false, flushSettleMs = 0 }: E2eOptions = {}) {
  const { services, clock, sim, producer, stop } = await startBenchInstall(SCALED_SITE, {
    FLUSH_SETTLE_MS: String(flushSettleMs),
    RESOLUTION_BACKOFF_MS: '200',
    // The old way: a flush after every listing, and the next listing only after it.
    MAX_BATCH_SIZE: oldWay ? '1' : '10',
  });
  // Steady state, as a running service is: Chromium up and logged in (the worker warms up at start).
  await waitFor('warm-up login', async () => sim.state().counters.logins >= 1, 120_000);
  clock.reset();
  const exportsBefore = sim.state().counters.exports;
  const start = performance.now();
  try {
    const all = benchListings(oldWay ? 'OLD' : 'NEW', count);
    if (oldWay) {
      for (const listing of all) {
        await producer.enqueueListing(listing);
        await waitFor(
          'resolved',
          async () =>
            (
              await services.database
                .sql`select status from vr_jobs where product_ref = ${listing.productRef}`
            )[0]?.status === 'completed',
          300_000,
        );
      }
    } else {
      await producer.enqueueListings(all);
    }
    await waitFor(
      'all resolved',
      async () =>
        (await services.database.sql`select count(*)::int as n from vr_jobs where status = 'completed'`)[0]!
          .n === count,
      600_000,
    );
    const seconds = (performance.now() - start) / 1000;
    const perListing = clock.perListingSeconds();
    const exportSeconds = clock.exportSeconds();
    return {
      listings: count,
      seconds,
      exports: sim.state().counters.exports - exportsBefore,
      lowerBoundSeconds: count * perListing + exportSeconds,
      siteSecondsPerListing: perListing,
      exportSeconds,
    } satisfies E2eResult;
  } finally {
    await stop();
  }
}

/**
 * A fresh install on the simulator at `timings` (indexing at once), both workers running on
 * `env`, the site's answer times collected by `clock`; `stop` ends it all.
 */
export async function startBenchInstall(timings: Partial<SimulatorOptions>, env: Record<string, string>) {
  const services = await setupServices();
  const clock = siteClock();
  const sim = await startSimulator({
    port: 0,
    catalogRows: 1500,
    seed: 1,
    indexDelayMs: 0,
    ...timings,
    onRequestServed: clock.onRequestServed,
  });
  const config = services.config(env);
  const site = { baseUrl: sim.url, username: 'demo', password: 'demo' };
  const creation = startCreationProcess({ config, site, logger: silentLogger });
  const resolution = startResolutionProcess({ config, site, logger: silentLogger });
  return {
    services,
    clock,
    sim,
    producer: services.producer(),
    stop: async () => {
      await Promise.all([creation.stop(), resolution.stop()]);
      await sim.close();
      await services.cleanup();
    },
  };
}

/** The floor computed from the settings alone, for reference beside the measured one. */
export function nominalLowerBoundSeconds(count: number): number {
  const perListing = SCALED_SITE.pageLatencyMs + 2 * SCALED_SITE.ajaxLatencyMs + SCALED_SITE.submitLatencyMs;
  return (count * perListing + SCALED_SITE.pageLatencyMs + SCALED_SITE.exportLatencyMs) / 1000;
}
