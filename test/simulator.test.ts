import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { parseSimulatorArgs } from '../src/simulator/main.ts';
import { type SimState, type Simulator, startSimulator } from '../src/simulator/server.ts';
import { EXPORT_COLUMNS } from '../src/vr/export-format.ts';
import { SimClient } from './helpers/simulator-client.ts';

const INDEX_DELAY_MS = 300;

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

function listingForm(overrides: Record<string, string> = {}, images: string[] = []): FormData {
  const fields: Record<string, string> = {
    categ_level_0: '51',
    categ_level_1: '83',
    categ_level_2: '',
    categ_level_3: '',
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
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  for (const name of images) fd.append('uploaded_images[]', name);
  return fd;
}

function parseRecords(body: Buffer): string[][] {
  return parse(body, { columns: false, relax_column_count: false }) as string[][];
}

async function exportBytes(client: SimClient): Promise<Buffer> {
  const res = await client.downloadExport();
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

describe('V&R simulator', () => {
  let sim: Simulator;

  before(async () => {
    sim = await startSimulator({ port: 0, catalogRows: 200, indexDelayMs: INDEX_DELAY_MS });
  });
  after(async () => {
    await sim.close();
    await sim.close(); // safe twice
  });

  test('url has no trailing slash and home sets cookies', async () => {
    assert.match(sim.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new SimClient(sim.url);
    const res = await client.get('/');
    assert.equal(res.status, 200);
    assert.match(await res.text(), /name="username"/);
    assert.ok(client.cookies.has('vr_visit'));
    assert.ok(client.cookies.has('PHPSESSID'));
  });

  test('login page has the expected form', async () => {
    const html = await (await fetch(`${sim.url}/login`)).text();
    assert.match(html, /<form id="login_form" method="post" action="\/do_login">/);
    assert.match(html, /name="pass"/);
    assert.match(html, /name="open_where" value="header"/);
  });

  test('login success and failure, with the logins counter', async () => {
    const before = (await simState(sim)).counters.logins;
    const bad = new SimClient(sim.url);
    const badRes = await bad.login('demo', 'wrong');
    assert.equal(badRes.status, 200);
    assert.match(await badRes.text(), /<div class="error_message">Invalid username or password<\/div>/);
    assert.equal((await simState(sim)).counters.logins, before);

    const good = new SimClient(sim.url);
    const res = await good.login();
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/account');
    assert.match(res.headers.get('set-cookie') ?? '', /^PHPSESSID=[0-9a-f]+; Path=\/; HttpOnly/);
    const account = await good.get('/account');
    assert.equal(account.status, 200);
    assert.match(await account.text(), /<a href="\/logout" id="logout">Logout<\/a>/);
    assert.equal((await simState(sim)).counters.logins, before + 1);
  });

  test('auth-required routes redirect to the login page without a session', async () => {
    const anon = new SimClient(sim.url);
    const page = await anon.get('/instruments/add_edit_item');
    assert.equal(page.status, 302);
    assert.equal(page.headers.get('location'), '/login?redirect=%2Finstruments%2Fadd_edit_item');
    const ajax = await anon.postForm('/ajax/check_brand_exists', { brand_name: 'Fender' });
    assert.equal(ajax.status, 302);
    assert.match(ajax.headers.get('location') ?? '', /^\/login/);
  });

  test('expired sessions redirect to /login and re-login works', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    assert.equal((await client.get('/instruments/add_edit_item')).status, 200);
    const expire = await fetch(`${sim.url}/__sim/expire-sessions`, { method: 'POST' });
    assert.equal(expire.status, 200);
    const { expired } = (await expire.json()) as { expired: number };
    assert.ok(expired >= 1);
    const after = await client.get('/instruments/add_edit_item');
    assert.equal(after.status, 302);
    assert.match(after.headers.get('location') ?? '', /^\/login\?redirect=/);
    assert.equal((await client.login()).status, 302);
    assert.equal((await client.get('/instruments/add_edit_item')).status, 200);
  });

  test('session TTL expires sessions', async () => {
    const short = await startSimulator({ catalogRows: 5, sessionTtlMs: 100 });
    try {
      const client = new SimClient(short.url);
      await client.login();
      assert.equal((await client.get('/account')).status, 200);
      await new Promise((r) => setTimeout(r, 150));
      assert.equal((await client.get('/account')).status, 302);
    } finally {
      await short.close();
    }
  });

  test('brand check: case- and space-insensitive, 0 when unknown', async () => {
    const client = new SimClient(sim.url);
    await client.login();
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
    assert.equal(await check('PRS Paul Reed Smith'), '1656');
    assert.equal(await check('No Such Brand Co'), '0');
    for (const b of ['Gretsch', 'Rickenbacker', 'Martin', 'Vox', 'Marshall', 'Ibanez', 'Epiphone', 'Guild']) {
      assert.notEqual(await check(b), '0', b);
    }
    assert.notEqual(await check('smith, jones & co'), '0');
    assert.equal((await simState(sim)).counters.brandChecks, before + 14);
  });

  test('brand suggestions: prefix matches first, quotes escaped', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    const html = await (await client.postForm('/ajax/get_suggested_brands_name', { str: 'fen' })).text();
    assert.match(
      html,
      /^<ul id="suggested_brands"><li onclick="set_autosuggest_brands\('Fender', 383\)">Fender<\/li>/,
    );
    const all = await (await client.postForm('/ajax/get_suggested_brands_name', { str: 'a' })).text();
    assert.ok((all.match(/<li /g) ?? []).length <= 10);
    const quoted = await (await client.postForm('/ajax/get_suggested_brands_name', { str: 'jimmy' })).text();
    assert.ok(quoted.includes(`set_autosuggest_brands('Jimmy\\'s \\&quot;Custom\\&quot; Amps'`), quoted);
  });

  test('the add form has the fields the automation fills', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    const before = (await simState(sim)).counters.formLoads;
    const html = await (await client.get('/instruments/add_edit_item')).text();
    for (const needle of [
      '<form id="frm_step1" method="post" action="/instruments/add_edit_item" enctype="multipart/form-data">',
      'name="categ_level_0"',
      'name="categ_level_3"',
      '<option value="51">Guitars</option>',
      'name="recipient_name" id="recipient_name"',
      'name="brand_make_id" id="brand_make_id"',
      'name="model_name"',
      'name="item_desc" id="item_desc"',
      'id="item_desc_ifr" contenteditable="true"',
      '<option value="1950">1950</option>',
      'name="hours_days_sel"',
      'type="file" id="dropzone_input" multiple accept="image/*"',
      'id="uploaded_images" data-count="0"',
      '<a id="submit_step_1" href="javascript:void(0)">Publish item</a>',
      'window.tinymce',
    ]) {
      assert.ok(html.includes(needle), `form page lacks ${needle}`);
    }
    assert.equal((await simState(sim)).counters.formLoads, before + 1);
  });

  test('photo upload returns a stored name', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    const img = Buffer.from(await (await fetch(`${sim.url}/__sim/sample-image.jpg`)).arrayBuffer());
    assert.deepEqual([...img.subarray(0, 2)], [0xff, 0xd8]);
    const fd = new FormData();
    fd.append('file', new Blob([img], { type: 'image/jpeg' }), 'my photo.jpg');
    const res = await client.fetch('/ajax/dropzone_upload/4242', { method: 'POST', body: fd });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^img_\d+_my_photo\.jpg$/);
  });

  test('publishing creates a listing that shows in the export only after the index delay', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    const maxBefore = Math.max(...(await simState(sim)).listings.map((l) => l.product_id));
    const submissionsBefore = (await simState(sim)).counters.submissions;
    const marker = `ref-${Date.now()}`;
    const desc = `<p>Marker ${marker}, "quoted", with commas.</p>\n<p>Second line</p>`;
    const res = await client.fetch('/instruments/add_edit_item', {
      method: 'POST',
      body: listingForm({ item_desc: desc, recipient_name: 'fender ' }, ['img_1_a.jpg', 'img_2_b.jpg']),
    });
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.match(body, /<div class="success_message">Your item is now published and live\.<\/div>/);

    const state = await simState(sim, '?source=form');
    // multipart/form-data turns every line break of a field into CRLF, as browsers do
    const sent = desc.replace(/\r?\n/g, '\r\n');
    const mine = state.listings.find((l) => l.product_description === sent);
    assert.ok(mine, 'listing created');
    assert.equal(state.counters.submissions, submissionsBefore + 1);
    assert.ok(mine.product_id > maxBefore);
    assert.ok(!body.includes(String(mine.product_id)), 'the id must not be in the response');
    assert.ok(!body.includes('error_message'));
    assert.equal(mine.brand_name, 'fender ');
    assert.equal(mine.product_model_name, ' Stratocaster ');
    assert.equal(mine.product_price, 2500);
    assert.equal(mine.product_year, '1962');
    assert.equal(mine.category_name, 'Guitars>Electric solid body');
    assert.deepEqual(mine.image_names, ['img_1_a.jpg', 'img_2_b.jpg']);
    assert.equal(mine.source, 'form');
    assert.equal(mine.visible_in_export, false);

    const first = (await exportBytes(client)).toString('utf8');
    assert.ok(!first.includes(marker), 'not indexed yet');

    let found: string[] | undefined;
    for (let i = 0; i < 50 && !found; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const records = parseRecords(await exportBytes(client));
      found = records.find((r) => r[0] === String(mine.product_id));
    }
    assert.ok(found, 'listing appears in the export');
    assert.equal(found[7], sent);
    assert.equal(found[1], 'fender ');
    assert.equal(found[3], '');
    assert.equal(found[22], '3 Days');
    const final = await simState(sim, '?source=form');
    assert.equal(final.listings.find((l) => l.product_id === mine.product_id)?.visible_in_export, true);
  });

  test('validation errors show the form again and create nothing', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    const count = async () => (await simState(sim)).listings.length;
    const before = await count();
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ recipient_name: 'No Such Brand Co' }, /Unknown brand: No Such Brand Co/],
      [{ price: '' }, /Please enter a price/],
      [{ price: '12.5' }, /price/i],
      [{ model_name: '  ' }, /model name/],
      [{ categ_level_0: '' }, /category/],
      [{ categ_level_1: '86' }, /subcategory/i],
      [{ year: '62' }, /year/],
    ];
    for (const [overrides, message] of cases) {
      const res = await client.fetch('/instruments/add_edit_item', {
        method: 'POST',
        body: listingForm(overrides),
      });
      assert.equal(res.status, 200);
      const html = await res.text();
      const error = /<div class="error_message">([^<]*)<\/div>/.exec(html);
      assert.ok(error, `error shown for ${JSON.stringify(overrides)}`);
      assert.match(error[1] ?? '', message);
      assert.ok(html.includes('id="frm_step1"'));
      assert.ok(!html.includes('class="success_message"'));
    }
    assert.equal(await count(), before);
  });

  test('the download needs the export page first and its Referer', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    const direct = await client.get('/instruments/export_inventory/export_inventory', {
      referer: `${sim.url}/instruments/export_inventory`,
    });
    assert.equal(direct.status, 404);
    const page = await client.get('/instruments/export_inventory');
    assert.match(await page.text(), /href="\/instruments\/export_inventory\/export_inventory"/);
    const noReferer = await client.get('/instruments/export_inventory/export_inventory');
    assert.equal(noReferer.status, 404);
    const exportsBefore = (await simState(sim)).counters.exports;
    const ok = await client.get('/instruments/export_inventory/export_inventory', {
      referer: `${sim.url}/instruments/export_inventory`,
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.equal(ok.headers.get('content-disposition'), 'attachment; filename="inventory.csv"');
    await ok.arrayBuffer();
    assert.equal((await simState(sim)).counters.exports, exportsBefore + 1);
  });

  test('the export is RFC 4180 CSV with 27 named columns and a trailing comma', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    const bytes = await exportBytes(client);
    const records = parseRecords(bytes);
    const [header, ...rows] = records;
    assert.deepEqual(header, [...EXPORT_COLUMNS, '']);
    assert.equal(EXPORT_COLUMNS.length, 27);
    assert.ok(rows.length >= 200);
    for (const r of records) {
      assert.equal(r.length, 28);
      assert.equal(r[27], '');
    }
    // named columns, skipping the empty trailing one
    const objects = parse(bytes, {
      columns: (h: string[]) => h.map((name) => name || undefined),
      relax_column_count: false,
    }) as Record<string, string>[];
    assert.deepEqual(Object.keys(objects[0] ?? {}), [...EXPORT_COLUMNS]);
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
    assert.ok(bytes.toString('utf8').split('\n')[0]!.endsWith('external_link,'));
  });

  test('same seed gives identical export bytes, another seed different ones', async () => {
    const sims = await Promise.all([
      startSimulator({ catalogRows: 120, seed: 7 }),
      startSimulator({ catalogRows: 120, seed: 7 }),
      startSimulator({ catalogRows: 120, seed: 8 }),
    ]);
    try {
      const bodies = await Promise.all(
        sims.map(async (s) => {
          const c = new SimClient(s.url);
          await c.login();
          return exportBytes(c);
        }),
      );
      assert.ok(bodies[0]!.equals(bodies[1]!));
      assert.ok(!bodies[0]!.equals(bodies[2]!));
    } finally {
      await Promise.all(sims.map((s) => s.close()));
    }
  });

  test('export latency is spread over the download and the body stays complete', async () => {
    const slow = await startSimulator({ catalogRows: 60, exportLatencyMs: 100 });
    try {
      const c = new SimClient(slow.url);
      await c.login();
      const records = parseRecords(await exportBytes(c));
      assert.equal(records.length, 61);
    } finally {
      await slow.close();
    }
  });

  test('submitFailRate=1 answers 500 and creates nothing', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    const before = await simState(sim);
    assert.equal((await setFaults(sim, { submitFailRate: 1 })).submitFailRate, 1);
    try {
      const res = await client.fetch('/instruments/add_edit_item', { method: 'POST', body: listingForm() });
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
      const c = new SimClient(failing.url);
      await c.login();
      const res = await c.fetch('/instruments/add_edit_item', { method: 'POST', body: listingForm() });
      assert.equal(res.status, 500);
      await res.text();
      assert.equal(failing.state('form').listings.length, 0);
    } finally {
      await failing.close();
    }
  });

  test('failNextSubmits fails exactly the next n submits', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    await setFaults(sim, { failNextSubmits: 1 });
    const first = await client.fetch('/instruments/add_edit_item', { method: 'POST', body: listingForm() });
    assert.equal(first.status, 500);
    await first.text();
    const second = await client.fetch('/instruments/add_edit_item', { method: 'POST', body: listingForm() });
    assert.equal(second.status, 200);
    assert.match(await second.text(), /class="success_message"/);
  });

  test('hangNextSubmits creates the listing but never answers', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    const before = await simState(sim);
    await setFaults(sim, { hangNextSubmits: 1 });
    const desc = `<p>hang ${Date.now()}</p>`;
    await assert.rejects(
      client.fetch('/instruments/add_edit_item', {
        method: 'POST',
        body: listingForm({ item_desc: desc }),
        signal: AbortSignal.timeout(400),
      }),
      (err: Error) => err.name === 'TimeoutError' || err.name === 'AbortError',
    );
    const after = await simState(sim);
    assert.equal(after.counters.hungSubmissions, before.counters.hungSubmissions + 1);
    assert.ok(after.listings.some((l) => l.product_description === desc));
  });

  test('neverIndexNext keeps a new listing out of the export', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    await setFaults(sim, { neverIndexNext: 1, indexDelayMs: 0 });
    try {
      const desc = `<p>never ${Date.now()}</p>`;
      const res = await client.fetch('/instruments/add_edit_item', {
        method: 'POST',
        body: listingForm({ item_desc: desc }),
      });
      assert.match(await res.text(), /class="success_message"/);
      const listing = (await simState(sim)).listings.find((l) => l.product_description === desc);
      assert.equal(listing?.visible_in_export, false);
      assert.ok(!(await exportBytes(client)).toString('utf8').includes(desc));
    } finally {
      await setFaults(sim, { indexDelayMs: INDEX_DELAY_MS });
    }
  });

  test('truncateNextExports cuts the body inside a quoted field', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    await setFaults(sim, { truncateNextExports: 1 });
    const cut = await exportBytes(client);
    assert.throws(() => parseRecords(cut));
    const whole = await exportBytes(client);
    assert.ok(whole.length > cut.length);
    assert.doesNotThrow(() => parseRecords(whole));
  });

  test('failNextExports answers 503 with a maintenance page', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    await setFaults(sim, { failNextExports: 1 });
    const res = await client.downloadExport();
    assert.equal(res.status, 503);
    assert.match(await res.text(), /maintenance/);
  });

  test('down (and downUntil) answers 503 maintenance on every route, login and export included', async () => {
    const client = new SimClient(sim.url);
    await client.login();
    await setFaults(sim, { down: true });
    try {
      for (const response of [
        await client.get('/'),
        await client.postForm('/do_login', { username: 'demo', pass: 'demo', open_where: 'header' }),
        await client.get('/instruments/add_edit_item'),
        await client.postForm('/ajax/check_brand_exists', { brand_name: 'Fender' }),
        await client.downloadExport(),
      ]) {
        assert.equal(response.status, 503, response.url);
        assert.match(await response.text(), /maintenance/);
      }
      const res = await client.fetch('/instruments/add_edit_item', { method: 'POST', body: listingForm() });
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
    const client = new SimClient(sim.url);
    await client.login();
    const missing = await client.get('/no/such/page');
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /text\/html/);
  });

  test('close() ends hung requests', async () => {
    const s = await startSimulator({ catalogRows: 3 });
    const c = new SimClient(s.url);
    await c.login();
    s.setFaults({ hangNextSubmits: 1 });
    const pending = c.fetch('/instruments/add_edit_item', { method: 'POST', body: listingForm() });
    while (s.state().counters.hungSubmissions === 0) await new Promise((r) => setTimeout(r, 10));
    await s.close();
    await assert.rejects(pending);
  });
});

describe('simulator command', () => {
  test('rejects bad option values, naming the option', () => {
    assert.throws(() => parseSimulatorArgs(['--port', 'abc']), /--port/);
    assert.throws(() => parseSimulatorArgs(['--submit-fail-rate', '2']), /--submit-fail-rate/);
    assert.throws(() => parseSimulatorArgs(['--nope']), /nope/);
    assert.deepEqual(
      parseSimulatorArgs(['--catalog-rows', '10', '--submit-fail-rate', '0.5', '--username', 'u']),
      {
        catalogRows: 10,
        submitFailRate: 0.5,
        username: 'u',
      },
    );
  });

  test('prints its URL first and exits 0 on SIGTERM', async () => {
    const main = fileURLToPath(new URL('../src/simulator/main.ts', import.meta.url));
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
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
