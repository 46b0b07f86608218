import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_CHROMIUM_PATH } from '../../src/config.ts';
import { PUBLISHED_STEP } from '../../src/creation/create-listing.ts';
import { LOG_EVENT } from '../../src/log-events.ts';
import { type CliProcess, runCli, startCli } from '../helpers/cli.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';

/** pino JSON lines from a child's combined output (the banner and warnings are skipped). */
function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{"level"'))
    .map((line) => JSON.parse(line));
}

describe('vr-lister start, then npm run demo, as a person would on a fresh clone', () => {
  let services: TestServices;
  let system: CliProcess;
  let env: Record<string, string>;
  let api: string;
  let token: string;

  before(async () => {
    services = await setupServices();
    // The defaults of `npm start`, on this file's database and queue prefix; logs at info, as JSON.
    env = services.env({ API_PORT: '0', LOG_LEVEL: 'info' });
    // npm start's own browser too (full Chromium), not the headless shell the other tests run.
    delete env.CHROMIUM_PATH;
    system = startCli(['start'], env);
    await waitFor('the start banner', () => /Stop:/.test(system.output()), 120_000);
    api = /API:\s+(http:\/\/127\.0\.0\.1:\d+)\s/.exec(system.output())![1]!;
    token = /API token:\s+(\S+)/.exec(system.output())![1]!;
  });

  after(async () => {
    if (system.child.exitCode === null) system.child.kill('SIGKILL');
    await services.cleanup();
  });

  test('the banner gives the API, Bull Board with its login, the token, the simulator and what to run', () => {
    const banner = system.output();
    assert.match(
      banner,
      new RegExp(
        `Bull Board:\\s+${api}/admin/queues\\s+\\(log in with any user name and the API token as password\\)`,
      ),
    );
    assert.match(token, /^[\w-]{20,}$/);
    assert.match(banner, /V&R:\s+http:\/\/127\.0\.0\.1:\d+\s+\(built-in simulator, demo\/demo\)/);
    assert.match(banner, /npm run demo/);
    assert.match(banner, /npx vr-lister watch/);
  });

  test('enqueued listings get their ids; the API answers with the printed token only', async () => {
    const listings = Array.from({ length: 3 }, (_, i) => ({
      productRef: `START-${i}`,
      brand: 'Fender',
      model: `Precision Bass ${i}`,
      price: 1000 + i,
      category: 'Basses>4 string',
    }));
    const enqueue = await runCli(['enqueue', '-'], env, JSON.stringify(listings));
    assert.equal(enqueue.code, 0, enqueue.stderr);
    // Waited for in Postgres (a CLI start per poll cost about a second of CPU), then read once
    // through `vr-lister jobs --json`.
    await waitFor(
      'every listing resolved',
      async () => {
        const [{ n }] = await services.database.sql<[{ n: number }]>`
          select count(*)::int as n from vr_jobs where status = 'completed'`;
        return n === 3;
      },
      180_000,
    );
    const result = await runCli(['jobs', '--json'], env);
    assert.equal(result.code, 0, result.stderr);
    const jobs = JSON.parse(result.stdout) as { status: string; vrListingId: string | null }[];
    assert.deepEqual(
      jobs.map((j) => j.status),
      ['completed', 'completed', 'completed'],
    );
    assert.equal(new Set(jobs.map((j) => j.vrListingId)).size, 3);
    assert.equal((await fetch(`${api}/api/vr/resolution-status`)).status, 401);
    const status = await fetch(`${api}/api/vr/resolution-status`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(status.status, 200);
    assert.equal((await status.json()).pending_count, 0);
    // What the containers' health checks run: both workers are connected.
    for (const kind of ['create', 'resolve']) {
      const health = await runCli(['health', '--worker', kind, '--json'], env);
      assert.equal(health.code, 0, health.stdout);
      assert.ok(JSON.parse(health.stdout).workers >= 1);
    }
  });

  test('npm run demo: twelve listings, every one completed with its V&R id, then exit 0', async () => {
    const demo = await runCli(['demo', '--interval', '500'], env);
    assert.equal(demo.code, 0, `${demo.stdout}\n${demo.stderr}`);
    const refs = [...demo.stdout.matchAll(/^(DEMO-\w+-\d\d) {2}V&R id (\d+)$/gm)];
    assert.equal(refs.length, 12, demo.stdout);
    assert.match(demo.stdout, /12 of 12 listings have their V&R ids/);
    // Not a TTY: one plain line per refresh, no escape codes.
    assert.match(demo.stdout, /completed=\d+ .*\| creating: /);
    assert.doesNotMatch(demo.stdout, /\x1b\[/);

    const rows = await services.database.sql<
      { product_ref: string; status: string; vr_listing_id: string }[]
    >`
      select product_ref, status, vr_listing_id::text from vr_jobs where product_ref like 'DEMO-%' order by id`;
    assert.equal(rows.length, 12);
    for (const row of rows) {
      assert.equal(row.status, 'completed', row.product_ref);
      assert.match(row.vr_listing_id, /^\d+$/);
    }
    // What the demo printed is what Postgres holds, and no id went to two listings.
    assert.deepEqual(
      refs.map((m) => `${m[1]} ${m[2]}`).sort(),
      rows.map((r) => `${r.product_ref} ${r.vr_listing_id}`).sort(),
    );
    assert.equal(new Set(rows.map((r) => r.vr_listing_id)).size, 12);
  });

  test('every line logged while a job runs names its queue, job, product and attempt; no secret is logged', () => {
    const lines = logLines(system.output());
    const published = lines.filter((l) => l.event === LOG_EVENT.jobStep && l.step === PUBLISHED_STEP);
    assert.ok(published.length >= 15, `published lines: ${published.length}`);
    for (const line of published) {
      assert.equal(line.queue, 'vr-create');
      assert.equal(line.process, 'worker-create');
      assert.match(String(line.jobId), /^listing-\d+-\d+$/);
      assert.match(String(line.productRef), /^(START|DEMO)-/);
      assert.equal(typeof line.attempt, 'number');
    }
    // The creation worker launches Chromium and logs in at start-up, before any job.
    for (const event of [LOG_EVENT.browserLaunch, LOG_EVENT.loggedIn]) {
      assert.ok(
        lines.some((l) => l.event === event && l.process === 'worker-create'),
        event,
      );
    }
    // npm start's own default browser, full Chromium (the other tests run the headless shell).
    const launches = lines.filter((l) => l.event === LOG_EVENT.browserLaunch);
    assert.ok(launches.length >= 1 && launches.every((l) => l.chromium === DEFAULT_CHROMIUM_PATH));
    // Lines from the browser and the flush decision, written while a job runs, name the job too.
    for (const event of [LOG_EVENT.browserLaunch, LOG_EVENT.loggedIn, LOG_EVENT.flushScheduled]) {
      const flushScheduled = event === LOG_EVENT.flushScheduled;
      const some = lines.filter((l) => l.event === event && (flushScheduled || l.jobId !== undefined));
      if (flushScheduled) assert.ok(some.length >= 1, event);
      for (const line of some) {
        assert.equal(line.queue, 'vr-create', event);
        assert.match(String(line.productRef), /^(START|DEMO)-/, event);
        assert.match(String(line.jobId), /^listing-\d+-\d+$/, event);
      }
    }
    const found = lines.filter((l) => l.event === LOG_EVENT.vrIdFound);
    assert.equal(found.length, 15);
    for (const line of found) {
      assert.equal(line.queue, 'vr-resolve');
      assert.ok(line.jobId);
      assert.equal(typeof line.attempt, 'number');
      assert.match(String(line.productRef), /^(START|DEMO)-/);
    }
    const flushLines = lines.filter((l) => l.event === LOG_EVENT.exportDownloading);
    assert.ok(flushLines.length >= 1);
    for (const line of flushLines) assert.equal(line.queue, 'vr-resolve');
    assert.ok(!logLines(system.output()).some((l) => JSON.stringify(l).includes(token)));
  });

  test('the demo refuses to start when nothing is running, and SIGTERM stops start with status 0', async () => {
    system.child.kill('SIGTERM');
    const exit = await system.exited;
    assert.equal(exit.code, 0, system.output().slice(-2000));
    const demo = await runCli(['demo'], env);
    assert.equal(demo.code, 2);
    assert.match(demo.stderr, /No creation worker is running .*npm start/);
  });
});
