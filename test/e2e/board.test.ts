import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { connectApiRedis } from '../../src/api/main.ts';
import { startCreationProcess } from '../../src/creation/main.ts';
import { silentLogger } from '../../src/logger.ts';
import { CREATE_QUEUE } from '../../src/queues.ts';
import { buildTestApi } from '../helpers/api.ts';
import { launchTestChromium } from '../helpers/chromium.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';

const TOKEN = 'board-token-0123456789abc';

describe('Bull Board in a real browser', () => {
  let services: TestServices;
  let sim: Simulator;
  let redis: Redis;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  let queue: Queue;

  before(async () => {
    services = await setupServices();
    sim = await startSimulator({ port: 0, catalogRows: 20, seed: 3 });
    redis = connectApiRedis(services.redisUrl, silentLogger);
    app = await buildTestApi(services, { env: { API_TOKEN: TOKEN }, siteUrl: sim.url, redis });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchTestChromium();
    queue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
  });

  after(async () => {
    await browser?.close();
    await queue.close();
    await app.close();
    redis.disconnect();
    await sim.close();
    await services.cleanup();
  });

  test('both queues and a creation job with its worker log lines, behind Basic auth', async (t) => {
    // A listing through the API, created by the real worker: it writes the job's log lines.
    const posted = await fetch(`${url}/api/vr/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ productRef: 'BOARD-1', brand: 'Fender', model: 'Jazzmaster', price: 2100 }),
    });
    assert.equal(posted.status, 201);
    const { job } = (await posted.json()) as { job: { id: number } };
    const worker = startCreationProcess({
      config: services.config({ CREATE_BACKOFF_MS: '200', FLUSH_SETTLE_MS: '60000' }),
      site: { baseUrl: sim.url, username: 'demo', password: 'demo' },
      logger: silentLogger,
    });
    const jobId = `listing-${job.id}-0`;
    try {
      await waitFor(
        'the creation job to complete',
        async () => (await queue.getJob(jobId))?.finishedOn,
        180_000,
      );
    } finally {
      await worker.stop();
    }
    const { logs } = await queue.getJobLogs(jobId);
    assert.ok(logs.includes('claiming the job'), logs.join('\n'));
    const brandLine = logs.find((line) => line.startsWith('brand checked: Fender'));
    assert.ok(brandLine, logs.join('\n'));

    // Without credentials the board is refused (Chromium itself then reports an auth error).
    const anonymous = await browser.newContext();
    t.after(() => anonymous.close());
    const refused = await anonymous.request.get(`${url}/admin/queues`);
    assert.equal(refused.status(), 401);
    assert.equal(refused.headers()['www-authenticate'], 'Basic realm="vr-lister"');
    // Full Chromium fails such a navigation (ERR_INVALID_AUTH_CREDENTIALS); the headless shell shows the 401.
    const shown = await (await anonymous.newPage()).goto(`${url}/admin/queues`).then(
      (response) => `status ${response?.status()}`,
      (error: Error) => error.message,
    );
    assert.match(shown, /^status 401$|AUTH/);

    const context = await browser.newContext({ httpCredentials: { username: 'ops', password: TOKEN } });
    t.after(() => context.close());
    const page = await context.newPage();
    const failedAssets: string[] = [];
    page.on('response', (response) => {
      if (response.url().startsWith(url) && response.status() >= 400) failedAssets.push(response.url());
    });
    // Nothing from another host (the page linked Google Fonts), and nothing the CSP had to refuse.
    const outside: string[] = [];
    const cspRefusals: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(`${url}/`) && !request.url().startsWith('data:'))
        outside.push(request.url());
    });
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspRefusals.push(message.text());
    });
    const home = await page.goto(`${url}/admin/queues`);
    assert.equal(home?.status(), 200);
    await page.getByText('vr-create', { exact: true }).first().waitFor({ timeout: 60_000 });
    await page.getByText('vr-resolve', { exact: true }).first().waitFor({ timeout: 60_000 });

    await page.goto(`${url}/admin/queues/queue/vr-create/${jobId}`);
    await page.getByText(jobId).first().waitFor({ timeout: 60_000 });
    await page
      .getByRole('tab', { name: 'Logs' })
      .or(page.getByRole('button', { name: 'Logs' }))
      .first()
      .click();
    await page.getByText(brandLine).first().waitFor({ timeout: 60_000 });
    assert.ok(await page.getByText('claiming the job').first().isVisible());
    assert.deepEqual(failedAssets, [], 'every script, style and API call of the UI loaded');
    assert.deepEqual(outside, [], 'no request to another host');
    assert.deepEqual(cspRefusals, [], 'the UI works within the Content-Security-Policy');
  });
});
