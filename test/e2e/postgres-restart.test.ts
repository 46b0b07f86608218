import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import type { Producer } from '../../src/producer/producer.ts';
import { type CliProcess, startCli } from '../helpers/cli.ts';
import { checkOutcome } from '../helpers/outcome.ts';
import { type PrivatePostgres, startPrivatePostgres } from '../helpers/private-services.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';

// Restarts a PostgreSQL cluster of our own: the shared one serves other tests.
let postgres: PrivatePostgres;
let services: TestServices;
let sim: Simulator;
let producer: Producer;
const children: CliProcess[] = [];

before(async () => {
  postgres = await startPrivatePostgres();
  services = await setupServices({ pgAdminUrl: postgres.url });
  // A slow export, so that the restart lands while a flush holds its lock and downloads.
  sim = await startSimulator({ port: 0, catalogRows: 20, seed: 9, exportLatencyMs: 3_000 });
  producer = services.producer();
});

// Also after a failed before(): whatever was started goes, the private cluster above all.
after(async () => {
  for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
  try {
    await sim?.close();
    await services?.cleanup().catch(() => {});
  } finally {
    postgres?.stop();
  }
});

test('both workers ride out a Postgres restart mid-flush, and listen again for committed listings', async () => {
  const env = services.env({
    VR_BASE_URL: sim.url,
    VR_USERNAME: 'demo',
    VR_PASSWORD: 'demo',
    FLUSH_SETTLE_MS: '0',
    RESOLUTION_BACKOFF_MS: '300',
    CREATE_BACKOFF_MS: '300',
    WORKER_LOCK_MS: '5000',
    // Only the LISTEN connection can enqueue a listing committed in a host transaction in time.
    SWEEP_INTERVAL_MS: '600000',
    LOG_LEVEL: 'info',
  });
  const creation = startCli(['worker', 'create'], env);
  const resolution = startCli(['worker', 'resolve'], env);
  children.push(creation, resolution);

  await producer.enqueueListing({ productRef: 'PGR-1', brand: 'Gibson', model: 'Les Paul', price: 3000 });
  await waitFor(
    'a flush downloading the export',
    async () => {
      const [run] = await services.database.sql`
        select id from vr_resolution_runs where export_requested_at is not null and finished_at is null`;
      return run;
    },
    120_000,
  );
  await postgres.restart();

  // Committed in the host's own transaction after the restart: reaches Redis through LISTEN.
  await waitFor(
    'an enqueue after the restart',
    () =>
      services.database.sql
        .begin((tx) =>
          producer.enqueueListing(
            { productRef: 'PGR-2', brand: 'Fender', model: 'Jaguar', price: 2000 },
            { tx },
          ),
        )
        .then(() => true),
    60_000,
  );
  await waitFor(
    'both listings completed',
    async () => {
      const [row] = await services.database.sql`
        select count(*) filter (where status = 'completed')::int as done from vr_jobs`;
      return row!.done === 2;
    },
    180_000,
  ).catch(async (error) => {
    const rows = await services.database.sql`select id, status, error from vr_jobs`;
    throw new Error(`${error.message}: ${JSON.stringify(rows)}\n${resolution.output().slice(-4000)}`);
  });
  const outcome = await checkOutcome(services.database.sql, sim.url, ['PGR-1', 'PGR-2']);
  assert.deepEqual(outcome.problems, []);
  for (const worker of [creation, resolution]) {
    assert.equal(worker.child.exitCode, null, `still running:\n${worker.output().slice(-3000)}`);
    worker.child.kill('SIGTERM');
    assert.equal((await worker.exited).code, 0, worker.output().slice(-3000));
  }
});
