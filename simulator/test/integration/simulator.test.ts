import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { EXPORT_COLUMNS } from 'vr-lister/site-data';
import { waitFor } from '../../../test/helpers/services.ts';
import { parseSimulatorArgs, SIMULATOR_HELP } from '../../src/main.ts';
import { type SimState, type Simulator, startSimulator } from '../../src/server.ts';
import { BrowserLikeClient } from '../helpers/sim-http.ts';

// Long enough that a loaded machine still downloads the export before the new listing is indexed.
const INDEX_DELAY_MS = 2000;
const WEBP = Buffer.from('524946461a000000574542505650384c0d0000002f0000001007101111888808', 'hex');

async function simState(sim: Simulator, query = ''): Promise<SimState> {
  const res = await fetch(`${sim.url}/__sim/state${query}`);
  assert.equal(res.status, 200);
  return (await res.json()) as SimState;
}

async function setFaults(
  sim: Simulator,
  faults: Record<string, number | boolean>,
): Promise<Record<string, number>> {
  const res = await fetch(`${sim.url}/__sim/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, number>;
}

async function sampleJpeg(sim: Simulator): Promise<Buffer> {
  return Buffer.from(await (await fetch(`${sim.url}/__sim/sample-image.jpg`)).arrayBuffer());
}

/** A Publish POST's fields, as a browser would send the served form once filled. */
function listingForm(
  uniqueId: string,
  overrides: Record<string, string | null> = {},
  photos: string[] = [],
): FormData {
  const fields: Record<string, string | null> = {
    unique_id: uniqueId,
    version: '2',
    owner_id: '4242',
    categ_level_0: '51',
    categ_level_1: '83',
    recipient_name: 'Fender',
    brand_make_id: '383',
    model_name: ' Stratocaster ',
    finish_color: 'Sunburst',
    year: '1962',
    decade: '1960',
    item_desc: '<p>A "fine" guitar, with case.</p>\n<ul>\n<li>Original</li>\n</ul>',
    price: '2500',
    discounted_price: '',
    buy_now: '1',
    available_for_shipment: '1',
    processing_time: '3',
    hours_days_sel: 'Days',
    ...overrides,
  };
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) if (v !== null) fd.append(k, v);
  if (overrides['shipping_fees_fee[]'] === undefined) {
    for (const [fee, dest] of [
      ['40', '1'],
      ['', '2'],
      ['90', '3'],
    ]) {
      fd.append('shipping_fees_fee[]', fee!);
      fd.append('shipping_fees_destination[]', dest!);
    }
  }
  for (const id of photos) {
    fd.append('file_unique_id[]', id);
    fd.append('original_name[]', `${id}.jpg`);
  }
  return fd;
}

async function publish(
  client: BrowserLikeClient,
  overrides: Record<string, string | null> = {},
  photos: string[] = [],
) {
  const { uniqueId } = await client.openForm();
  return client.fetch('/instruments/add_edit_item', {
    method: 'POST',
    body: listingForm(uniqueId, overrides, photos),
    dest: 'document',
    headers: { referer: `${client.base}/instruments/add_edit_item` },
  });
}

function parseRecords(body: Buffer): string[][] {
  return parse(body, { columns: false, relax_column_count: false }) as string[][];
}

async function exportBytes(client: BrowserLikeClient): Promise<Buffer> {
  const res = await client.downloadExport();
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

async function loggedIn(sim: Simulator): Promise<BrowserLikeClient> {
  const client = await BrowserLikeClient.create(sim.url);
  const res = await client.login();
  assert.equal(res.status, 302);
  return client;
}

describe('V&R simulator (variant 0, gate on, through a browser-like client)', () => {
  let sim: Simulator;

  before(async () => {
    sim = await startSimulator({ port: 0, catalogRows: 200, indexDelayMs: INDEX_DELAY_MS });
  });
  after(async () => {
    await sim.close();
    await sim.close(); // safe twice
  });

  test('url has no trailing slash; the first visit sets PHPSESSID and vr_currency', async () => {
    assert.match(sim.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const client = await BrowserLikeClient.create(sim.url);
    const res = await client.get('/');
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.ok(client.cookies.has('PHPSESSID'));
    assert.ok(client.cookies.has('vr_currency'));
    assert.ok(client.cookies.has('cf_clearance'));
    // The header's login pop-up, hidden until opened.
    assert.match(html, /<form id="loginForm" name="loginForm" method="post" action="\/do_login">/);
    assert.match(html, /<input type="text" name="username"/);
    assert.match(html, /<input type="password" name="pass"/);
    assert.match(html, /name="keep_me_signed"/);
    assert.match(
      html,
      /<a href="javascript:void\(0\)" class="login_btn" onclick="submit_login_form\(\); return false;">Login<\/a>/,
    );
    assert.doesNotMatch(html, /type="submit"/, 'the Login control is a link, not a submit button');
    assert.doesNotMatch(html, /Logout/);
  });

  test('login success ends on /account with a Logout link; no CSRF token is needed', async () => {
    const before = (await simState(sim)).counters.logins;
    const client = await BrowserLikeClient.create(sim.url);
    const res = await client.login();
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/account');
    assert.match(res.headers.get('set-cookie') ?? '', /^PHPSESSID=[0-9a-f]+; Path=\/; HttpOnly/);
    const account = await client.get('/account');
    assert.equal(account.status, 200);
    assert.match(await account.text(), /<a href="\/logout" class="logout">Logout<\/a>/);
    assert.equal((await simState(sim)).counters.logins, before + 1);
    // keep_me_signed makes the session cookie last
    const kept = await BrowserLikeClient.create(sim.url);
    await (await kept.get('/')).text();
    const keep = await kept.postForm('/do_login', { username: 'demo', pass: 'demo', keep_me_signed: '1' });
    assert.match(keep.headers.get('set-cookie') ?? '', /Max-Age=\d+/);
  });

  test('a failed login lands on the same URL with ?login_failed=1 and the pop-up open (variant 0)', async () => {
    const before = (await simState(sim)).counters;
    const client = await BrowserLikeClient.create(sim.url);
    await (await client.get('/')).text();
    const res = await client.postForm(
      '/do_login',
      { username: 'demo', pass: 'wrong' },
      { referer: `${sim.url}/` },
    );
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/?login_failed=1');
    const page = await (await client.get('/?login_failed=1')).text();
    assert.match(page, /id="login_popup" class="login_popup" style="display:block"/);
    assert.match(page, /Invalid username or password/);
    const after = (await simState(sim)).counters;
    assert.equal(after.logins, before.logins);
    assert.equal(after.failedLogins, before.failedLogins + 1);
  });

  test('without a session, site routes land on the home page (variant 0); AJAX too', async () => {
    const anon = await BrowserLikeClient.create(sim.url);
    const page = await anon.get('/instruments/add_edit_item');
    assert.equal(page.status, 302);
    assert.equal(page.headers.get('location'), '/');
    const ajax = await anon.postForm('/ajax/check_brand_exists', { brand_name: 'Fender' });
    assert.equal(ajax.status, 302);
    assert.equal(ajax.headers.get('location'), '/');
  });

  test('expired sessions land on the home page and a new login works', async () => {
    const client = await loggedIn(sim);
    assert.equal((await client.get('/instruments/add_edit_item')).status, 200);
    const expire = await fetch(`${sim.url}/__sim/expire-sessions`, { method: 'POST' });
    assert.equal(expire.status, 200);
    const { expired } = (await expire.json()) as { expired: number };
    assert.ok(expired >= 1);
    const after = await client.get('/instruments/add_edit_item');
    assert.equal(after.status, 302);
    assert.equal(after.headers.get('location'), '/');
    assert.equal((await client.login()).status, 302);
    assert.equal((await client.get('/instruments/add_edit_item')).status, 200);
  });

  test('session TTL expires sessions', async () => {
    const short = await startSimulator({ catalogRows: 5, sessionTtlMs: 1000 });
    try {
      const client = await loggedIn(short);
      assert.equal((await client.get('/account')).status, 200);
      // Time itself is the condition: past the 1 s session TTL.
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await client.get('/account')).status, 302);
    } finally {
      await short.close();
    }
  });

  test('brand check: plain-text id, case- and space-insensitive, 0 when unknown', async () => {
    const client = await loggedIn(sim);
    const before = (await simState(sim)).counters.brandChecks;
    const check = async (name: string) => {
      const res = await client.postForm('/ajax/check_brand_exists', { brand_name: name });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      return res.text();
    };
    assert.equal(await check('Fender'), '383');
    assert.equal(await check('  fEnDeR '), '383');
    assert.equal(await check('Gibson'), '452');
    assert.equal(await check('No Such Brand Co'), '0');
    assert.equal((await simState(sim)).counters.brandChecks, before + 4);
  });

  test('brand suggestions: <li onclick="set_autosuggest_brands(…)"> items, quotes escaped', async () => {
    const client = await loggedIn(sim);
    const html = await (await client.postForm('/ajax/get_suggested_brands_name', { str: 'fen' })).text();
    assert.match(html, /^<li onclick="set_autosuggest_brands\('Fender', 383\)">Fender<\/li>/);
    const quoted = await (await client.postForm('/ajax/get_suggested_brands_name', { str: 'jimmy' })).text();
    assert.ok(quoted.includes(`set_autosuggest_brands('Jimmy\\'s \\&quot;Custom\\&quot; Amps'`), quoted);
  });

  test('the add form: frm_step1 with the real field names, only categ_level_0 on load', async () => {
    const client = await loggedIn(sim);
    const before = (await simState(sim)).counters.formLoads;
    const { html } = await client.openForm();
    for (const needle of [
      '<form id="frm_step1" name="frm_step1" method="post" action="/instruments/add_edit_item" enctype="multipart/form-data">',
      'name="categ_level_0"',
      '<option value="51">Guitars</option>',
      '<option value="235">Bowed Instruments</option>',
      'name="recipient_name" id="recipient_name"',
      'name="brand_make_id" id="brand_make_id"',
      'name="model_name"',
      'name="finish_color"',
      'onblur="check_decade()"',
      '<option value="1960">1960\'s</option>',
      '<option value="1800">1800\'s</option>',
      'name="external_url"',
      'name="price"',
      '<div class="ships_to"',
      'name="processing_time" id="processing_time" value="3"',
      'name="hours_days_sel"',
      '<textarea name="item_desc" id="item_desc" class="tinyMce"',
      '<a href="javascript:void(0)" id="submit_step_1" class="btn btn_publish">Publish item</a>',
      'var user_id = 4242;',
    ]) {
      assert.ok(html.includes(needle), `form page lacks ${needle}`);
    }
    for (const name of [
      'call_price',
      'show_vat',
      'buy_now',
      'add_offer_discount',
      'on_dealers_collective',
      'local_pickup',
      'available_for_shipment',
    ]) {
      assert.match(html, new RegExp(`<input type="checkbox" name="${name}"`), name);
    }
    for (const name of ['discounted_price', 'offer_discount', 'commission_price'])
      assert.match(html, new RegExp(`name="${name}"`));
    for (const name of [
      'unique_id',
      'version',
      'owner_id',
      'product_id',
      'offer_id',
      'added_completed',
      'section',
      'on_boost',
      'on_reseller_network',
      'has_media',
      'max_nr_of_files',
      'total_files_size',
      'min_string_length_for_autosuggest',
    ]) {
      assert.match(html, new RegExp(`<input type="hidden" name="${name}"`), name);
    }
    assert.doesNotMatch(html, /categ_level_1/, 'sub-levels appear only once a parent is chosen');
    assert.doesNotMatch(html, /type="file"/, 'the only file input is the one Dropzone creates');
    assert.doesNotMatch(html, /name="currency"|name="condition"|name="external_id"/);
    assert.equal((html.match(/name="shipping_fees_fee\[\]"/g) ?? []).length, 4);
    assert.equal((html.match(/name="shipping_fees_destination\[\]"/g) ?? []).length, 4);
    for (const region of ['UK', 'Europe', 'USA', 'REST OF WORLD'])
      assert.ok(html.includes(`>${region}</span>`), region);
    assert.equal((await simState(sim)).counters.formLoads, before + 1);
  });

  test('the category cascade answers each level from the shipped tree, nothing below a leaf', async () => {
    const client = await loggedIn(sim);
    const level1 = await (await client.postForm('/ajax/get_sub_categories', { parent_id: '51' })).text();
    assert.match(level1, /<option value="83">Electric solid body<\/option>/);
    assert.match(level1, /<option value="86">Archtop<\/option>/);
    const level2 = await (await client.postForm('/ajax/get_sub_categories', { parent_id: '86' })).text();
    assert.match(level2, /<option value="195">Acoustic<\/option>/);
    assert.equal(await (await client.postForm('/ajax/get_sub_categories', { parent_id: '83' })).text(), '');
  });

  test('Dropzone upload: filename[0] in, a JSON list out; WebP and non-images refused', async () => {
    const client = await loggedIn(sim);
    const jpeg = await sampleJpeg(sim);
    assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
    const ok = await client.upload(jpeg, 'my photo.jpg');
    assert.equal(ok.status, 200);
    const [item] = ok.reply as Array<Record<string, unknown>>;
    assert.equal(item?.success, true);
    assert.equal(typeof item?.file_unique_id, 'string');
    assert.equal(typeof item?.thumbnailName, 'string');
    assert.equal(typeof item?.fileName, 'string');
    assert.equal(item?.size, jpeg.length);
    const before = (await simState(sim)).counters.refusedUploads;
    const webp = await client.upload(WEBP, 'photo.jpg');
    assert.equal((webp.reply as Array<{ success: boolean }>)[0]?.success, false);
    const text = await client.upload(Buffer.from('hello'), 'notes.jpg');
    assert.equal((text.reply as Array<{ success: boolean }>)[0]?.success, false);
    assert.equal((await simState(sim)).counters.refusedUploads, before + 2);
  });

  test('a Publish reloads the blank form with "published and live"; the listing shows in the export after the index delay', async () => {
    const client = await loggedIn(sim);
    const maxBefore = Math.max(...(await simState(sim)).listings.map((l) => l.product_id));
    const submissionsBefore = (await simState(sim)).counters.submissions;
    const jpeg = await sampleJpeg(sim);
    const photos: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { reply } = await client.upload(jpeg, `p${i}.jpg`);
      photos.push((reply as Array<{ file_unique_id: string }>)[0]!.file_unique_id);
    }
    const marker = `ref-${Date.now()}`;
    const desc = `<p>Marker ${marker}, "quoted", with commas.</p>\n<p>Second line</p>`;
    const res = await publish(client, { item_desc: desc, recipient_name: 'fender ' }, photos);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/instruments/add_edit_item');
    const reloaded = await (await client.get('/instruments/add_edit_item')).text();
    assert.match(
      reloaded,
      /<div class="alert alert-success">Your item is now published and live on vintageandrare\.com<\/div>/,
    );
    assert.match(reloaded, /<select name="categ_level_0"/, 'the blank form again');
    const again = await (await client.get('/instruments/add_edit_item')).text();
    assert.doesNotMatch(again, /published and live/, 'the message shows once');

    const state = await simState(sim, '?source=form');
    // multipart/form-data turns every line break of a field into CRLF, as browsers do
    const sent = desc.replace(/\r?\n/g, '\r\n');
    const mine = state.listings.find((l) => l.product_description === sent);
    assert.ok(mine, 'listing created');
    assert.equal(state.counters.submissions, submissionsBefore + 1);
    assert.ok(mine.product_id > maxBefore);
    assert.ok(!reloaded.includes(String(mine.product_id)), 'the id is not in the response');
    assert.equal(mine.brand_name, 'fender ');
    assert.equal(mine.product_model_name, ' Stratocaster ');
    assert.equal(mine.product_price, 2500);
    assert.equal(mine.product_year, '1962');
    assert.equal(mine.category_name, 'Guitars>Electric solid body');
    assert.deepEqual(mine.category_path, ['Guitars', 'Electric solid body']);
    assert.deepEqual(mine.category_ids, [51, 83]);
    assert.deepEqual(mine.shipping_fees, { uk: 40, usa: 90 });
    assert.equal(mine.processing_time, '3 Days');
    assert.equal(mine.photo_count, 2);
    assert.deepEqual(
      mine.photos.map((p) => [p.bytes, p.type]),
      [
        [jpeg.length, 'image/jpeg'],
        [jpeg.length, 'image/jpeg'],
      ],
    );
    assert.equal(mine.source, 'form');
    assert.equal(mine.visible_in_export, false);

    const first = (await exportBytes(client)).toString('utf8');
    assert.ok(!first.includes(marker), 'not indexed yet');
    let found: string[] | undefined;
    for (let i = 0; i < 100 && !found; i++) {
      await new Promise((r) => setTimeout(r, 50));
      found = parseRecords(await exportBytes(client)).find((r) => r[0] === String(mine.product_id));
    }
    assert.ok(found, 'listing appears in the export');
    assert.equal(found[7], sent);
    assert.equal(found[1], 'fender ');
    assert.equal(found[3], '');
    assert.equal(found[22], '3 Days');
    assert.equal(found[24]?.split('|').length, 2, 'two image URLs');
  });

  test('server-side validation: errors tied to fields (jQuery Validate labels in variant 0), nothing created', async () => {
    const client = await loggedIn(sim);
    const count = async () => (await simState(sim)).listings.length;
    const before = await count();
    const rejectedBefore = (await simState(sim)).counters.rejectedSubmissions;
    const cases: Array<[Record<string, string | null>, string, RegExp]> = [
      [{ recipient_name: 'No Such Brand Co' }, 'recipient_name', /Unknown brand/],
      [{ recipient_name: '' }, 'recipient_name', /required/],
      [{ price: '' }, 'price', /required/],
      [{ price: '12.5' }, 'price', /valid number/],
      [{ model_name: '  ' }, 'model_name', /required/],
      [{ categ_level_0: null, categ_level_1: null }, 'categ_level_0', /choose a category/],
      [{ categ_level_1: null }, 'categ_level_0', /subcategory/],
      [{ categ_level_1: '86' }, 'categ_level_0', /subcategory/],
      [{ year: '62' }, 'year', /valid year/],
      [{ processing_time: '' }, 'processing_time', /required/],
      [{ available_for_shipment: null }, 'local_pickup', /local pickup/],
      [{ 'shipping_fees_fee[]': '' }, 'shipping_fee_0', /at least one shipping fee/],
    ];
    for (const [overrides, field, message] of cases) {
      const res = await publish(client, overrides);
      assert.equal(res.status, 200);
      const html = await res.text();
      const error = new RegExp(
        `<label id="${field.replace(/[[\]]/g, '\\$&')}-error" class="error" for="${field}">([^<]*)</label>`,
      ).exec(html);
      assert.ok(error, `error tied to ${field} for ${JSON.stringify(overrides)}`);
      assert.match(error[1] ?? '', message);
      assert.ok(html.includes('id="frm_step1"'));
      assert.doesNotMatch(html, /published and live/);
    }
    assert.equal(await count(), before);
    assert.equal((await simState(sim)).counters.rejectedSubmissions, rejectedBefore + cases.length);
  });

  test('a Publish without the served unique_id is refused, with an error tied to no field', async () => {
    const client = await loggedIn(sim);
    const before = (await simState(sim)).listings.length;
    for (const uniqueId of ['', 'forged']) {
      const res = await client.fetch('/instruments/add_edit_item', {
        method: 'POST',
        body: listingForm(uniqueId),
        dest: 'document',
      });
      assert.equal(res.status, 200);
      const html = await res.text();
      assert.match(html, /reload the page/);
      assert.doesNotMatch(html, /class="error"/);
    }
    assert.equal((await simState(sim)).listings.length, before);
  });

  test('more than 20 photos, or more than 10 MB in all, are refused by the server', async () => {
    const client = await loggedIn(sim);
    const jpeg = await sampleJpeg(sim);
    const ids: string[] = [];
    for (let i = 0; i < 21; i++) {
      const { reply } = await client.upload(jpeg, `p${i}.jpg`);
      ids.push((reply as Array<{ file_unique_id: string }>)[0]!.file_unique_id);
    }
    const before = (await simState(sim)).listings.length;
    const tooMany = await (await publish(client, {}, ids)).text();
    assert.match(
      tooMany,
      /<label id="dropzone-error" class="error" for="dropzone">You can upload at most 20 photos/,
    );
    const big = Buffer.alloc(4 * 1024 * 1024, 0);
    jpeg.copy(big);
    const bigIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { reply } = await client.upload(big, `big${i}.jpg`);
      bigIds.push((reply as Array<{ file_unique_id: string }>)[0]!.file_unique_id);
    }
    const tooBig = await (await publish(client, {}, bigIds)).text();
    assert.match(tooBig, /larger than 10 MB in all/);
    assert.equal((await simState(sim)).listings.length, before);
  });

  test('POST /__sim/listings creates a listing by hand, indexed with the usual delay', async () => {
    const res = await fetch(`${sim.url}/__sim/listings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        brand_name: 'Gibson',
        product_model_name: 'Les Paul',
        product_description: '<p>by hand</p>',
        product_price: 3000,
        product_year: '1959',
        product_finish: 'Sunburst',
        category_name: 'Guitars>Electric solid body',
      }),
    });
    assert.equal(res.status, 200);
    const { product_id } = (await res.json()) as { product_id: number };
    const hand = (await simState(sim, '?source=hand')).listings;
    assert.equal(hand.length, 1);
    assert.equal(hand[0]?.product_id, product_id);
    assert.equal(hand[0]?.source, 'hand');
    assert.equal(hand[0]?.visible_in_export, false);
    const bad = await fetch(`${sim.url}/__sim/listings`, {
      method: 'POST',
      body: JSON.stringify({
        brand_name: 'Gibson',
        product_model_name: 'X',
        product_price: 1,
        category_name: 'Guitars',
      }),
    });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /category_name is not a leaf category/);
  });

  test('later routes: edit answers 302, mark sold / restore / delete answer true or false', async () => {
    const client = await loggedIn(sim);
    await setFaults(sim, { indexDelayMs: 0 });
    try {
      const desc = `<p>edit me ${Date.now()}</p>`;
      assert.equal((await publish(client, { item_desc: desc })).status, 302);
      const mine = (await simState(sim)).listings.find((l) => l.product_description === desc)!;
      const id = mine.product_id;

      const page = await client.get(`/instruments/add_edit_item/${id}`);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, new RegExp(`action="/instruments/add_edit_item/${id}"`));
      assert.match(html, new RegExp(`name="product_id" value="${id}"`));
      assert.match(html, /<option value="51" selected>Guitars<\/option>/);
      assert.match(html, /<option value="83" selected>Electric solid body<\/option>/);
      assert.match(html, /name="recipient_name" id="recipient_name"[^>]* value="Fender"/);
      assert.match(html, /name="available_for_shipment" id="available_for_shipment" value="1" checked/);
      const uniqueId = /name="unique_id" value="([^"]+)"/.exec(html)![1]!;
      const saved = await client.fetch(`/instruments/add_edit_item/${id}`, {
        method: 'POST',
        body: listingForm(uniqueId, { item_desc: desc, price: '1999' }),
        dest: 'document',
      });
      assert.equal(saved.status, 302);
      // Variant 0's edit answer: a 302 to the account.
      assert.equal(new URL(saved.headers.get('location')!, sim.url).pathname, '/account');
      assert.equal((await simState(sim)).listings.find((l) => l.product_id === id)?.product_price, 1999);
      // An edit without item_desc keeps the description.
      const again = await client.get(`/instruments/add_edit_item/${id}`);
      const againId = /name="unique_id" value="([^"]+)"/.exec(await again.text())![1]!;
      const kept = await client.fetch(`/instruments/add_edit_item/${id}`, {
        method: 'POST',
        body: listingForm(againId, { item_desc: null, price: '1888' }),
        dest: 'document',
      });
      assert.equal(kept.status, 302);
      const afterKept = (await simState(sim)).listings.find((l) => l.product_id === id)!;
      assert.equal(afterKept.product_price, 1888);
      assert.equal(afterKept.product_description, desc);
      assert.equal((await client.get('/instruments/add_edit_item/1')).status, 404);

      const stock = async (path: string, productId: number) =>
        (await client.postForm(path, { product_id: String(productId) })).text();
      const row = async () =>
        (
          parse(await exportBytes(client), { columns: true, relax_column_count: true }) as Record<
            string,
            string
          >[]
        ).find((r) => r.product_id === String(id));
      assert.equal(await stock('/ajax/mark_as_sold/a8f3', id), 'true');
      assert.equal((await row())?.product_sold, 'yes');
      assert.equal(await stock('/ajax/restore_from_sold/77c1', id), 'true');
      assert.equal((await row())?.product_sold, 'no');
      assert.equal(await stock('/ajax/mark_as_sold/a8f3', 1), 'false');
      assert.equal(await stock('/ajax/delete_item', id), 'true');
      assert.equal(await row(), undefined);
      assert.equal(await stock('/ajax/delete_item', id), 'false');
      assert.equal((await client.get(`/product/${id}`)).status, 404);
    } finally {
      await setFaults(sim, { indexDelayMs: INDEX_DELAY_MS });
    }
  });

  test('POST /__sim/listings/{id}/sold|delete|price act as a person on V&R, as the export shows', async () => {
    const client = await loggedIn(sim);
    await setFaults(sim, { indexDelayMs: 0 });
    try {
      const byHand = async (path: string, body?: unknown) =>
        fetch(`${sim.url}/__sim/listings${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      const ids: number[] = [];
      for (const model of ['Sold by hand', 'Deleted by hand', 'Repriced by hand']) {
        const res = await byHand('', {
          brand_name: 'Gibson',
          product_model_name: model,
          product_price: 1000,
        });
        ids.push(((await res.json()) as { product_id: number }).product_id);
      }
      const [soldId, deletedId, repricedId] = ids as [number, number, number];
      const sold = await byHand(`/${soldId}/sold`);
      assert.equal(sold.status, 200);
      assert.deepEqual(await sold.json(), {
        product_id: soldId,
        product_price: 1000,
        sold: true,
        deleted: false,
      });
      assert.equal((await byHand(`/${deletedId}/delete`)).status, 200);
      const priced = await byHand(`/${repricedId}/price`, { price: 1234 });
      assert.equal(((await priced.json()) as { product_price: number }).product_price, 1234);

      const rows = parse(await exportBytes(client), { columns: true, relax_column_count: true }) as Record<
        string,
        string
      >[];
      const row = (id: number) => rows.find((r) => r.product_id === String(id));
      assert.equal(row(soldId)?.product_sold, 'yes');
      assert.equal(row(deletedId), undefined);
      assert.equal(row(repricedId)?.product_price, '1234');
      assert.equal(row(repricedId)?.product_sold, 'no');

      // Refused: a bad price (naming the field), an unknown or already deleted listing.
      const bad = await byHand(`/${repricedId}/price`, { price: -5 });
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /price must be a number above 0/);
      assert.equal((await byHand(`/${deletedId}/sold`)).status, 404);
      assert.equal((await byHand('/1/delete')).status, 404);
      assert.equal(row(repricedId)?.product_price, '1234');
    } finally {
      await setFaults(sim, { indexDelayMs: INDEX_DELAY_MS });
    }
  });

  test('mark sold answers with an empty body (variant 1) or JSON (variant 2), and an edit in variant 1 answers the same page', async () => {
    for (const variant of [1, 2]) {
      const other = await startSimulator({ port: 0, catalogRows: 5, variant, indexDelayMs: 0 });
      try {
        const client = await BrowserLikeClient.create(other.url);
        await client.login();
        const desc = `<p>variant ${variant}</p>`;
        await publish(client, { item_desc: desc });
        const id = (await simState(other)).listings.find((l) => l.product_description === desc)!.product_id;
        const reply = await client.postForm('/ajax/mark_as_sold/1', { product_id: String(id) });
        assert.equal(await reply.text(), variant === 1 ? '' : '{"success":true}');
        assert.equal((await simState(other)).listings.find((l) => l.product_id === id)?.sold, true);
        if (variant === 1) {
          const page = await client.get(`/instruments/add_edit_item/${id}`);
          const uniqueId = /name="unique_id" value="([^"]+)"/.exec(await page.text())![1]!;
          const saved = await client.fetch(`/instruments/add_edit_item/${id}`, {
            method: 'POST',
            body: listingForm(uniqueId, { price: '1234' }),
            dest: 'document',
          });
          assert.equal(saved.status, 200);
          assert.match(await saved.text(), /Your item has been updated/);
        }
      } finally {
        await other.close();
      }
    }
  });

  test('the download needs the export page first and its Referer', async () => {
    const client = await loggedIn(sim);
    const direct = await client.get('/instruments/export_inventory/export_inventory', {
      referer: `${sim.url}/instruments/export_inventory`,
    });
    assert.equal(direct.status, 404);
    const page = await client.get('/instruments/export_inventory');
    assert.match(
      await page.text(),
      /<a href="\/instruments\/export_inventory\/export_inventory" class="btn">Download current V&amp;R inventory<\/a>/,
    );
    const noReferer = await client.get('/instruments/export_inventory/export_inventory');
    assert.equal(noReferer.status, 404);
    const exportsBefore = (await simState(sim)).counters.exports;
    const ok = await client.get('/instruments/export_inventory/export_inventory', {
      referer: `${sim.url}/instruments/export_inventory`,
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.match(ok.headers.get('content-disposition') ?? '', /^attachment; filename=/);
    await ok.arrayBuffer();
    assert.equal((await simState(sim)).counters.exports, exportsBefore + 1);
  });

  test("the default export: RFC 4180, 27 named columns, a trailing comma, CRLF, the sample's quirks", async () => {
    const client = await loggedIn(sim);
    const bytes = await exportBytes(client);
    const records = parseRecords(bytes);
    const [header, ...rows] = records;
    assert.deepEqual(header, [...EXPORT_COLUMNS, '']);
    assert.ok(rows.length >= 200);
    for (const r of records) {
      assert.equal(r.length, 28);
      assert.equal(r[27], '');
    }
    assert.ok(bytes.toString('latin1').startsWith(`${EXPORT_COLUMNS.join(',')},\r\n`));
    const objects = parse(bytes, {
      columns: (h: string[]) => h.map((name) => name || undefined),
      relax_column_count: false,
    }) as Record<string, string>[];
    assert.ok(objects.every((o) => o.external_id === ''));
    assert.ok(
      objects.some((o) => (o.product_description ?? '').includes('\n')),
      'multi-line descriptions',
    );
    assert.ok(
      objects.some((o) => (o.product_description ?? '').includes('"')),
      'quotes in descriptions',
    );
    assert.ok(
      objects.some((o) => o.brand_name === 'Smith, Jones & Co'),
      'brand with a comma',
    );
    assert.ok(
      objects.some((o) => o.product_year === ''),
      'empty years',
    );
    assert.ok(
      objects.some((o) => /^\s|\s$/.test(o.product_model_name ?? '')),
      'padded model names',
    );
    const brands = new Set(objects.map((o) => o.brand_name));
    assert.ok(brands.has('fender') && brands.has('Fender'), 'mixed-case brands');
    assert.ok(
      objects.every((o) => /^\d+$/.test(o.product_price ?? '')),
      'integer prices',
    );
    const ids = objects.map((o) => Number(o.product_id));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, 'ids strictly increasing');
    assert.ok(ids[0]! >= 50000);
    // some rows carry bytes that are not valid UTF-8
    assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  });

  test('same seed gives identical export bytes, another seed different ones', async () => {
    const sims = await Promise.all([
      startSimulator({ catalogRows: 120, seed: 7 }),
      startSimulator({ catalogRows: 120, seed: 7 }),
      startSimulator({ catalogRows: 120, seed: 8 }),
    ]);
    try {
      const bodies = await Promise.all(sims.map(async (s) => exportBytes(await loggedIn(s))));
      assert.ok(bodies[0]!.equals(bodies[1]!));
      assert.ok(!bodies[0]!.equals(bodies[2]!));
    } finally {
      await Promise.all(sims.map((s) => s.close()));
    }
  });

  test('export latency is spread over the download and the body stays complete', async () => {
    const slow = await startSimulator({ catalogRows: 60, exportLatencyMs: 100 });
    try {
      const records = parseRecords(await exportBytes(await loggedIn(slow)));
      assert.equal(records.length, 61);
    } finally {
      await slow.close();
    }
  });

  test('submitFailRate=1 answers 500 and creates nothing', async () => {
    const client = await loggedIn(sim);
    const before = await simState(sim);
    assert.equal((await setFaults(sim, { submitFailRate: 1 })).submitFailRate, 1);
    try {
      const res = await publish(client);
      assert.equal(res.status, 500);
      assert.match(await res.text(), /Internal Server Error/);
    } finally {
      await setFaults(sim, { submitFailRate: 0 });
    }
    const after = await simState(sim);
    assert.equal(after.listings.length, before.listings.length);
    assert.equal(after.counters.failedSubmissions, before.counters.failedSubmissions + 1);
    assert.equal(after.counters.submissions, before.counters.submissions + 1);
  });

  test('submitFailRate option fails every submit when 1', async () => {
    const failing = await startSimulator({ catalogRows: 5, submitFailRate: 1 });
    try {
      const res = await publish(await loggedIn(failing));
      assert.equal(res.status, 500);
      await res.text();
      assert.equal(failing.state('form').listings.length, 0);
    } finally {
      await failing.close();
    }
  });

  test('failNextSubmits fails exactly the next n submits', async () => {
    const client = await loggedIn(sim);
    await setFaults(sim, { failNextSubmits: 1 });
    const first = await publish(client);
    assert.equal(first.status, 500);
    await first.text();
    const second = await publish(client);
    assert.equal(second.status, 302);
  });

  test('dropShippingFeesNext stores the next N published listings without their fees; the edit page shows what is stored', async () => {
    const client = await loggedIn(sim);
    await setFaults(sim, { dropShippingFeesNext: 1 });
    const descs = [`<p>fees dropped ${Date.now()}</p>`, `<p>fees kept ${Date.now()}</p>`];
    for (const desc of descs) assert.equal((await publish(client, { item_desc: desc })).status, 302);
    const listings = (await simState(sim)).listings;
    const [dropped, kept] = descs.map((d) => listings.find((l) => l.product_description === d)!);
    assert.deepEqual(dropped!.shipping_fees, {});
    assert.deepEqual(kept!.shipping_fees, { uk: 40, usa: 90 });
    assert.equal((await setFaults(sim, {})).dropShippingFeesNext, 0);
    const html = await (await client.get(`/instruments/add_edit_item/${kept!.product_id}`)).text();
    assert.match(html, /id="shipping_fee_0"[^>]* value="40"/);
    assert.match(html, /id="shipping_fee_2"[^>]* value="90"/);
    assert.match(html, /<option value="Days" selected>Days<\/option>/);
    const empty = await (await client.get(`/instruments/add_edit_item/${dropped!.product_id}`)).text();
    assert.match(empty, /id="shipping_fee_0"[^>]* value=""/);
  });

  test('hangNextSubmits creates the listing but never answers', async () => {
    const client = await loggedIn(sim);
    const before = await simState(sim);
    await setFaults(sim, { hangNextSubmits: 1 });
    const desc = `<p>hang ${Date.now()}</p>`;
    const { uniqueId } = await client.openForm();
    await assert.rejects(
      client.fetch('/instruments/add_edit_item', {
        method: 'POST',
        body: listingForm(uniqueId, { item_desc: desc }),
        signal: AbortSignal.timeout(400),
      }),
      (err: Error) => err.name === 'TimeoutError' || err.name === 'AbortError',
    );
    const after = await simState(sim);
    assert.equal(after.counters.hungSubmissions, before.counters.hungSubmissions + 1);
    assert.ok(after.listings.some((l) => l.product_description === desc));
  });

  test('neverIndexNext keeps a new listing out of the export', async () => {
    const client = await loggedIn(sim);
    await setFaults(sim, { neverIndexNext: 1, indexDelayMs: 0 });
    try {
      const desc = `<p>never ${Date.now()}</p>`;
      const res = await publish(client, { item_desc: desc });
      assert.equal(res.status, 302);
      const listing = (await simState(sim)).listings.find((l) => l.product_description === desc);
      assert.equal(listing?.visible_in_export, false);
      assert.ok(!(await exportBytes(client)).toString('utf8').includes(desc));
    } finally {
      await setFaults(sim, { indexDelayMs: INDEX_DELAY_MS });
    }
  });

  test('truncateNextExports cuts the body inside a quoted field; shrinkNextExports serves the newest tenth', async () => {
    const client = await loggedIn(sim);
    await setFaults(sim, { truncateNextExports: 1 });
    const cut = await exportBytes(client);
    assert.throws(() => parseRecords(cut));
    const whole = await exportBytes(client);
    assert.ok(whole.length > cut.length);
    const all = parseRecords(whole);
    await setFaults(sim, { shrinkNextExports: 1 });
    const shrunk = parseRecords(await exportBytes(client));
    assert.ok(shrunk.length < all.length / 5);
    assert.equal(shrunk.at(-1)?.[0], all.at(-1)?.[0]);
  });

  test('failNextExports answers 503 with a maintenance page', async () => {
    const client = await loggedIn(sim);
    await setFaults(sim, { failNextExports: 1 });
    const res = await client.downloadExport();
    assert.equal(res.status, 503);
    assert.match(await res.text(), /maintenance/);
  });

  test('down (and downUntil) answers 503 maintenance on every route, login and export included', async () => {
    const client = await loggedIn(sim);
    await setFaults(sim, { down: true });
    try {
      for (const response of [
        await client.get('/'),
        await client.postForm('/do_login', { username: 'demo', pass: 'demo' }),
        await client.get('/instruments/add_edit_item'),
        await client.postForm('/ajax/check_brand_exists', { brand_name: 'Fender' }),
        await client.downloadExport(),
      ]) {
        assert.equal(response.status, 503, response.url);
        assert.match(await response.text(), /maintenance/);
      }
      const res = await client.fetch('/instruments/add_edit_item', {
        method: 'POST',
        body: listingForm('x'),
      });
      assert.equal(res.status, 503);
      await res.text();
    } finally {
      await setFaults(sim, { down: false });
    }
    const listings = (await simState(sim)).listings.length;
    assert.equal((await client.get('/account')).status, 200, 'the session outlives the maintenance');
    await setFaults(sim, { downUntil: Date.now() + 60_000 });
    const during = await client.get('/account');
    assert.equal(during.status, 503);
    assert.ok(Number(during.headers.get('retry-after')) > 0);
    await setFaults(sim, { downUntil: Date.now() - 1 });
    assert.equal((await client.get('/account')).status, 200);
    assert.equal((await simState(sim)).listings.length, listings, 'nothing created while down');
    const bad = await fetch(`${sim.url}/__sim/faults`, { method: 'POST', body: '{"down":1}' });
    assert.equal(bad.status, 400);
    await bad.text();
  });

  test('bad fault settings are rejected; unknown routes answer 404', async () => {
    const res = await fetch(`${sim.url}/__sim/faults`, { method: 'POST', body: '{"failNextSubmits":-1}' });
    assert.equal(res.status, 400);
    await res.text();
    const client = await loggedIn(sim);
    const missing = await client.get('/no/such/page');
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /text\/html/);
  });

  test('close() ends hung requests', async (t) => {
    const s = await startSimulator({ catalogRows: 3 });
    t.after(() => s.close()); // safe twice
    const c = await loggedIn(s);
    s.setFaults({ hangNextSubmits: 1 });
    const { uniqueId } = await c.openForm();
    const pending = c.fetch('/instruments/add_edit_item', { method: 'POST', body: listingForm(uniqueId) });
    pending.catch(() => {}); // asserted below; not an unhandled rejection if the test fails first
    await waitFor('the submit to hang', () => s.state().counters.hungSubmissions > 0, 30_000);
    await s.close();
    await assert.rejects(pending);
  });

  test('onRequestServed reports each answer', async () => {
    const served: string[] = [];
    const s = await startSimulator({
      catalogRows: 3,
      onRequestServed: (r) => served.push(`${r.method} ${r.path} ${r.status}`),
    });
    try {
      await (await (await loggedIn(s)).get('/account')).text();
      assert.ok(served.includes('GET /account 200'), served.join('\n'));
    } finally {
      await s.close();
    }
  });

  test("timeScale scales the editor start-up, the pages' own pauses, the latencies and the index delay", async (t) => {
    // Variant 4's editor starts after 3 s; at 0.05 the form asks for 150 ms.
    const fast = await startSimulator({ catalogRows: 3, variant: 4, timeScale: 0.05 });
    t.after(() => fast.close());
    const client = await loggedIn(fast);
    assert.match((await client.openForm()).html, /"tinymceInitMs":150[,}]/);
    assert.match(await (await client.get('/js/site.js')).text(), /setTimeout\(showConsent, 8\)/);
    const challenge = await fetch(`${fast.url}/account`, {
      headers: { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
    });
    assert.equal(challenge.status, 403);
    assert.match(
      await challenge.text(),
      /pass\(false\); \}, 13\)/,
      'the challenge passes after 13 ms, not 250',
    );

    // At 0, an hour of latency and of index delay is none: the page answers, the listing is in the export.
    const instant = await startSimulator({
      catalogRows: 3,
      timeScale: 0,
      pageLatencyMs: 3_600_000,
      submitLatencyMs: 3_600_000,
      indexDelayMs: 3_600_000,
    });
    t.after(() => instant.close());
    const person = await loggedIn(instant);
    assert.equal((await publish(person)).status, 302);
    const [listing] = instant.state('form').listings;
    assert.equal(listing?.visible_in_export, true);

    await assert.rejects(startSimulator({ timeScale: -1 }), /timeScale/);
    await assert.rejects(startSimulator({ timeScale: Number.NaN }), /timeScale/);
  });
});

describe('simulator command', () => {
  test('rejects bad option values, naming the option', () => {
    assert.throws(() => parseSimulatorArgs(['--port', 'abc']), /--port/);
    assert.throws(() => parseSimulatorArgs(['--submit-fail-rate', '2']), /--submit-fail-rate/);
    assert.throws(() => parseSimulatorArgs(['--nope']), /nope/);
    assert.throws(() => parseSimulatorArgs(['--cloudflare', 'maybe']), /--cloudflare/);
    assert.throws(() => parseSimulatorArgs(['--variant', '99']), /--variant/);
    assert.throws(() => parseSimulatorArgs(['--drop-element', 'footer']), /--drop-element/);
    assert.throws(() => parseSimulatorArgs(['--time-scale', '-1']), /--time-scale/);
    assert.deepEqual(parseSimulatorArgs(['--time-scale', '0.05']), { timeScale: 0.05 });
    assert.deepEqual(
      parseSimulatorArgs(['--catalog-rows', '10', '--submit-fail-rate', '0.5', '--username', 'u']),
      { catalogRows: 10, submitFailRate: 0.5, username: 'u' },
    );
    assert.deepEqual(
      parseSimulatorArgs([
        '--cloudflare',
        'interactive',
        '--cloudflare-headless-block',
        '--clearance-ttl-ms',
        '60000',
        '--variant',
        '3',
        '--drop-element',
        'publish,tinymce',
        '--drop-element',
        'dropzone',
      ]),
      {
        cloudflare: 'interactive',
        cloudflareHeadlessBlock: true,
        clearanceTtlMs: 60000,
        variant: 3,
        dropElements: ['publish', 'tinymce', 'dropzone'],
      },
    );
  });

  test('--help lists every variant and the gate options', () => {
    const help = SIMULATOR_HELP();
    for (let v = 0; v <= 5; v++) assert.match(help, new RegExp(`^ {4}${v} {2}\\S`, 'm'));
    for (const flag of [
      '--cloudflare ',
      '--cloudflare-headless-block',
      '--clearance-ttl-ms',
      '--variant',
      '--drop-element',
      '--time-scale',
    ]) {
      assert.ok(help.includes(flag), flag);
    }
  });

  test('prints its URL first and exits 0 on SIGTERM', async () => {
    const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
    const script = `import { runSimulatorCommand } from ${JSON.stringify(main)}; await runSimulatorCommand(['--catalog-rows', '5']);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const [first] = (await once(lines, 'line')) as [string];
      assert.match(first, /^http:\/\/127\.0\.0\.1:\d+$/);
      const state = (await (await fetch(`${first}/__sim/state`)).json()) as SimState;
      assert.equal(state.listings.length, 5);
      assert.equal(state.variant, 0);
      assert.equal(state.cloudflare, 'auto');
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
