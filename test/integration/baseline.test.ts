import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { csvLine, EXPORT_HEADER, generateCatalog } from '../../simulator/src/catalog.ts';
import { lastKnownVrId } from '../../src/creation/create-listing.ts';
import { resolutionStatus } from '../../src/db/queries.ts';
import { silentLogger } from '../../src/logger.ts';
import { ensureBaseline } from '../../src/resolution/baseline.ts';
import { VrUnavailableError } from '../../src/vr/errors.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

describe('the baseline before an install’s first submit', () => {
  let services: TestServices;
  const catalog = generateCatalog(120, 5);
  const highest = Math.max(...catalog.map((l) => l.product_id));
  const file = Buffer.concat([EXPORT_HEADER, ...catalog.map((l) => csvLine(l))]);
  let downloads = 0;
  async function* slowExport(): AsyncIterable<Uint8Array> {
    downloads += 1;
    // Slow enough that a second caller arrives while the first downloads.
    await new Promise((r) => setTimeout(r, 200));
    yield file;
  }
  const deps = () => ({
    db: services.database.db,
    databaseUrl: services.databaseUrl,
    openExport: async () => slowExport(),
    logger: silentLogger,
  });

  before(async () => {
    services = await setupServices();
  });
  after(async () => {
    await services.cleanup();
  });

  test('a failed download records nothing usable and is tried again by the next submit', async () => {
    const failing = {
      ...deps(),
      openExport: async (): Promise<AsyncIterable<Uint8Array>> => {
        throw new VrUnavailableError('V&R is down');
      },
    };
    await assert.rejects(ensureBaseline(failing), VrUnavailableError);
    assert.equal(await lastKnownVrId(services.database.db), 0);
    const [run] = await services.database.sql`select kind, error, max_product_id from vr_resolution_runs`;
    assert.equal(run!.kind, 'baseline');
    assert.match(run!.error, /V&R is down/);
    assert.equal(run!.max_product_id, null);
  });

  test('two workers at once: one download, its highest id recorded, then never again', async () => {
    const [a, b] = await Promise.all([ensureBaseline(deps()), ensureBaseline(deps())]);
    assert.equal(downloads, 1);
    assert.deepEqual([a, b].sort(), [highest, undefined].sort());
    assert.equal(await lastKnownVrId(services.database.db), highest);
    assert.equal(await ensureBaseline(deps()), undefined);
    assert.equal(downloads, 1);
    const runs = await services.database.sql`
      select kind, trigger, rows_scanned, max_product_id::int from vr_resolution_runs
      where error is null`;
    assert.deepEqual(
      runs.map((r) => ({ ...r })),
      [{ kind: 'baseline', trigger: 'baseline', rows_scanned: catalog.length, max_product_id: highest }],
    );
    // Not a resolution: `status` shows none yet.
    assert.equal((await resolutionStatus(services.database.db)).last_resolution, null);
  });

  test('a restore that lost the runs table but kept the links needs no baseline', async () => {
    await services.database.sql`delete from vr_resolution_runs`;
    await services.database.sql`
      insert into vr_product_links (product_ref, vr_listing_id) values ('KEPT', ${highest + 5})`;
    assert.equal(await ensureBaseline(deps()), undefined);
    assert.equal(downloads, 1);
    // Links and runs both lost: a new baseline.
    await services.database.sql`delete from vr_product_links`;
    assert.equal(await ensureBaseline(deps()), highest);
    assert.equal(downloads, 2);
  });
});
