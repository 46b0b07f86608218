import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { connectDatabase, type Database } from '../../src/db/client.ts';
import { runMigrations } from '../../src/db/migrate.ts';
import { proveSite } from '../../src/db/site-trust.ts';
import { OUTAGE_EVENT } from '../../src/outage.ts';
import { createProducer, type Producer } from '../../src/producer/producer.ts';
import { type CliProcess, startCli } from '../helpers/cli.ts';
import { outageLines, parseLogLines, WARN } from '../helpers/log-capture.ts';
import { waitListedOnce } from '../helpers/outcome.ts';
import { type PrivatePostgres, startPrivatePostgres } from '../helpers/private-services.ts';
import {
  deleteKeys,
  randomName,
  setupServices,
  TEST_LISTING_DEFAULTS,
  type TestServices,
  waitFor,
} from '../helpers/services.ts';

/**
 * The database stopped and started again under running workers: no crash, the job in flight is
 * finished without a second submit, and the outbox LISTEN is back (the sweep is set to ten minutes
 * here, so only the LISTEN can pick up a listing committed in a host's transaction).
 */
describe('Postgres stopped and started again (private cluster)', () => {
  let services: TestServices;
  let pg: PrivatePostgres;
  let databaseUrl: string;
  let database: Database;
  let sim: Simulator;
  let producer: Producer;
  let queuePrefix: string;
  const children: CliProcess[] = [];

  before(async () => {
    services = await setupServices(); // only for the shared Redis, under a random prefix
    pg = await startPrivatePostgres();
    databaseUrl = pg.urlFor('vrl_faults');
    await runMigrations(databaseUrl);
    database = connectDatabase(databaseUrl, { max: 2 });
    await proveSite(database.db, 'test set-up: not a test of probation');
    queuePrefix = randomName('vrlt_pg');
    sim = await startSimulator({ port: 0, catalogRows: 30, seed: 41, submitLatencyMs: 2_000 });
    producer = createProducer({
      databaseUrl,
      redisUrl: services.redisUrl,
      queuePrefix,
      queueTimeoutMs: 2_000,
      listingDefaults: TEST_LISTING_DEFAULTS,
    });
  });

  // Also after a failed before(): whatever was started goes, the private cluster above all.
  after(async () => {
    for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    try {
      await producer?.close().catch(() => {});
      await database?.close().catch(() => {});
      await sim?.close();
    } finally {
      pg?.stop();
      if (services) {
        await deleteKeys(services.redis, `${queuePrefix}:*`);
        await services.cleanup();
      }
    }
  });

  const env = () =>
    services.env({
      DATABASE_URL: databaseUrl,
      QUEUE_PREFIX: queuePrefix,
      VR_BASE_URL: sim.url,
      VR_USERNAME: 'demo',
      VR_PASSWORD: 'demo',
      FLUSH_SETTLE_MS: '300',
      RESOLUTION_BACKOFF_MS: '300',
      CREATE_BACKOFF_MS: '200',
      OUTAGE_RETRY_MAX_MS: '1000',
      SWEEP_INTERVAL_MS: '600000',
      LOG_LEVEL: 'debug',
    });
  const listed = (ref: string) => waitListedOnce(database.sql, sim.url, ref);
  const listing = (productRef: string) => ({ productRef, brand: 'Gibson', model: 'Les Paul', price: 2500 });
  // Committed in the host's transaction: only the resolution worker's LISTEN enqueues it.
  const enqueueInTransaction = (ref: string) =>
    database.sql.begin(async (tx) => {
      await producer.enqueueListing(listing(ref), { tx });
    });

  test('no crash, the job in flight finishes without a second submit, LISTEN is back', async () => {
    const create = startCli(['worker', 'create'], env());
    const resolve = startCli(['worker', 'resolve'], env());
    children.push(create, resolve);
    await enqueueInTransaction('PG-BEFORE');
    await listed('PG-BEFORE');

    // Postgres goes away while a submit is in flight (the simulator takes 2 s to answer it).
    await producer.enqueueListing(listing('PG-INFLIGHT'));
    const submissions = sim.state().counters.submissions;
    await waitFor('the submit in flight', () => sim.state().counters.submissions > submissions, 60_000);
    await pg.pgStop();
    // Down until both workers have met the outage (the creation worker recording its submit, the
    // resolution worker's LISTEN heartbeat), then a reconnect of the LISTEN has failed too.
    const down = (p: CliProcess, event: (typeof OUTAGE_EVENT)[keyof typeof OUTAGE_EVENT]) =>
      outageLines(parseLogLines(p.output()), 'Postgres', event).length > 0;
    await waitFor(
      'both workers to meet the outage',
      () => down(create, OUTAGE_EVENT.down) && down(resolve, OUTAGE_EVENT.down),
    );
    await waitFor('a failed reconnect of the LISTEN', () => down(resolve, OUTAGE_EVENT.stillDown));
    assert.equal(create.child.exitCode, null, create.output().slice(-3000));
    assert.equal(resolve.child.exitCode, null, resolve.output().slice(-3000));
    await pg.pgStart();

    await listed('PG-INFLIGHT');
    await enqueueInTransaction('PG-AFTER');
    await listed('PG-AFTER');

    const createLines = parseLogLines(create.output());
    assert.equal(
      outageLines(createLines, 'Postgres', OUTAGE_EVENT.down).length,
      1,
      `one warning from the creation worker: ${JSON.stringify(createLines.filter((l) => l.level >= WARN || /PG-INFLIGHT/.test(String(l.productRef))).map((l) => [l.level, l.msg, l.err]))}`,
    );
    const resolveLines = parseLogLines(resolve.output());
    assert.equal(
      outageLines(resolveLines, 'Postgres', OUTAGE_EVENT.down).length,
      1,
      'one warning from the resolution worker',
    );
    for (const p of [create, resolve]) {
      const lines = parseLogLines(p.output());
      assert.ok(outageLines(lines, 'Postgres', OUTAGE_EVENT.down).every((l) => l.level === WARN));
      const noisy = lines.filter((l) => l.level >= WARN && l.event !== OUTAGE_EVENT.down);
      assert.ok(noisy.length <= 4, JSON.stringify(noisy.slice(0, 6)));
      p.child.kill('SIGTERM');
      assert.equal((await p.exited).code, 0, p.output().slice(-3000));
    }
  });
});
