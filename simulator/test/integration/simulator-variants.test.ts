/**
 * Every variant: the gate refuses Node's fetch and Playwright's request context on every route,
 * cookie or not; and the inventory export is a file the real sample's quirks would fit. Header names
 * match after normalising (lower case, spaces to underscores), in the sample's order or V&R's
 * template order; a trailing comma on the header, and on every row or none; CRLF line ends;
 * categories that are leaves of the shipped tree. When ../shared/vr-reference/ is there, the
 * sample itself is checked too, in variant 0's export test.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { request } from 'playwright-core';
import { EXPORT_COLUMNS, resolveCategory, shippedCategoryTree } from 'vr-lister/site-data';
import { type Simulator, startSimulator, VARIANTS } from '../../src/server.ts';
import { BrowserLikeClient, GATED_ROUTES, TEST_USER_AGENT } from '../helpers/sim-http.ts';

const SAMPLE = process.env.VR_REFERENCE_DIR
  ? `${process.env.VR_REFERENCE_DIR}/inventory-sample.csv`
  : fileURLToPath(new URL('../../../../shared/vr-reference/inventory-sample.csv', import.meta.url));

const normalise = (name: string) => name.trim().toLowerCase().replace(/\s+/g, '_');

interface ParsedExport {
  header: string[];
  rows: Record<string, string>[];
  /** Fields per data record, as read. */
  widths: Set<number>;
  text: string;
}

function read(bytes: Buffer): ParsedExport {
  const records = parse(bytes, { bom: true, relax_column_count: true }) as string[][];
  const [rawHeader, ...data] = records;
  const header = rawHeader!.map(normalise);
  const rows = data.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
  return { header, rows, widths: new Set(data.map((r) => r.length)), text: bytes.toString('latin1') };
}

/** Line ends outside quoted fields. */
function recordEnds(text: string): { crlf: number; lf: number; withComma: number; lines: number } {
  let quoted = false;
  let crlf = 0;
  let lf = 0;
  let withComma = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\n' && !quoted) {
      if (text[i - 1] === '\r') crlf++;
      else lf++;
      if (text[i - (text[i - 1] === '\r' ? 2 : 1)] === ',') withComma++;
    }
  }
  return { crlf, lf, withComma, lines: crlf + lf };
}

describe('every variant: the gate, and an export the real sample would fit', () => {
  const sample = existsSync(SAMPLE) ? read(readFileSync(SAMPLE)) : undefined;
  const tree = shippedCategoryTree();
  const sims: Simulator[] = [];

  before(async () => {
    for (const v of VARIANTS) sims.push(await startSimulator({ catalogRows: 300, seed: 13, variant: v.id }));
  });
  after(async () => {
    await Promise.all(sims.map((s) => s.close()));
  });

  for (const v of VARIANTS) {
    test(`variant ${v.id}: Node fetch and Playwright's request context get 403 cf-mitigated: challenge on every route, even with a valid cookie`, async () => {
      const sim = sims[v.id]!;
      // A logged-in session with a clearance for this User-Agent: everything but a browser's headers.
      const person = await BrowserLikeClient.create(sim.url);
      assert.equal((await person.login()).status, 302);
      const cookie = [...person.cookies].map(([k, val]) => `${k}=${val}`).join('; ');
      const before = sim.state().counters;
      const api = await request.newContext({
        baseURL: sim.url,
        extraHTTPHeaders: { cookie, 'user-agent': TEST_USER_AGENT },
      });
      try {
        for (const [method, path] of GATED_ROUTES) {
          const body = method === 'POST' ? 'brand_name=Fender&product_id=50001' : undefined;
          const viaFetch = await fetch(sim.url + path, {
            method,
            headers: {
              cookie,
              'user-agent': TEST_USER_AGENT,
              'content-type': 'application/x-www-form-urlencoded',
            },
            redirect: 'manual',
            ...(body ? { body } : {}),
          });
          assert.equal(viaFetch.status, 403, `fetch ${method} ${path}`);
          assert.equal(viaFetch.headers.get('cf-mitigated'), 'challenge');
          assert.match(await viaFetch.text(), /<title>Just a moment\.\.\.<\/title>/);
          const viaRequest = await api.fetch(path, {
            method,
            maxRedirects: 0,
            ...(body ? { data: body } : {}),
          });
          assert.equal(viaRequest.status(), 403, `context.request ${method} ${path}`);
          assert.equal(viaRequest.headers()['cf-mitigated'], 'challenge');
        }
      } finally {
        await api.dispose();
      }
      const after = sim.state().counters;
      assert.equal(after.refusedRequests, before.refusedRequests + GATED_ROUTES.length * 2);
      assert.equal(after.brandChecks, before.brandChecks);
      assert.equal(after.exports, before.exports);
      assert.equal(after.logins, before.logins);
      // The same session still works for a browser-like client.
      assert.equal((await person.get('/account')).status, 200);
    });
  }

  for (const v of VARIANTS) {
    test(`variant ${v.id}: ${v.export.contentType}, ${v.export.headerSpelling}, ${v.export.columnOrder} order, trailing comma ${v.export.trailingComma}`, async () => {
      const sim = sims[v.id]!;
      const client = await BrowserLikeClient.create(sim.url);
      assert.equal((await client.login()).status, 302);
      const res = await client.downloadExport();
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), v.export.contentType);
      assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename=\S+\.csv"?$/);
      const bytes = Buffer.from(await res.arrayBuffer());
      const ours = read(bytes);
      // The captured sample, when ../shared/vr-reference/ is there: what these checks expect of V&R.
      if (sample && v.id === 0) {
        assert.deepEqual(sample.header.filter(Boolean), [...EXPORT_COLUMNS]);
        const sampleEnds = recordEnds(sample.text);
        assert.equal(sampleEnds.lf, 0, 'the sample ends its records with CRLF');
        assert.equal(sampleEnds.withComma, sampleEnds.lines, 'and with a trailing comma on every line');
        for (const row of sample.rows)
          assert.ok(resolveCategory(tree, row.category_name ?? '').ok, row.category_name);
      }

      // Header: the 27 columns by normalised name, spelt and ordered per variant, then the trailing comma.
      assert.equal(ours.header.at(-1), '', 'the header ends with a comma');
      const names = ours.header.slice(0, -1);
      assert.deepEqual([...names].sort(), [...EXPORT_COLUMNS].sort());
      if (v.export.columnOrder === 'template') {
        assert.deepEqual(names.slice(0, 4), ['brand_name', 'category_name', 'product_id', 'external_id']);
      } else {
        assert.deepEqual(names, [...EXPORT_COLUMNS]);
      }
      const rawHeader = bytes.subarray(0, bytes.indexOf(0x0d)).toString('utf8');
      assert.equal(rawHeader.includes('product id'), v.export.headerSpelling === 'spaces');
      assert.equal(rawHeader.includes('product_id'), v.export.headerSpelling === 'underscores');

      // Records: CRLF as in the sample; a trailing comma on every row, or on the header only.
      const ends = recordEnds(ours.text);
      assert.equal(ends.lf, 0);
      assert.deepEqual([...ours.widths], [v.export.trailingComma === 'every-row' ? 28 : 27]);
      // (With the header-only comma, a row may still end in "," when external_link is empty: the width tells.)
      if (v.export.trailingComma === 'every-row') assert.equal(ends.withComma, ends.lines);

      // The sample's quirks.
      const rows = ours.rows;
      assert.ok(rows.length >= 300);
      assert.ok(
        rows.every((r) => r.external_id === ''),
        'external_id always empty',
      );
      assert.ok(
        rows.every((r) => /^\d+$/.test(r.product_price ?? '')),
        'integer prices',
      );
      assert.ok(
        rows.some((r) => r.product_year === ''),
        'empty years',
      );
      assert.ok(
        rows.some((r) => /^\s|\s$/.test(r.product_model_name ?? '')),
        'padded model names',
      );
      assert.ok(
        rows.some((r) => (r.product_description ?? '').includes('\n')),
        'multi-line descriptions',
      );
      assert.ok(
        rows.some((r) => (r.product_description ?? '').includes('"')),
        'quotes inside descriptions',
      );
      assert.ok(
        rows.some((r) => (r.brand_name ?? '').includes(',')),
        'a brand with a comma',
      );
      const brands = new Set(rows.map((r) => r.brand_name));
      assert.ok(brands.has('fender') && brands.has('Fender'), 'brands not normalised');
      assert.ok(
        rows.every((r) => resolveCategory(tree, r.category_name ?? '').ok),
        'every category a leaf',
      );
      assert.ok(
        rows.every((r) => (r.image_url ?? '').split('|').every((u) => u === '' || u.startsWith('https://'))),
      );
      const ids = rows.map((r) => Number(r.product_id));
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, 'ids grow');
      assert.throws(
        () => new TextDecoder('utf-8', { fatal: true }).decode(bytes),
        'some bytes are not UTF-8',
      );

      // The export faults work in every format: a body cut inside a quoted field, a shrunken file.
      sim.setFaults({ truncateNextExports: 1 });
      const cut = Buffer.from(await (await client.downloadExport()).arrayBuffer());
      assert.throws(() => parse(cut, { bom: true, relax_column_count: true }));
      sim.setFaults({ shrinkNextExports: 1 });
      const shrunk = read(Buffer.from(await (await client.downloadExport()).arrayBuffer()));
      assert.ok(shrunk.rows.length > 0 && shrunk.rows.length <= rows.length / 5);
      assert.equal(shrunk.rows.at(-1)?.product_id, rows.at(-1)?.product_id);

      if (sample) {
        // Same value shapes as the sample, column by column.
        for (const column of [
          'product_sold',
          'buy_now',
          'local_pickup',
          'available_for_shipment',
          'show_vat',
        ]) {
          const theirs = new Set(sample.rows.map((r) => r[column]));
          assert.ok(
            [...theirs].every((x) => x === 'yes' || x === 'no'),
            column,
          );
          assert.ok(
            rows.every((r) => r[column] === 'yes' || r[column] === 'no'),
            column,
          );
        }
        const processing = /^\d+ (Days|Weeks|Months)$/;
        assert.ok(sample.rows.every((r) => processing.test(r.processing_time ?? '')));
        assert.ok(rows.every((r) => processing.test(r.processing_time ?? '')));
      }
    });
  }
});
