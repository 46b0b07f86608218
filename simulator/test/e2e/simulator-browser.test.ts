/**
 * The simulator's own pages, driven in Chromium as a person would, in every markup variant and
 * with the Cloudflare gate in `auto` mode (its default): the challenge, the consent banner, the
 * login pop-up, the category cascade, brand suggestions, TinyMCE, Dropzone, validation that
 * blocks the POST, and a Publish that reloads the form. Also: the gate refuses Node's fetch and
 * Playwright's context.request on every route, the interactive and headless-blocking modes, and
 * `--drop-element`.
 */

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { EXPORT_COLUMNS } from 'vr-lister/site-data';
import { launchTestChromium } from '../../../test/helpers/chromium.ts';
import { FAST_SITE } from '../../../test/helpers/sim-timing.ts';
import { type SimState, type Simulator, startSimulator, VARIANTS } from '../../src/server.ts';
import { GATED_ROUTES } from '../helpers/sim-http.ts';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
const WEBP = Buffer.from('524946461a000000574542505650384c0d0000002f0000001007101111888808', 'hex');
const PUBLISHED = /Your item is now published and live on vintageandrare\.com/;

async function state(sim: Simulator): Promise<SimState> {
  return (await (await fetch(`${sim.url}/__sim/state`)).json()) as SimState;
}

async function jpeg(sim: Simulator): Promise<Buffer> {
  return Buffer.from(await (await fetch(`${sim.url}/__sim/sample-image.jpg`)).arrayBuffer());
}

/** Opens the site: the challenge passes by itself, then the consent banner is clicked away. */
async function arrive(page: Page, path = '/'): Promise<void> {
  await page.goto(path);
  await page.locator('#header').waitFor();
  await page.locator('.cc-nb-okagree').click();
  await page.locator('.cc-nb-okagree').waitFor({ state: 'detached' });
}

async function login(page: Page, pass = 'demo'): Promise<void> {
  const form = page.locator('form#loginForm');
  if (!(await form.isVisible())) await page.locator('.open_login_popup').click();
  await form.locator('[name=username]').fill('demo');
  await form.locator('[name=pass]').fill(pass);
  await form.getByText('Login', { exact: true }).click();
  await page.waitForLoadState('load');
}

describe('simulator pages in Chromium', () => {
  let browser: Browser;

  before(async () => {
    browser = await launchTestChromium();
  });
  after(async () => {
    await browser?.close();
  });

  for (const variant of VARIANTS) {
    test(`variant ${variant.id}: a person lists an item through the gate, the pop-up, the cascade and Dropzone`, async () => {
      const sim = await startSimulator({
        catalogRows: 30,
        seed: 5,
        variant: variant.id,
        ajaxLatencyMs: 30 / FAST_SITE.timeScale,
        ...FAST_SITE,
      });
      const context = await browser.newContext({ baseURL: sim.url, acceptDownloads: true });
      try {
        const page = await context.newPage();
        const posts: string[] = [];
        page.on('request', (r) => {
          if (r.method() === 'POST' && new URL(r.url()).pathname === '/instruments/add_edit_item')
            posts.push(r.url());
        });

        // The challenge passes by itself and leaves a cf_clearance cookie.
        await page.goto('/');
        await page.locator('#header').waitFor();
        assert.notEqual(await page.title(), 'Just a moment...');
        assert.ok((await context.cookies()).some((c) => c.name === 'cf_clearance'));
        const counters = (await state(sim)).counters;
        assert.ok(counters.challenges >= 1 && counters.clearances === 1, JSON.stringify(counters));
        assert.equal(counters.refusedRequests, 0);

        // The consent banner overlays the page until "I agree".
        await page.locator('.cc-nb-okagree').waitFor();
        await assert.rejects(page.locator('.open_login_popup').click({ timeout: 500 }));
        await page.locator('.cc-nb-okagree').click();
        assert.ok((await context.cookies()).some((c) => c.name === 'cookie_consent_level'));

        // The pop-up's validation blocks an empty login; a wrong password lands per variant.
        await page.locator('.open_login_popup').click();
        await page.locator('form#loginForm').getByText('Login', { exact: true }).click();
        await page.locator('label#login_username-error').waitFor();
        assert.equal((await state(sim)).counters.failedLogins, 0, 'no POST for an empty form');
        await login(page, 'wrong');
        const failedUrl = new URL(page.url());
        switch (variant.failedLogin) {
          case 'same-url-login-failed':
            assert.equal(failedUrl.searchParams.get('login_failed'), '1');
            break;
          case 'login-page':
            assert.equal(failedUrl.pathname, '/do_login');
            break;
          case 'home-popup':
            assert.equal(failedUrl.pathname, '/');
            break;
        }
        assert.equal(await page.locator('a:text-is("Logout")').count(), 0);
        assert.ok(await page.locator('form#loginForm').isVisible(), 'the pop-up is open');
        await page.getByText('Invalid username or password').waitFor();
        assert.equal((await state(sim)).counters.failedLogins, 1);

        await login(page);
        assert.equal(new URL(page.url()).pathname, '/account');
        await page.locator('a:text-is("Logout")').waitFor();

        // The add form: only the top level on load; each choice brings the next level.
        await page.goto('/instruments/add_edit_item');
        assert.equal(await page.locator('select[name^=categ_level_]').count(), 1);
        await page.locator('select[name=categ_level_0]').selectOption('51');
        await page.locator('select[name=categ_level_1]').selectOption('86');
        const leafAnswer = page.waitForResponse((r) => r.url().endsWith('/ajax/get_sub_categories'));
        await page.locator('select[name=categ_level_2]').selectOption('195');
        await leafAnswer;
        assert.equal(await page.locator('select[name=categ_level_3]').count(), 0, 'nothing below a leaf');

        // Validation blocks the POST and marks the fields.
        await page.locator('#price').fill('');
        await page.locator('a#submit_step_1').click();
        await page.locator('label.error[for=recipient_name]').waitFor();
        await page.locator('label.error[for=price]').waitFor();
        await page.locator('label.error[for=local_pickup]').waitFor();
        assert.equal(posts.length, 0);
        // A sub-level showing but not chosen also blocks it.
        await page.locator('select[name=categ_level_1]').selectOption('255');
        await page.locator('select[name=categ_level_2]').waitFor();
        await page.locator('a#submit_step_1').click();
        await page.locator('label.error[for=categ_level_2]').waitFor();
        assert.equal(posts.length, 0);
        await page.locator('select[name=categ_level_1]').selectOption('86');
        await page.locator('select[name=categ_level_2]').selectOption('195');

        // Brand: type as a person; pick the suggestion wherever the list is.
        await page.locator('#recipient_name').pressSequentially('Fend', { delay: 20 });
        await page.locator('li[onclick*="set_autosuggest_brands"]', { hasText: 'Fender' }).first().click();
        assert.equal(await page.locator('#brand_make_id').inputValue(), '383');
        await page.locator('#model_name').fill('ES-175');
        await page.locator('#price').fill('2500');
        await page.locator('#year').fill('1962');
        await page.locator('#year').blur();
        assert.equal(await page.locator('#decade').inputValue(), '1960');

        // Shipping: the rows show once shipping is ticked; a region can be removed.
        assert.equal(await page.locator('div.ships_to').isVisible(), false);
        await page.locator('#available_for_shipment').check();
        await page.locator('div.ships_to').waitFor();
        const fees = page.locator('input[name="shipping_fees_fee[]"]');
        assert.equal(await fees.count(), 4);
        const prefilled = await fees.first().inputValue();
        assert.equal(prefilled, variant.prefilledFees?.uk ?? '');
        await fees.nth(0).fill('40');
        await fees.nth(1).fill('');
        await fees.nth(2).fill('90');
        await page
          .locator('div.ships_to .shipping_row', { hasText: 'REST OF WORLD' })
          .locator('.remove_shipping_row')
          .click();
        assert.equal(await fees.count(), 3);
        assert.equal(await page.locator('#processing_time').inputValue(), '3');
        await page.locator('#processing_time').fill('5');
        await page.locator('#hours_days_sel').selectOption('Weeks');

        // TinyMCE: wait until ready, then set the description; it normalises the HTML.
        await page.waitForFunction(() =>
          (window as unknown as { tinymce?: { get(id: string): unknown } }).tinymce?.get('item_desc'),
        );
        await page.evaluate(() =>
          (window as unknown as { tinymce: { get(id: string): { setContent(h: string): void } } }).tinymce
            .get('item_desc')
            .setContent('<p>It\u2019s a fine guitar.</p><p></p><p>Ref: SIM-1</p>'),
        );

        // Dropzone: the nameless hidden input, re-created after each file.
        const hidden = page.locator('input[type=file].dz-hidden-input');
        assert.equal(await hidden.count(), 1);
        assert.equal(await hidden.getAttribute('name'), null);
        assert.equal(await hidden.getAttribute('id'), null);
        const first = await hidden.elementHandle();
        await hidden.setInputFiles({ name: 'front.jpg', mimeType: 'image/jpeg', buffer: await jpeg(sim) });
        await page.waitForFunction(
          () => document.querySelectorAll('input[name="file_unique_id[]"]').length === 1,
        );
        assert.equal(await first!.evaluate((el) => el.isConnected), false, 'the used input is gone');
        assert.equal(await hidden.count(), 1, 'a new one replaced it');
        await hidden.setInputFiles({ name: 'back.png', mimeType: 'image/png', buffer: PNG });
        await page.waitForFunction(
          () => document.querySelectorAll('input[name="file_unique_id[]"]').length === 2,
        );
        await hidden.setInputFiles({ name: 'side.webp', mimeType: 'image/webp', buffer: WEBP });
        await page.locator('.dz-preview.dz-error', { hasText: 'side.webp' }).waitFor();
        assert.equal(await page.locator('input[name="file_unique_id[]"]').count(), 2, 'WebP refused');
        for (const name of [
          'thumb_name[]',
          'product_media_id[]',
          'original_name[]',
          'media_type[]',
          'size[]',
          'new_upload[]',
          'video_file_name[]',
          'description_name[]',
        ]) {
          assert.equal(await page.locator(`#frm_step1 input[type=hidden][name="${name}"]`).count(), 2, name);
        }
        assert.deepEqual(
          await page
            .locator('#frm_step1 input[name="media_type[]"]')
            .evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value)),
          ['photo', 'photo'],
        );

        // Publish: the blank form comes back with the message.
        await page.locator('a#submit_step_1').click();
        await page.getByText(PUBLISHED).first().waitFor();
        assert.equal(posts.length, 1);
        assert.equal(new URL(page.url()).pathname, '/instruments/add_edit_item');
        assert.equal(await page.locator('select[name^=categ_level_]').count(), 1, 'the blank form again');
        assert.equal(await page.locator('#recipient_name').inputValue(), '');

        const s = await state(sim);
        const created = s.listings.filter((l) => l.source === 'form');
        assert.equal(created.length, 1);
        const l = created[0]!;
        assert.deepEqual(l.category_path, ['Guitars', 'Archtop', 'Acoustic']);
        assert.equal(l.brand_name, 'Fender');
        assert.deepEqual(l.shipping_fees, { uk: 40, usa: 90 });
        assert.equal(l.processing_time, '5 Weeks');
        assert.equal(l.decade, '1960');
        assert.equal(l.product_description, '<p>It&rsquo;s a fine guitar.</p><p>&nbsp;</p><p>Ref: SIM-1</p>');
        assert.deepEqual(
          l.photos.map((p) => [p.name, p.type]),
          [
            ['front.jpg', 'image/jpeg'],
            ['back.png', 'image/png'],
          ],
        );
        assert.equal(s.counters.submissions, 1);
        assert.equal(s.counters.refusedRequests, 0, 'a real browser is never refused');

        // The export, downloaded by the browser in two steps.
        await page.goto('/instruments/export_inventory');
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.getByText('Download current V&R inventory').click(),
        ]);
        const file = await readFile((await download.path())!);
        const records = parse(file, { relax_column_count: true, bom: true }) as string[][];
        const header = records[0]!.map((h) => h.trim().toLowerCase().replaceAll(' ', '_')).filter(Boolean);
        assert.deepEqual([...header].sort(), [...EXPORT_COLUMNS].sort());
        const idAt = header.indexOf('product_id');
        assert.ok(
          records.some((r) => r[idAt] === String(l.product_id)),
          'the new listing is in the export',
        );

        // Playwright's context.request, with the browser's own cookies, is refused.
        const api = await context.request.get('/account', {
          headers: { 'user-agent': await page.evaluate(() => navigator.userAgent) },
        });
        assert.equal(api.status(), 403);
        assert.equal(api.headers()['cf-mitigated'], 'challenge');

        // An expired session lands per variant, never with a Logout link.
        await fetch(`${sim.url}/__sim/expire-sessions`, { method: 'POST' });
        await page.goto('/instruments/add_edit_item');
        const landed = new URL(page.url());
        switch (variant.expiredSession) {
          case 'home':
            assert.equal(landed.pathname, '/');
            break;
          case 'login-page':
            assert.equal(landed.pathname, '/login');
            assert.ok(await page.locator('form#loginForm').isVisible());
            break;
          case 'same-url-popup':
            assert.equal(landed.pathname, '/instruments/add_edit_item');
            assert.ok(await page.locator('form#loginForm').isVisible());
            break;
        }
        assert.equal(await page.locator('a:text-is("Logout")').count(), 0);
        assert.equal(await page.locator('#frm_step1').count(), 0);
        await login(page);
        await page.goto('/instruments/add_edit_item');
        await page.locator('#frm_step1').waitFor();
      } finally {
        await context.close();
        await sim.close();
      }
    });
  }

  test('server-side errors are tied to fields in every variant (a POST past the page checks)', async () => {
    for (const variant of VARIANTS) {
      const sim = await startSimulator({ catalogRows: 5, variant: variant.id, ...FAST_SITE });
      const context = await browser.newContext({ baseURL: sim.url });
      try {
        const page = await context.newPage();
        await arrive(page);
        await login(page);
        await page.goto('/instruments/add_edit_item');
        await page.locator('select[name=categ_level_0]').selectOption('51');
        await page.locator('select[name=categ_level_1]').selectOption('83');
        await page.locator('#recipient_name').fill('No Such Brand Co');
        await page.locator('#model_name').fill('X');
        await page.locator('#price').fill('100');
        await page.locator('#local_pickup').check();
        await page.locator('a#submit_step_1').click();
        await page.waitForLoadState('load');
        await page
          .getByText(/Unknown brand: No Such Brand Co/)
          .first()
          .waitFor();
        assert.equal(await page.getByText(PUBLISHED).count(), 0);
        // The error names or points at its field, whatever the markup.
        // (No named functions inside evaluate: tsx would wrap them in a helper the page lacks.)
        const tied = await page.evaluate(() => {
          const input = document.getElementById('recipient_name') as HTMLElement;
          const described = input.getAttribute('aria-describedby');
          return [
            document.querySelector('label.error[for=recipient_name]')?.textContent ?? '',
            described ? (document.getElementById(described)?.textContent ?? '') : '',
            input.closest('.form_row')?.textContent ?? '',
            document.querySelector('[data-field=recipient_name]')?.textContent ?? '',
          ].some((t) => t.includes('Unknown brand'));
        });
        assert.ok(tied, `variant ${variant.id}: the error is tied to recipient_name`);
        const s = await state(sim);
        assert.equal(s.counters.submissions, 1);
        assert.equal(s.counters.rejectedSubmissions, 1);
        assert.equal(s.listings.filter((l) => l.source === 'form').length, 0);
      } finally {
        await context.close();
        await sim.close();
      }
    }
  });

  test('Dropzone refuses a 21st photo and more than 10 MB in all, in the page', async () => {
    const sim = await startSimulator({ catalogRows: 5, ...FAST_SITE });
    const context = await browser.newContext({ baseURL: sim.url });
    try {
      const page = await context.newPage();
      await arrive(page);
      await login(page);
      await page.goto('/instruments/add_edit_item');
      const photo = await jpeg(sim);
      const files = Array.from({ length: 21 }, (_, i) => ({
        name: `p${i}.jpg`,
        mimeType: 'image/jpeg',
        buffer: photo,
      }));
      await page.locator('input.dz-hidden-input').setInputFiles(files);
      await page.locator('.dz-preview.dz-error', { hasText: 'p20.jpg' }).waitFor();
      await page.waitForFunction(
        () => document.querySelectorAll('input[name="file_unique_id[]"]').length === 20,
      );
      assert.match(
        (await page.locator('.dz-preview.dz-error').textContent()) ?? '',
        /can not upload any more files/,
      );

      await page.goto('/instruments/add_edit_item');
      const big = Buffer.alloc(6 * 1024 * 1024);
      photo.copy(big);
      await page
        .locator('input.dz-hidden-input')
        .setInputFiles({ name: 'big1.jpg', mimeType: 'image/jpeg', buffer: big });
      await page.waitForFunction(
        () => document.querySelectorAll('input[name="file_unique_id[]"]').length === 1,
      );
      await page
        .locator('input.dz-hidden-input')
        .setInputFiles({ name: 'big2.jpg', mimeType: 'image/jpeg', buffer: big });
      await page.locator('.dz-preview.dz-error', { hasText: 'big2.jpg' }).waitFor();
      assert.equal(await page.locator('input[name="file_unique_id[]"]').count(), 1);
    } finally {
      await context.close();
      await sim.close();
    }
  });

  test('Node fetch and context.request get 403 cf-mitigated: challenge on every route, even with a valid cookie', async () => {
    const sim = await startSimulator({ catalogRows: 5, ...FAST_SITE });
    const context: BrowserContext = await browser.newContext({ baseURL: sim.url });
    try {
      const page = await context.newPage();
      await arrive(page);
      await login(page);
      const userAgent = await page.evaluate(() => navigator.userAgent);
      const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
      assert.match(cookie, /cf_clearance=/);
      assert.match(cookie, /PHPSESSID=/);
      const before = (await state(sim)).counters.refusedRequests;
      for (const [method, path] of GATED_ROUTES) {
        const headers = {
          cookie,
          'user-agent': userAgent,
          'x-requested-with': 'XMLHttpRequest',
          referer: `${sim.url}/instruments/export_inventory`,
        };
        const viaFetch = await fetch(sim.url + path, {
          method,
          headers,
          redirect: 'manual',
          ...(method === 'POST' ? { body: 'brand_name=Fender' } : {}),
        });
        assert.equal(viaFetch.status, 403, `fetch ${method} ${path}`);
        assert.equal(viaFetch.headers.get('cf-mitigated'), 'challenge');
        assert.match(await viaFetch.text(), /<title>Just a moment\.\.\.<\/title>/);
        const viaRequest = await context.request.fetch(path, {
          method,
          headers: { 'user-agent': userAgent },
          maxRedirects: 0,
          ...(method === 'POST' ? { data: 'brand_name=Fender' } : {}),
        });
        assert.equal(viaRequest.status(), 403, `context.request ${method} ${path}`);
        assert.equal(viaRequest.headers()['cf-mitigated'], 'challenge');
      }
      const s = await state(sim);
      assert.equal(s.counters.refusedRequests, before + GATED_ROUTES.length * 2);
      assert.equal(s.counters.brandChecks, 0);
      // The test routes stay outside the gate.
      assert.equal((await fetch(`${sim.url}/__sim/state`)).status, 200);
      // The page itself still works, with the same cookies.
      await page.goto('/account');
      await page.locator('a:text-is("Logout")').waitFor();
    } finally {
      await context.close();
      await sim.close();
    }
  });

  test('gate off: Node fetch reaches the site', async () => {
    const sim = await startSimulator({ catalogRows: 5, cloudflare: 'off', ...FAST_SITE });
    try {
      const res = await fetch(`${sim.url}/`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /form id="loginForm"/);
    } finally {
      await sim.close();
    }
  });

  test('interactive: the challenge waits for a person; a clearance from the test hook lets a browser straight in', async () => {
    const sim = await startSimulator({ catalogRows: 5, cloudflare: 'interactive' });
    const context = await browser.newContext({ baseURL: sim.url });
    try {
      const page = await context.newPage();
      const challenge = await page.goto('/');
      assert.equal(challenge?.status(), 403);
      assert.equal(challenge?.headers()['cf-mitigated'], 'challenge');
      // Auto mode passes 250 ms after load; give it four times that to be sure nothing happens.
      await page.waitForTimeout(1000);
      assert.equal(await page.title(), 'Just a moment...');
      assert.equal((await state(sim)).counters.clearances, 0);
      await page.locator('#challenge-checkbox').click();
      await page.locator('#header').waitFor();
      assert.equal((await state(sim)).counters.clearances, 1);

      // A cookie a person copied out of their browser, for our User-Agent.
      const other = await browser.newContext({ baseURL: sim.url });
      try {
        const userAgent = await page.evaluate(() => navigator.userAgent);
        const res = await fetch(`${sim.url}/__sim/cloudflare/clearance`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ userAgent }),
        });
        const cookie = (await res.json()) as {
          name: string;
          value: string;
          domain: string;
          path: string;
          expires: number;
        };
        assert.equal(cookie.name, 'cf_clearance');
        assert.equal(cookie.domain, '127.0.0.1');
        assert.equal(cookie.path, '/');
        assert.ok(cookie.expires > Date.now() / 1000);
        await other.addCookies([cookie]);
        const p2 = await other.newPage();
        const challengesBefore = (await state(sim)).counters.challenges;
        const first = await p2.goto('/');
        assert.equal(first?.status(), 200);
        assert.equal((await state(sim)).counters.challenges, challengesBefore);
        // Bound to the User-Agent: another one is challenged.
        const third = await browser.newContext({ baseURL: sim.url, userAgent: 'Mozilla/5.0 Other' });
        await third.addCookies([cookie]);
        const p3 = await third.newPage();
        assert.equal((await p3.goto('/'))?.status(), 403);
        await third.close();
      } finally {
        await other.close();
      }
    } finally {
      await context.close();
      await sim.close();
    }
  });

  test('headless block: navigator.webdriver is refused; a browser that hides it passes', async () => {
    const sim = await startSimulator({ catalogRows: 5, cloudflareHeadlessBlock: true, ...FAST_SITE });
    const stealthy = await launchTestChromium({
      extraArgs: ['--disable-blink-features=AutomationControlled'],
    });
    try {
      const plain = await browser.newContext({ baseURL: sim.url });
      const page = await plain.newPage();
      await page.goto('/');
      await page.getByText('Sorry, you have been blocked').waitFor();
      assert.equal(await page.title(), 'Just a moment...');
      assert.equal((await state(sim)).counters.headlessBlocked, 1);
      await plain.close();

      const ua = (await (await stealthy.newPage()).evaluate(() => navigator.userAgent)).replace(
        'HeadlessChrome',
        'Chrome',
      );
      const ok = await stealthy.newContext({ baseURL: sim.url, userAgent: ua });
      const p2 = await ok.newPage();
      await p2.goto('/');
      await p2.locator('#header').waitFor();
      assert.equal((await state(sim)).counters.clearances, 1);
      await ok.close();
    } finally {
      await stealthy.close();
      await sim.close();
    }
  });

  test('a short clearance TTL: the next page is challenged again and passes by itself', async () => {
    const sim = await startSimulator({ catalogRows: 5, clearanceTtlMs: 2000 });
    const context = await browser.newContext({ baseURL: sim.url });
    try {
      const page = await context.newPage();
      await page.goto('/');
      await page.locator('#header').waitFor();
      assert.equal((await state(sim)).counters.clearances, 1);
      // Time itself is the condition: past the 2 s clearance TTL.
      await page.waitForTimeout(2100);
      await page.goto('/login');
      await page.locator('form#loginForm').waitFor();
      assert.equal((await state(sim)).counters.clearances, 2);
    } finally {
      await context.close();
      await sim.close();
    }
  });

  test('--drop-element leaves each element out of the add form', async () => {
    const sim = await startSimulator({
      catalogRows: 5,
      dropElements: ['publish', 'tinymce', 'dropzone', 'shipping', 'categories'],
      ...FAST_SITE,
    });
    const context = await browser.newContext({ baseURL: sim.url });
    try {
      const page = await context.newPage();
      await arrive(page);
      await login(page);
      await page.goto('/instruments/add_edit_item');
      await page.locator('#frm_step1').waitFor();
      assert.equal(await page.locator('a#submit_step_1').count(), 0);
      assert.equal(await page.locator('select[name=categ_level_0]').count(), 0);
      assert.equal(await page.locator('div.ships_to').count(), 0);
      assert.equal(await page.locator('input.dz-hidden-input').count(), 0);
      // A negative: time for TinyMCE to have loaded, had it been on the page.
      await page.waitForTimeout(1500);
      assert.equal(
        await page.evaluate(() => typeof (window as unknown as { tinymce?: unknown }).tinymce),
        'undefined',
      );
      assert.equal(await page.locator('#recipient_name').count(), 1, 'the rest is there');
    } finally {
      await context.close();
      await sim.close();
    }
  });
});
