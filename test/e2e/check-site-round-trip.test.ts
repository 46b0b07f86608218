import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { listSiteFacts, SITE_PROVEN } from '../../src/db/site-facts.ts';
import { runCli } from '../helpers/cli.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

interface Report {
  ok: boolean;
  checks: { name: string; ok: boolean; ms: number; detail: string }[];
  facts: {
    publishedText: string | null;
    indexingDelayMs: number | null;
    markerSurvives: boolean | null;
    exportContentType: string | null;
    feesStored: boolean | null;
    deleted: boolean;
  };
}

describe('vr-lister check-site --round-trip', () => {
  let services: TestServices;
  let sim: Simulator;

  before(async () => {
    services = await setupServices();
    // The listing shows in the export a while after Publish (scaled), as V&R's indexing would.
    sim = await startSimulator({
      cloudflare: 'auto',
      catalogRows: 40,
      timeScale: 0.05,
      indexDelayMs: 60_000,
    });
  });
  after(async () => {
    await sim.close();
    await services.cleanup();
  });

  const env = () =>
    services.env({
      VR_BASE_URL: sim.url,
      VR_USERNAME: 'demo',
      VR_PASSWORD: 'demo',
      VR_PAGE_TIMEOUT_MS: '15000',
    });

  test('a Publish answered with field errors yet stored: fails naming the check, finds the listing all the same and deletes it', async () => {
    const live = () =>
      sim
        .state()
        .listings.filter((l) => !l.deleted)
        .map((l) => l.product_id);
    const before = live();
    sim.setFaults({ fieldErrorsAfterStoreNext: 1 });
    const result = await runCli(['check-site', '--round-trip', '--json', '--wait-ms', '60000'], env());
    assert.equal(result.code, 1, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(report.ok, false);
    const check = (name: string) => report.checks.find((c) => c.name === name)!;
    assert.equal(check('publish').ok, false);
    assert.match(check('publish').detail, /field errors after the POST .*saved .*publish\.png/);
    assert.equal(check('found in export').ok, true, check('found in export').detail);
    assert.match(check('read back').detail, /not run: "publish" failed/);
    assert.equal(check('delete').ok, true, check('delete').detail);
    assert.equal(check('gone from export').ok, true);
    assert.equal(report.facts.deleted, true);
    assert.equal(typeof report.facts.indexingDelayMs, 'number');
    assert.deepEqual(live(), before, 'the test listing was deleted');
    const facts = new Map((await listSiteFacts(services.database.db)).map((f) => [f.key, f.value]));
    assert.equal(facts.has(SITE_PROVEN), false, 'a failed round trip proves nothing');
  });

  test('publishes a test listing, finds it, reads it back, deletes it; the facts are stored and shown', async () => {
    const live = () =>
      sim
        .state()
        .listings.filter((l) => !l.deleted)
        .map((l) => l.product_id);
    const before = live();
    const known = new Set(sim.state().listings.map((l) => l.product_id));
    const result = await runCli(
      ['check-site', '--round-trip', '--json', '--price', '45678', '--wait-ms', '60000'],
      env(),
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(report.ok, true, result.stdout);
    assert.deepEqual(
      report.checks.map((c) => [c.name, c.ok]),
      [
        ['logged in', true],
        ['baseline export', true],
        ['publish', true],
        ['found in export', true],
        ['read back', true],
        ['delete', true],
        ['gone from export', true],
      ],
    );
    assert.equal(typeof report.facts.indexingDelayMs, 'number');
    assert.ok(report.facts.indexingDelayMs! >= 0);
    assert.match(report.facts.publishedText ?? '', /published and live/i);
    assert.equal(report.facts.markerSurvives, true);
    assert.equal(report.facts.feesStored, true);
    assert.match(report.facts.exportContentType ?? '', /text\/csv/);
    assert.equal(report.facts.deleted, true);

    // The one listing it made was a test listing, at the asked price, and it is gone again.
    const state = sim.state();
    assert.equal(state.counters.submissions, 2);
    const made = state.listings.filter((l) => !known.has(l.product_id));
    assert.equal(made.length, 1);
    assert.match(made[0]!.product_model_name, /TEST LISTING by vr-lister check-site --round-trip/);
    assert.equal(made[0]!.product_price, 45678);
    assert.equal(made[0]!.deleted, true);
    assert.deepEqual(live(), before, 'the live listings are as before');

    const facts = new Map((await listSiteFacts(services.database.db)).map((f) => [f.key, f.value]));
    assert.equal(facts.get('round_trip.indexingDelayMs'), report.facts.indexingDelayMs);
    assert.equal(facts.get('round_trip.deleted'), true);
    assert.equal(facts.get(SITE_PROVEN), true);

    const status = await runCli(['status'], env());
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /facts learned about V&R:/);
    assert.match(status.stdout, /round_trip\.indexingDelayMs +\d+/);
  });

  test('refuses a bad --price or a round-trip flag without --round-trip, naming it, and publishes nothing', async () => {
    const bad = await runCli(['check-site', '--round-trip', '--price', 'lots'], env());
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /--price must be a positive amount/);
    const alone = await runCli(['check-site', '--wait-ms', '5'], env());
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /--wait-ms goes with --round-trip/);
    assert.equal(sim.state().counters.submissions, 2);
  });
});
