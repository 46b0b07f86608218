import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli, startCli } from './helpers/cli.ts';
import { setupServices, type TestServices, waitFor } from './helpers/services.ts';

let services: TestServices;

before(async () => {
  services = await setupServices();
});

after(async () => {
  await services.cleanup();
});

test('vr-lister start runs the whole system on the simulator: enqueued listings get their ids', async () => {
  const env = services.env({ API_PORT: '0', FLUSH_SETTLE_MS: '300', LOG_LEVEL: 'warn' });
  const system = startCli(['start'], env);
  try {
    const banner = await waitFor(
      'the start banner',
      () => /API token:\s+(\S+)/.exec(system.output()),
      90_000,
    );
    const api = /API:\s+(http:\/\/\S+?)\/api/.exec(system.output())![1]!;
    assert.match(system.output(), /V&R:\s+http:\/\/127\.0\.0\.1:\d+\s+\(built-in simulator/);

    const listings = Array.from({ length: 3 }, (_, i) => ({
      productRef: `START-${i}`,
      brand: 'Fender',
      model: `Precision Bass ${i}`,
      price: 1000 + i,
      category: 'Basses>Electric bass',
    }));
    const enqueue = await runCli(['enqueue', '-'], env, JSON.stringify(listings));
    assert.equal(enqueue.code, 0, enqueue.stderr);

    const jobs = await waitFor(
      'every listing resolved',
      async () => {
        const result = await runCli(['jobs', '--json'], env);
        const list = JSON.parse(result.stdout) as { status: string; vrListingId: string | null }[];
        return list.length === 3 && list.every((j) => j.status === 'completed') ? list : undefined;
      },
      120_000,
    );
    assert.equal(new Set(jobs.map((j) => j.vrListingId)).size, 3);

    const unauthorized = await fetch(`${api}/api/vr/resolution-status`);
    assert.equal(unauthorized.status, 401);
    const status = await fetch(`${api}/api/vr/resolution-status`, {
      headers: { authorization: `Bearer ${banner[1]}` },
    });
    assert.equal(status.status, 200);
    assert.equal((await status.json()).pending_count, 0);
  } finally {
    system.child.kill('SIGTERM');
    const exit = await system.exited;
    assert.equal(exit.code, 0, system.output().slice(-2000));
  }
});
