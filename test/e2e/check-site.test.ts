import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { DEFAULT_CHROMIUM_PATH } from '../../src/config.ts';
import { chromiumArgs } from '../../src/vr/chromium-launcher.ts';
import { runCli } from '../helpers/cli.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';
import { FAST_SITE } from '../helpers/sim-timing.ts';

interface Report {
  ok: boolean;
  checks: { name: string; ok: boolean; ms: number; detail: string }[];
}

const CHECKS = [
  'site reachable',
  'logged in',
  'brand check',
  'category cascade',
  'TinyMCE',
  'Dropzone input',
  'shipping rows',
  'Publish link',
  'category tree',
  'export',
];

/** The site's own waits fast; an export of 300 rows (the check reads it whole, its size is not the point). */
const SITE = { catalogRows: 300, ...FAST_SITE } as const;

describe('vr-lister check-site', () => {
  let services: TestServices;
  const sims: Simulator[] = [];
  let plain: Server;

  before(async () => {
    services = await setupServices();
    plain = createServer((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!DOCTYPE html><title>Welcome to nginx!</title><h1>It works</h1>');
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await Promise.all(sims.map((s) => s.close()));
    await new Promise((resolve) => plain.close(resolve));
    await services.cleanup();
  });

  const env = (baseUrl: string) =>
    services.env({
      VR_BASE_URL: baseUrl,
      VR_USERNAME: 'demo',
      VR_PASSWORD: 'demo',
      VR_PAGE_TIMEOUT_MS: '15000',
    });

  test('passes every check against the simulator behind its Cloudflare gate, and changes nothing', async () => {
    const sim = await startSimulator({ cloudflare: 'auto', cloudflareHeadlessBlock: true, ...SITE });
    sims.push(sim);
    const before = sim.state().listings.length;
    const result = await runCli(['check-site', '--json'], env(sim.url));
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.checks.map((c) => c.name),
      CHECKS,
    );
    for (const check of report.checks) {
      assert.ok(check.ok, `${check.name}: ${check.detail}`);
      assert.ok(Number.isInteger(check.ms) && check.ms >= 0);
    }
    assert.match(
      report.checks.find((c) => c.name === 'brand check')!.detail,
      /Fender \d+, a nonsense brand 0/,
    );
    assert.match(report.checks.find((c) => c.name === 'export')!.detail, /300 rows, highest id \d+/);
    const state = sim.state();
    assert.equal(state.listings.length, before, 'no listing created');
    assert.equal(state.counters.submissions, 0, 'nothing submitted');
    assert.equal(state.counters.uploads, 0, 'nothing uploaded');
    assert.equal(state.counters.refusedRequests, 0, 'every request was the browser’s own');
  });

  test('passes the gate on a simulator reached over plain HTTP by a non-loopback address (the compose demo)', async () => {
    // Chromium sends the Sec-Fetch-* headers the gate wants only to secure origins; this one is
    // declared secure for the worker's browser alone (chromiumArgs), the real site being https.
    const address = Object.values(networkInterfaces())
      .flat()
      .find((a) => a?.family === 'IPv4' && !a.internal)?.address;
    assert.ok(address, 'this machine has a non-loopback IPv4 address');
    const sim = await startSimulator({ cloudflare: 'auto', host: address, ...SITE });
    sims.push(sim);
    assert.ok(sim.url.startsWith(`http://${address}:`));
    // On the product's full Chromium: the headless shell the other tests run ignores the flag.
    const result = await runCli(['check-site', '--json'], {
      ...env(sim.url),
      CHROMIUM_PATH: DEFAULT_CHROMIUM_PATH,
    });
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.ok(report.ok);
    assert.equal(sim.state().counters.refusedRequests, 0);
    assert.deepEqual(chromiumArgs(sim.url).slice(-1), [
      `--unsafely-treat-insecure-origin-as-secure=http://${address}:${new URL(sim.url).port}`,
    ]);
    for (const secure of ['https://www.vintageandrare.com', 'http://127.0.0.1:8080', 'http://localhost:3000'])
      assert.ok(!chromiumArgs(secure).some((a) => a.startsWith('--unsafely')), secure);
  });

  test('fails naming the check, with exit 1, when the add form lacks the Publish link', async () => {
    const sim = await startSimulator({ cloudflare: 'auto', dropElements: ['publish'], ...SITE });
    sims.push(sim);
    const result = await runCli(['check-site', '--json'], env(sim.url));
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(report.ok, false);
    const failed = report.checks.filter((c) => !c.ok).map((c) => c.name);
    assert.deepEqual(failed, ['Publish link']);
    const publish = report.checks.find((c) => c.name === 'Publish link')!;
    assert.match(publish.detail, /no Publish link \(a#submit_step_1\)/);
    assert.match(publish.detail, /saved .*publish-link\.png, .*publish-link\.html/);
    assert.equal(sim.state().counters.submissions, 0);

    // On a terminal-less stdout: the table, one line per check (the passing run above shows none).
    const table = await runCli(['check-site'], env(sim.url));
    assert.equal(table.code, 1);
    for (const name of CHECKS)
      assert.match(table.stdout, new RegExp(`^${name === 'Publish link' ? '✗' : '✓'} ${name} `, 'm'));
  });

  // The timeout is the "does not hang" part: a run that waited on a page that never comes fails it.
  test('against a plain HTTP server that is not V&R, fails at the first check and stops there', {
    timeout: 120_000,
  }, async () => {
    const { port } = plain.address() as AddressInfo;
    const result = await runCli(['check-site', '--json'], env(`http://127.0.0.1:${port}`));
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout) as Report;
    assert.equal(report.checks[0]!.name, 'site reachable');
    assert.equal(report.checks[0]!.ok, false);
    assert.match(report.checks[0]!.detail, /"Welcome to nginx!" but it is not V&R/);
    for (const check of report.checks.slice(1))
      assert.match(check.detail, /not run: "site reachable" failed/);
  });
});
