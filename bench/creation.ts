import { startSimulator } from '../simulator/src/server.ts';
import { startCreationProcess } from '../src/creation/main.ts';
import { silentLogger } from '../src/logger.ts';
import { setupServices } from '../test/helpers/services.ts';
import { benchListings, SCALED_SITE, siteClock, waitFor } from './e2e.ts';

export interface CreationResult {
  listings: number;
  latency: 'zero' | 'scaled';
  seconds: number;
  listingsPerSecond: number;
  /** The simulator's own time per listing (median of each creation request, summed). */
  siteMsPerListing: number;
  /** Wall time per listing minus the site's own time: what the browser and the worker add. */
  overheadMsPerListing: number;
}

/**
 * The creation worker alone (no resolution), warmed up with one listing (browser launched, logged
 * in), then `count` listings: wall time from the enqueue to the last one submitted.
 */
export async function runCreationCase(count: number, latency: 'zero' | 'scaled'): Promise<CreationResult> {
  const services = await setupServices();
  const clock = siteClock();
  const sim = await startSimulator({
    port: 0,
    catalogRows: 100,
    seed: 1,
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
    const siteMs = clock.perListingSeconds() * 1000;
    return {
      listings: count,
      latency,
      seconds,
      listingsPerSecond: count / seconds,
      siteMsPerListing: siteMs,
      overheadMsPerListing: (seconds * 1000) / count - siteMs,
    };
  } finally {
    await creation.stop();
    await sim.close();
    await services.cleanup();
  }
}
