import { startSimulator } from '../simulator/src/server.ts';
import { VARIANTS } from '../simulator/src/variants.ts';
import { startCreationProcess } from '../src/creation/main.ts';
import { silentLogger } from '../src/logger.ts';
import { setupServices } from '../test/helpers/services.ts';
import { benchListings, SCALED_SITE, siteClock, startBenchInstall, waitFor } from './e2e.ts';

export interface CreationResult {
  listings: number;
  latency: 'zero' | 'scaled';
  seconds: number;
  listingsPerSecond: number;
  /**
   * The site's own time per listing: the median of each creation request (measured on the
   * simulator's side), summed, plus the editor's start-up in the page (V&R's time, not ours).
   */
  siteMsPerListing: number;
  /** Wall time per listing minus the site's own time: what the browser and the worker add. */
  ownMsPerListing: number;
}

/** TinyMCE's start-up in the variant the benches run (0), at `timeScale`. */
function editorStartMs(timeScale: number): number {
  return VARIANTS[0]!.tinymceInitMs * timeScale;
}

/**
 * The creation worker alone (no resolution), warmed up with one listing (browser launched, logged
 * in), then `count` listings: wall time from the enqueue to the last one submitted. `zero`: the
 * site answers at once (every wait of the simulator's, the editor's start-up included, is 0).
 */
export async function runCreationCase(count: number, latency: 'zero' | 'scaled'): Promise<CreationResult> {
  const services = await setupServices();
  const clock = siteClock();
  const timeScale = latency === 'zero' ? 0 : 1;
  const sim = await startSimulator({
    port: 0,
    catalogRows: 100,
    seed: 1,
    timeScale,
    ...(latency === 'scaled' ? SCALED_SITE : {}),
    onRequestServed: clock.onRequestServed,
  });
  // A flush is never run here; a long settle keeps the drain flush out of the way.
  const config = services.config({ FLUSH_SETTLE_MS: '3600000', MAX_BATCH_SIZE: '1000' });
  const site = { baseUrl: sim.url, username: 'demo', password: 'demo' };
  const creation = startCreationProcess({ config, site, logger: silentLogger });
  const producer = services.producer();
  const submitted = async (n: number) =>
    (
      await services.database
        .sql`select count(*)::int as n from vr_jobs where status = 'completed_pending_id'`
    )[0]!.n >= n;
  try {
    await producer.enqueueListings(benchListings('WARM', 1));
    await waitFor('warm-up listing', () => submitted(1), 120_000);
    clock.reset();
    const start = performance.now();
    await producer.enqueueListings(benchListings('CRE', count));
    await waitFor('all submitted', () => submitted(count + 1), 600_000);
    const seconds = (performance.now() - start) / 1000;
    const siteMs = clock.perListingSeconds() * 1000 + editorStartMs(timeScale);
    return {
      listings: count,
      latency,
      seconds,
      listingsPerSecond: count / seconds,
      siteMsPerListing: siteMs,
      ownMsPerListing: (seconds * 1000) / count - siteMs,
    };
  } finally {
    await creation.stop();
    await sim.close();
    await services.cleanup();
  }
}

/**
 * The real site's timings divided by 10: a form page 500 ms, its editor 1 s (the variant's own),
 * Publish 4 s, the export 6 s. The AJAX answers (brand check, suggestions, the category levels)
 * are unknown on the real site; 50 ms here.
 */
export const TEN_X_SITE = {
  pageLatencyMs: 500,
  ajaxLatencyMs: 50,
  submitLatencyMs: 4_000,
  exportLatencyMs: 6_000,
};

export interface LaneResult {
  listings: number;
  /** A fresh install's first listing, until its id: the login and the baseline export come with it. */
  firstListingSeconds: number;
  /** The listings after it, from their enqueue until every one has its id. */
  seconds: number;
  /** N × (page + editor + Publish) + one export, the site's own time (measured on its side). */
  siteSeconds: number;
  ratio: number;
}

/** Both workers on a fresh install at TEN_X_SITE: one listing first, then `count` in steady state. */
export async function runLaneCase(count: number): Promise<LaneResult> {
  const { services, clock, producer, stop } = await startBenchInstall(TEN_X_SITE, {
    FLUSH_SETTLE_MS: '0',
    RESOLUTION_BACKOFF_MS: '200',
  });
  const completed = async (n: number) =>
    (await services.database.sql`select count(*)::int as n from vr_jobs where status = 'completed'`)[0]!.n >=
    n;
  try {
    const first = performance.now();
    await producer.enqueueListings(benchListings('FIRST', 1));
    await waitFor('the first listing', () => completed(1), 600_000);
    const firstListingSeconds = (performance.now() - first) / 1000;
    clock.reset();
    const start = performance.now();
    await producer.enqueueListings(benchListings('LANE', count));
    await waitFor('every listing', () => completed(count + 1), 1_200_000);
    const seconds = (performance.now() - start) / 1000;
    const perListing = clock.pageAndSubmitSeconds() + editorStartMs(1) / 1000;
    const siteSeconds = count * perListing + clock.exportSeconds();
    return { listings: count, firstListingSeconds, seconds, siteSeconds, ratio: seconds / siteSeconds };
  } finally {
    await stop();
  }
}
