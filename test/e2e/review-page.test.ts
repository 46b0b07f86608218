import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { connectApiRedis } from '../../src/api/main.ts';
import { silentLogger } from '../../src/logger.ts';
import { buildTestApi } from '../helpers/api.ts';
import { launchTestChromium } from '../helpers/chromium.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

const TOKEN = 'review-page-token-0123456789';
const SHOT = 'publish-1700000000000.png';
const SEEN_AT = '2026-12-01T10:00:00.000Z';
/** A 1×1 PNG: the page shows it through the artifacts route. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

describe('the review page in a real browser', () => {
  let services: TestServices;
  let redis: Redis;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;

  /** A job the flush could not decide between two V&R listings, with a screenshot as evidence. */
  async function inReview(ref: string, candidates: number[]): Promise<number> {
    const job = await services.producer().enqueueListing({
      productRef: ref,
      brand: 'Gibson',
      model: 'Les Paul Junior',
      price: 1500,
      year: 1958,
    });
    const details = candidates.map((id, i) => ({
      id,
      brand: 'Gibson',
      model: i ? 'Les Paul Jr.' : 'Les Paul Junior',
      price: 1500,
      year: 1958,
      seenAt: SEEN_AT,
    }));
    await mkdir(join(services.artifactsDir, String(job.id)), { recursive: true });
    await writeFile(join(services.artifactsDir, String(job.id), SHOT), PNG);
    await services.database.sql`
      update vr_jobs set status = 'needs_review', submit_started_at = now(), submitted_at = now(),
        error = ${`cannot tell which V&R listing is ours: candidates ${candidates.join(', ')}`},
        artifacts = ${JSON.stringify([{ name: SHOT, step: 'publish', at: SEEN_AT }])}::jsonb,
        payload = payload || ${JSON.stringify({ reviewKind: 'ambiguous', candidates, candidateDetails: details })}::jsonb
      where id = ${job.id}`;
    return job.id;
  }

  before(async () => {
    services = await setupServices();
    await services.database.sql`
      insert into vr_resolution_runs (trigger, finished_at, max_product_id, rows_scanned)
      values ('test', now(), 9000, 40)`;
    redis = connectApiRedis(services.redisUrl, silentLogger);
    app = await buildTestApi(services, { env: { API_TOKEN: TOKEN }, redis });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchTestChromium();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    redis?.disconnect();
    await services?.cleanup();
  });

  test('a click on "This is ours" links the listing, the job completes and leaves the page; "Not on V&R" lists it again', async (t) => {
    const linked = await inReview('PAGE-1', [8101, 8102]);
    const again = await inReview('PAGE-2', [8201, 8202]);

    const context = await browser.newContext({ httpCredentials: { username: 'ops', password: TOKEN } });
    t.after(() => context.close());
    const page = await context.newPage();
    const cspRefusals: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspRefusals.push(message.text());
    });
    const opened = await page.goto(`${url}/review`);
    assert.equal(opened?.status(), 200);
    const job = page.locator(`#job-${linked}`);
    await job.waitFor();
    assert.match(
      (await job.textContent()) ?? '',
      /cannot tell which V&R listing is ours: candidates 8101, 8102/,
    );
    // What we asked beside each candidate, with its link to V&R.
    const header = job.locator('tr').first();
    assert.deepEqual(await header.locator('th').allTextContents(), ['', 'We asked', 'V&R 8101', 'V&R 8102']);
    assert.equal(
      await job.getByRole('link', { name: '8102' }).getAttribute('href'),
      'http://127.0.0.1:9/product/8102',
    );
    assert.deepEqual(await job.locator('tr', { hasText: 'Model' }).locator('td').allTextContents(), [
      'Les Paul Junior',
      'Les Paul Junior',
      'Les Paul Jr.',
    ]);
    // The evidence screenshot loads (through the page's own Basic auth and CSP).
    const shot = job.locator('img.evidence');
    await shot.waitFor();
    assert.ok(await shot.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0));

    // "This is ours" on the second candidate: a POST, a 303 back to /review with a short message.
    await job.locator('td form button', { hasText: 'This is ours' }).nth(1).click();
    await page.waitForURL(`${url}/review?done=linked&job=${linked}&vr=8102`);
    await page.getByRole('status').waitFor();
    assert.equal(
      await page.getByRole('status').textContent(),
      `Job ${linked} completed with V&R listing 8102.`,
    );
    assert.equal(await page.locator(`#job-${linked}`).count(), 0, 'the decided job left the page');
    const [row] = await services.database.sql<{ status: string; vr_listing_id: number }[]>`
      select status, vr_listing_id::int from vr_jobs where id = ${linked}`;
    assert.deepEqual(row, { status: 'completed', vr_listing_id: 8102 });
    const jobs = await fetch(`${url}/api/vr/review`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.deepEqual(
      ((await jobs.json()) as { jobs: { id: number }[] }).jobs.map((j) => j.id),
      [again],
    );

    // "Not on V&R: list again": back to creation, submitted once more.
    await page.locator(`#job-${again}`).getByRole('button', { name: 'Not on V&R: list again' }).click();
    await page.waitForURL(`${url}/review?done=requeued&job=${again}`);
    assert.match((await page.getByRole('status').textContent()) ?? '', /goes back to creation/);
    assert.equal(await page.getByText('No job needs review.').count(), 1);
    const [requeued] = await services.database.sql<{ status: string; generation: number }[]>`
      select status, generation from vr_jobs where id = ${again}`;
    assert.deepEqual(requeued, { status: 'queued', generation: 1 });
    assert.deepEqual(cspRefusals, [], 'the page works within its Content-Security-Policy');
  });

  test('a form posted from another site is refused, even with the browser’s Basic credentials', async (t) => {
    const id = await inReview('PAGE-3', [8301, 8302]);
    const context = await browser.newContext({ httpCredentials: { username: 'ops', password: TOKEN } });
    t.after(() => context.close());
    const page = await context.newPage();
    // Even with the form token (which another site cannot read): the browser says where the POST came from.
    await page.goto(`${url}/review`);
    const token = await page.locator(`#job-${id} input[name=csrf]`).first().inputValue();
    // Another origin (localhost vs 127.0.0.1: another site to the browser) posts the page's form.
    const port = new URL(url).port;
    const html = `<form method="post" action="${url}/review/jobs/${id}/link"><input name="csrf" value="${token}"><input name="vrListingId" value="8301"><button>go</button></form>`;
    await page.route(`http://localhost:${port}/evil`, (route) =>
      route.fulfill({ contentType: 'text/html', body: html }),
    );
    await page.goto(`http://localhost:${port}/evil`);
    const [response] = await Promise.all([
      // (A 401 challenge may come first: the browser then sends its Basic credentials.)
      page.waitForResponse((r) => r.url() === `${url}/review/jobs/${id}/link` && r.status() !== 401),
      page.click('button'),
    ]);
    assert.equal(response.status(), 403);
    const [row] = await services.database.sql<
      { status: string }[]
    >`select status from vr_jobs where id = ${id}`;
    assert.equal(row?.status, 'needs_review');
  });
});
