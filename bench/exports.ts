/**
 * Exports per batch of listings: how many times the resolver downloads V&R's export to resolve
 * LISTINGS (23) distinct listings, with MAX_BATCH_SIZE=10, FLUSH_SETTLE_MS=500 and the simulator
 * indexing new listings after 300 ms (the site's timings scaled down as in the e2e bench).
 *   node --import tsx bench/exports.ts
 */

import { startSimulator } from '../simulator/src/server.ts';
import { startCreationProcess } from '../src/creation/main.ts';
import { silentLogger } from '../src/logger.ts';
import { startResolutionProcess } from '../src/resolution/main.ts';
import { setupServices } from '../test/helpers/services.ts';
import { benchListings, SCALED_SITE, waitFor } from './e2e.ts';

const count = Number(process.env.LISTINGS ?? 23);
const services = await setupServices();
const sim = await startSimulator({ port: 0, catalogRows: 300, seed: 1, indexDelayMs: 300, ...SCALED_SITE });
const config = services.config({
  FLUSH_SETTLE_MS: '500',
  RESOLUTION_BACKOFF_MS: '500',
  MAX_BATCH_SIZE: '10',
  SWEEP_INTERVAL_MS: '600000',
});
const site = { baseUrl: sim.url, username: 'demo', password: 'demo' };
const creation = startCreationProcess({ config, site, logger: silentLogger });
const resolution = startResolutionProcess({ config, site, logger: silentLogger });
try {
  await waitFor('warm-up login', async () => sim.state().counters.logins >= 1, 120_000);
  const start = performance.now();
  await services.producer().enqueueListings(benchListings('EXP', count));
  await waitFor(
    'every listing settled',
    async () =>
      (
        await services.database
          .sql`select count(*)::int as n from vr_jobs where status in ('completed', 'needs_review', 'failed')`
      )[0]!.n === count,
    600_000,
  );
  const runs = await services.database.sql<{ kind: string; n: number }[]>`
    select kind, count(*)::int as n from vr_resolution_runs where export_requested_at is not null group by 1 order by 1`;
  if (process.env.DEBUG) {
    const t0 = (await services.database.sql`select min(submitted_at) as t from vr_jobs`)[0]!.t as Date;
    const rel = (d: Date | string | null) =>
      d ? (new Date(d).getTime() - new Date(t0).getTime()) / 1000 : null;
    for (const r of await services.database
      .sql`select kind, trigger, export_requested_at, finished_at, pending_at_start, matched from vr_resolution_runs order by id`)
      console.log(
        r.kind,
        r.trigger,
        rel(r.export_requested_at),
        rel(r.finished_at),
        r.pending_at_start,
        r.matched,
      );
    console.log(
      'submits',
      (await services.database.sql`select submitted_at from vr_jobs order by submitted_at`).map((j) =>
        rel(j.submitted_at),
      ),
    );
  }
  const statuses = await services.database.sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from vr_jobs group by 1 order by 1`;
  console.log(
    JSON.stringify({
      listings: count,
      exportsDownloaded: sim.state().counters.exports,
      runs: Object.fromEntries(runs.map((r) => [r.kind, r.n])),
      statuses: Object.fromEntries(statuses.map((s) => [s.status, s.n])),
      seconds: Number(((performance.now() - start) / 1000).toFixed(1)),
    }),
  );
} finally {
  await Promise.all([creation.stop(), resolution.stop()]);
  await sim.close();
  await services.cleanup();
}
