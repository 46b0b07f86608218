import { startCreationProcess } from '../src/creation/main.ts';
import { silentLogger } from '../src/logger.ts';
import { startResolutionProcess } from '../src/resolution/main.ts';
import { startSimulator } from '../src/simulator/server.ts';
import { setupServices, waitFor } from '../test/helpers/services.ts';

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
}

function listings(prefix: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    productRef: `${prefix}-${i}`,
    brand: 'Fender',
    model: `Stratocaster ${i}`,
    price: 1000 + i,
    description: `<p>Bench listing ${i}</p>`,
  }));
}

/**
 * Enqueues `count` listings into a fresh install and measures until every one is resolved.
 * `oldWay` runs the strategy vr-lister replaces: one listing, one export, one resolution, repeat.
 */
export async function runE2eCase(count: number, { oldWay = false } = {}): Promise<E2eResult> {
  const services = await setupServices();
  const sim = await startSimulator({ port: 0, catalogRows: 1500, seed: 1, indexDelayMs: 0, ...SCALED_SITE });
  const config = services.config({
    FLUSH_SETTLE_MS: '0',
    RESOLUTION_BACKOFF_MS: '200',
    // The old way: a flush after every listing, and the next listing only after it.
    MAX_BATCH_SIZE: oldWay ? '1' : '10',
  });
  const site = { baseUrl: sim.url, username: 'demo', password: 'demo' };
  const creation = startCreationProcess({ config, site, logger: silentLogger });
  const resolution = startResolutionProcess({ config, site, logger: silentLogger });
  const producer = services.producer();
  const exportsBefore = sim.state().counters.exports;
  const start = performance.now();
  try {
    const all = listings(oldWay ? 'OLD' : 'NEW', count);
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
    return {
      listings: count,
      seconds: (performance.now() - start) / 1000,
      exports: sim.state().counters.exports - exportsBefore,
    };
  } finally {
    await Promise.all([creation.stop(), resolution.stop()]);
    await sim.close();
    await services.cleanup();
  }
}

/** The floor: the simulator's own time for the creations plus one export, with no client at all. */
export function lowerBoundSeconds(count: number): number {
  // Per listing: form page, brand check, suggestion lookup, submit; then one export.
  const perListing = SCALED_SITE.pageLatencyMs + 2 * SCALED_SITE.ajaxLatencyMs + SCALED_SITE.submitLatencyMs;
  return (count * perListing + SCALED_SITE.exportLatencyMs) / 1000;
}
