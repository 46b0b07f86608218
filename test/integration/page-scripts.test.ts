import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { fillShipping, pickSuggestion, rowsGone } from '../../src/creation/page-scripts/form.ts';
import { readLevel } from '../../src/vr/page-scripts/cascade.ts';
import { readSession } from '../../src/vr/page-scripts/session.ts';
import { installProbe } from '../../src/vr/page-scripts/settle.ts';
import { launchTestChromium } from '../helpers/chromium.ts';

// The page scripts as they run in a page (under tsx, as the workers run them in tests and `npm start`).
describe('page scripts in a real page', () => {
  let browser: Browser;
  let page: Page;
  before(async () => {
    browser = await launchTestChromium();
    page = await browser.newPage();
  });
  after(async () => {
    await browser.close();
  });

  test('"logged in?": a Logout link by its words or its /logout href, nothing else', async () => {
    const cases: Array<[string, boolean]> = [
      ['<a href="/logout" class="x">My exit</a>', true],
      ['<a href="/account/logout?next=/">x</a>', true],
      ['<a href="#">Log out</a>', true],
      ['<a href="/logout_help">Help</a>', false],
      ['<form id="loginForm"></form><a href="/login">Login</a>', false],
    ];
    for (const [html, loggedIn] of cases) {
      await page.setContent(`<title>V&amp;R</title>${html}`);
      const state = await page.evaluate(readSession);
      assert.equal(state.loggedIn, loggedIn, html);
      assert.equal(state.title, 'V&R');
    }
  });

  test('a category level counts only while its select shows (the leaf check)', async () => {
    await page.setContent(
      '<select name="categ_level_1"><option value="">-</option><option value="7"> Solid  Body </option></select>' +
        '<select name="categ_level_2" style="display:none"><option value="9">Hidden</option></select>',
    );
    assert.deepEqual(await page.evaluate(readLevel, 1), [{ value: '7', name: 'Solid Body' }]);
    assert.deepEqual(await page.evaluate(readLevel, 2), []);
  });

  test('brand: the suggestion by id is clicked; without one, the id is set once the page settles', async () => {
    await page.setContent(
      `<script>function set_autosuggest_brands(name, id) { document.querySelector('li').dataset.picked = String(id); }</script>` +
        '<input name="recipient_name" value="Fender"><input name="brand_make_id" value="">' +
        `<li onclick="set_autosuggest_brands( 'Fender' , 12 )">Fender</li>`,
    );
    await page.evaluate(installProbe);
    const picked = await page.evaluate(pickSuggestion, { id: 12, name: 'x', quietMs: 0 });
    assert.deepEqual(picked, { picked: true, offered: 1, value: 'Fender' });
    assert.equal(await page.locator('li').getAttribute('data-picked'), '12', "V&R's own onclick ran");
    await page.locator('input[name="brand_make_id"]').fill('');
    const unknown = await page.evaluate(pickSuggestion, { id: 99, name: 'Gibson', quietMs: 0 });
    assert.deepEqual(unknown, { picked: false, offered: 1, value: 'Fender' });
    assert.equal(await page.locator('input[name="brand_make_id"]').inputValue(), '99');
    const waiting = await page.evaluate(pickSuggestion, { id: 99, name: 'Gibson', quietMs: 60_000 });
    assert.equal(waiting, null, 'not settled yet: still waiting');
  });

  test('shipping: offered regions get their fee, the others are removed with their ×', async () => {
    const row = (region: string) =>
      `<div>${region} <input name="shipping_fees_fee[]"><input type="hidden" name="shipping_fees_destination[]" value="${region}"><a onclick="this.parentElement.remove()">×</a></div>`;
    await page.setContent(
      `<form id="frm_step1"><div class="ships_to">${row('UK')}${row('Europe')}${row('USA')}</div></form>`,
    );
    const result = await page.evaluate(fillShipping, { fees: { uk: 10, usa: 50 } });
    assert.deepEqual(result, { removed: ['europe'], regions: ['uk', 'europe', 'usa'] });
    assert.deepEqual(
      await page
        .locator('input[name="shipping_fees_fee[]"]')
        .evaluateAll((i) => i.map((e) => (e as HTMLInputElement).value)),
      ['10', '50'],
    );
    assert.equal(await page.evaluate(rowsGone), true);
  });
});
