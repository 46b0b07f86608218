import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ExportFormatError,
  type ExportRow,
  ExportTruncatedError,
  normalizeHeaderName,
  readExportRows,
  scanExport,
} from '../../src/resolution/export-stream.ts';
import { EXPORT_COLUMNS } from '../../src/vr/export-format.ts';

const COLUMNS = EXPORT_COLUMNS;

const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

interface GenRow {
  id: string;
  brand: string;
  model: string;
  price: string;
  description: string;
  year: string;
  finish: string;
}

/** One line of the export, in the real column order, with the trailing comma. */
function line(r: GenRow): string {
  const values: Record<string, string> = {
    product_id: r.id,
    brand_name: r.brand,
    category_name: 'Guitars>Electric solid body',
    product_model_name: r.model,
    product_price: r.price,
    product_description: r.description,
    product_year: r.year,
    product_finish: r.finish,
    product_sold: 'no',
    image_url: 'https://example.test/a.jpg|https://example.test/b.jpg',
  };
  return `${COLUMNS.map((c) => quote(values[c] ?? '')).join(',')},\n`;
}

function header(names: readonly string[] = COLUMNS): string {
  return `${names.join(',')},\n`;
}

const ROWS: GenRow[] = [
  {
    id: '56165',
    brand: 'British Pedal Company',
    model: 'PROFESSIONAL MK11 TONE BENDER OC75 ',
    price: '239',
    description:
      '<p><strong>BPC Tone Bender</strong></p>\n<p>OC75&rsquo;s, "quoted", commas, and ünïcödé — ✓ 🎸</p>\n<ul>\n<li>One</li>\n</ul>',
    year: '2019',
    finish: 'Grey',
  },
  {
    id: '56167',
    brand: 'Smith, "Quoted" & Co',
    model: "'59 Les Paul",
    price: '2799',
    description: 'plain, single line',
    year: '',
    finish: 'Folded Metal Casing ',
  },
  {
    id: '68523',
    brand: 'fender',
    model: 'Stratocaster',
    price: '5999',
    description: '<p>Line one\r\nLine two</p>\n\n<p>après "ski"</p>',
    year: '1965',
    finish: '',
  },
];

async function* chunks(bytes: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const size = sizes[i++ % sizes.length] ?? 1;
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<ExportRow[]> {
  const rows: ExportRow[] = [];
  for await (const row of readExportRows(source)) rows.push(row);
  return rows;
}

const encode = (s: string) => new TextEncoder().encode(s);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// An invalid UTF-8 sequence (a lone continuation byte and a truncated 3-byte lead) in a model name.
const INVALID = (() => {
  const bytes = encode(
    line({
      id: '70001',
      brand: 'Gibson',
      model: 'Bad XX Name',
      price: '100',
      description: '<p>x</p>',
      year: '',
      finish: '',
    }),
  );
  const at = Buffer.from(bytes).indexOf('XX');
  return concat(bytes.subarray(0, at), new Uint8Array([0x80, 0xe2, 0x82]), bytes.subarray(at + 2));
})();

function sampleBytes(names?: string[]): Uint8Array {
  return concat(encode(header(names)), ...ROWS.map((r) => encode(line(r))), INVALID);
}

function expectRows(rows: ExportRow[]): void {
  assert.equal(rows.length, 4);
  const [a, b, c, d] = rows as [ExportRow, ExportRow, ExportRow, ExportRow];
  assert.deepEqual(a, {
    productId: 56165,
    brandName: 'British Pedal Company',
    modelName: 'PROFESSIONAL MK11 TONE BENDER OC75 ',
    description: ROWS[0]!.description,
    price: 239,
    year: 2019,
    finish: 'Grey',
    categoryName: 'Guitars>Electric solid body',
    sold: false,
  });
  assert.equal(b.brandName, 'Smith, "Quoted" & Co');
  assert.equal(b.modelName, "'59 Les Paul");
  assert.equal(b.year, null);
  assert.equal(b.finish, 'Folded Metal Casing ');
  assert.equal(c.description, ROWS[2]!.description);
  assert.equal(c.year, 1965);
  assert.equal(d.productId, 70001);
  assert.equal(d.modelName, 'Bad \uFFFD\uFFFD Name');
  assert.equal(d.price, 100);
  assert.equal(d.year, null);
}

test('header names are normalised', () => {
  assert.equal(normalizeHeaderName(' Product ID '), 'product_id');
  assert.equal(normalizeHeaderName('\uFEFFproduct_id'), 'product_id');
  assert.equal(normalizeHeaderName('Product  Model Name'), 'product_model_name');
});

test('reads a generated export in one chunk', async () => {
  expectRows(await collect(chunks(sampleBytes(), [1 << 20])));
});

test('reads the export chunked at every awkward boundary', async () => {
  const bytes = sampleBytes();
  // One byte at a time splits every multi-byte character, every quote pair and every CRLF.
  expectRows(await collect(chunks(bytes, [1])));
  for (const sizes of [[2], [3], [7, 1, 13], [64, 5], [1000, 1, 1, 1]]) {
    expectRows(await collect(chunks(bytes, sizes)));
  }
  // Split exactly inside the 4-byte emoji and inside a doubled quote.
  const emoji = bytes.indexOf(0xf0);
  const doubled = Buffer.from(bytes).indexOf('""');
  assert.ok(emoji > 0 && doubled > 0);
  for (const cut of [emoji + 1, emoji + 2, emoji + 3, doubled + 1]) {
    async function* two() {
      yield bytes.subarray(0, cut);
      yield bytes.subarray(cut);
    }
    expectRows(await collect(two()));
  }
});

test('accepts a "Product ID" style header, a BOM and CRLF line ends', async () => {
  const names = COLUMNS.map((c) => c.replace(/_/g, ' ').replace(/\b\w/g, (m) => m.toUpperCase()));
  assert.equal(names[0], 'Product Id');
  expectRows(await collect(chunks(sampleBytes(names), [17])));
  const crlf = `\uFEFF${header().replace('\n', '\r\n')}${line(ROWS[1]!).replace(/\n$/, '\r\n')}`;
  const rows = await collect(chunks(encode(crlf), [5]));
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.productId, 56167);
});

test('scanExport counts bytes, rows and the highest product_id', async () => {
  const bytes = sampleBytes();
  const ids: number[] = [];
  const stats = await scanExport(chunks(bytes, [100]), (row) => ids.push(row.productId));
  assert.deepEqual(stats, { bytes: bytes.length, rows: 4, maxProductId: 70001 });
  assert.deepEqual(ids, [56165, 56167, 68523, 70001]);
  const empty = await scanExport(chunks(encode(header()), [10]), () => {});
  assert.deepEqual(empty, { bytes: header().length, rows: 0, maxProductId: 0 });
});

test('a file cut inside a quoted field throws ExportTruncatedError', async () => {
  const bytes = sampleBytes();
  const text = Buffer.from(bytes).toString('utf8');
  const cut = text.indexOf('<ul>');
  await assert.rejects(collect(chunks(encode(text.slice(0, cut)), [50])), ExportTruncatedError);
});

test('a file cut in the middle of a record throws ExportTruncatedError', async () => {
  const text = header() + line(ROWS[1]!) + line(ROWS[2]!).slice(0, 20);
  await assert.rejects(collect(chunks(encode(text), [7])), ExportTruncatedError);
});

test('a record with another column count throws ExportFormatError with its line', async () => {
  const short = `${header()}1,fender,x,,Strat,100\n${line(ROWS[1]!)}`;
  await assert.rejects(collect(chunks(encode(short), [9])), (err: unknown) => {
    assert.ok(err instanceof ExportFormatError);
    assert.ok(!(err instanceof ExportTruncatedError));
    assert.equal(err.line, 2);
    return true;
  });
  const long = `${header()}${line(ROWS[1]!).replace('\n', ',extra\n')}`;
  await assert.rejects(collect(chunks(encode(long), [9])), /fields.*line 2/);
});

test('a missing required column throws ExportFormatError naming it', async () => {
  for (const missing of ['product_id', 'brand_name', 'product_model_name', 'product_description']) {
    const names = COLUMNS.map((c) => (c === missing ? 'something_else' : c));
    await assert.rejects(collect(chunks(encode(header(names)), [9])), (err: unknown) => {
      assert.ok(err instanceof ExportFormatError);
      assert.match(err.message, new RegExp(missing));
      return true;
    });
  }
  await assert.rejects(collect(chunks(encode(''), [9])), ExportFormatError);
});

test('a product_id that is not a positive integer throws', async () => {
  for (const id of ['abc', '0', '-3', '1.5', '']) {
    const text = header() + line({ ...ROWS[1]!, id });
    await assert.rejects(collect(chunks(encode(text), [9])), ExportFormatError, id);
  }
});

test('a failing source rejects, and stopping early closes the source', async () => {
  async function* failing() {
    yield encode(header());
    throw new Error('connection reset');
  }
  await assert.rejects(collect(failing()), /connection reset/);

  let closed = false;
  async function* endless() {
    try {
      yield encode(header());
      for (let i = 1; ; i++) yield encode(line({ ...ROWS[1]!, id: String(i) }));
    } finally {
      closed = true;
    }
  }
  let n = 0;
  for await (const _row of readExportRows(endless())) if (++n === 5) break;
  await new Promise((r) => setImmediate(r));
  assert.equal(closed, true);
});

test('streams: rows come out before the source ends', async () => {
  let released: () => void = () => {};
  const gate = new Promise<void>((r) => {
    released = r;
  });
  async function* slow() {
    // csv-parse keeps the last few bytes until it knows the line ending: one row more before the gate.
    yield encode(header() + line(ROWS[1]!) + line(ROWS[0]!));
    await gate;
    yield encode(line(ROWS[2]!));
  }
  const it = readExportRows(slow());
  const first = await it.next();
  assert.equal(first.done, false);
  assert.equal(first.value?.productId, 56167);
  released();
  const rest: ExportRow[] = [];
  for await (const row of it) rest.push(row);
  assert.deepEqual(
    rest.map((r) => r.productId),
    [56165, 68523],
  );
});

test('minProductId: rows at or below it are counted but not handed over', async () => {
  const text =
    header() +
    [10, 20, 30, 40]
      .map((id) => line({ ...ROWS[0]!, id: String(id), description: `"multi\nline" ${id}` }))
      .join('');
  const bytes = encode(text);
  const seen: number[] = [];
  const stats = await scanExport(chunks(bytes, [33]), (r) => seen.push(r.productId), { minProductId: 20 });
  assert.deepEqual(seen, [30, 40]);
  assert.deepEqual(stats, { bytes: bytes.length, rows: 4, maxProductId: 40 });
});

test("a trailing comma on the header only, and V&R's own header (spaces, another order) are read", async () => {
  // Data rows without the trailing comma the header has.
  const rowsOnly = Buffer.from(sampleBytes()).subarray(header().length).toString('latin1');
  const noComma = Buffer.from(header() + rowsOnly.replace(/,\n/g, '\n'), 'latin1');
  assert.equal(noComma.length, sampleBytes().length - ROWS.length - 1);
  expectRows(await collect(chunks(noComma, [11])));

  // V&R's template: `brand name, category name, product id, external id, ...`, no trailing comma anywhere.
  const order: string[] = ['brand_name', 'category_name', 'product_id', 'external_id'];
  const names = [...order, ...COLUMNS.filter((c) => !order.includes(c))];
  const reordered = ROWS.map((r) => {
    const fields = line(r)
      .replace(/,\n$/, '')
      .match(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)!;
    const byName = new Map<string, string>(COLUMNS.map((c, i) => [c, fields[i]!.replace(/,$/, '')]));
    return `${names.map((n) => byName.get(n)).join(',')}\n`;
  });
  const text = `${names.map((n) => n.replace(/_/g, ' ')).join(',')}\n${reordered.join('')}`;
  const rows = await collect(chunks(encode(text), [64]));
  assert.deepEqual(
    rows.map((r) => [r.productId, r.brandName, r.modelName, r.price]),
    ROWS.map((r) => [Number(r.id), r.brand, r.model, Number(r.price)]),
  );
});

test('rows keep the form of the first one: a last row cut before its trailing comma is truncated', async () => {
  const text = header() + line(ROWS[1]!) + line(ROWS[2]!).replace(/,\n$/, '');
  await assert.rejects(collect(chunks(encode(text), [13])), ExportTruncatedError);
  // A row with an extra non-empty field is a format error, not a trailing comma.
  const extra = header() + line(ROWS[1]!).replace(/,\n$/, ',x\n');
  await assert.rejects(collect(chunks(encode(extra), [13])), (err: unknown) => {
    assert.ok(err instanceof ExportFormatError && !(err instanceof ExportTruncatedError));
    return true;
  });
});

test('a quote inside an unquoted field, or text after a closing quote, is not valid CSV', async () => {
  for (const bad of ['56167,Fen"der', '56167,"Fender"x']) {
    const text = `${header()}${bad}${',x'.repeat(COLUMNS.length - 2)},\n`;
    await assert.rejects(collect(chunks(encode(text), [5])), (err: unknown) => {
      assert.ok(err instanceof ExportFormatError && !(err instanceof ExportTruncatedError));
      assert.equal(err.line, 2);
      return true;
    });
  }
});

test('a file on disk as the body: read whole, and closed when the export is refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vrl-export-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.csv');
  await writeFile(good, sampleBytes());
  const ids: number[] = [];
  const stats = await scanExport(createReadStream(good, { highWaterMark: 64 }), (row) =>
    ids.push(row.productId),
  );
  assert.deepEqual(ids, [56165, 56167, 68523, 70001]);
  assert.equal(stats.bytes, sampleBytes().length);

  const cut = join(dir, 'cut.csv');
  await writeFile(cut, header() + line(ROWS[1]!) + line(ROWS[2]!).slice(0, 20));
  const body = createReadStream(cut, { highWaterMark: 16 });
  await assert.rejects(
    scanExport(body, () => {}),
    ExportTruncatedError,
  );
  await new Promise((r) => setImmediate(r));
  assert.equal(body.destroyed, true, 'the file is closed');

  // Refused early, with most of the file still unread: closed too.
  const bad = join(dir, 'bad.csv');
  const rest = Array.from({ length: 500 }, (_, i) => line({ ...ROWS[1]!, id: String(i + 10) })).join('');
  await writeFile(bad, header() + line({ ...ROWS[1]!, id: 'x' }) + rest);
  const early = createReadStream(bad, { highWaterMark: 256 });
  await assert.rejects(
    scanExport(early, () => {}),
    /product_id "x"/,
  );
  await new Promise((r) => setImmediate(r));
  assert.equal(early.destroyed, true, 'the file is closed');
  assert.ok(early.bytesRead < 500 * 100, `stopped reading (${early.bytesRead} bytes)`);
});
