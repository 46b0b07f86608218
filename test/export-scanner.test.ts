import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsvError, parse } from 'csv-parse';
import fc from 'fast-check';
import {
  ExportFormatError,
  type ExportRow,
  ExportTruncatedError,
  normalizeHeaderName,
  readExportRows,
  scanExport,
} from '../src/resolution/export-stream.ts';
import { EXPORT_COLUMNS } from '../src/vr/export-format.ts';

/**
 * The hand-written scanner against csv-parse (what the export was read with before): on generated
 * files with quotes, commas, CR/LF inside fields, multi-byte and invalid UTF-8, cut anywhere and
 * chunked anywhere, both give the same rows, or both refuse the file the same way.
 */

type Outcome = { rows: ExportRow[] } | { error: 'truncated' | 'format' };

/** csv-parse's records up to its first error (a stream hands those over before it fails). */
async function csvParse(text: string): Promise<{ records: string[][]; error?: 'truncated' | 'format' }> {
  const records: string[][] = [];
  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true });
  parser.on('data', (r: string[]) => records.push(r));
  const done = new Promise<'truncated' | 'format' | undefined>((resolve) => {
    parser.on('end', () => resolve(undefined));
    parser.on('error', (error) =>
      resolve(error instanceof CsvError && error.code === 'CSV_QUOTE_NOT_CLOSED' ? 'truncated' : 'format'),
    );
  });
  parser.end(text);
  const error = await done;
  return error ? { records, error } : { records };
}

/** The previous reader: csv-parse records, then the same header, column-count and id rules, in order. */
async function reference(bytes: Uint8Array): Promise<Outcome> {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const { records, error } = await csvParse(text);
  const rowsOrError = checkRecords(records, error === undefined);
  if ('error' in rowsOrError) return rowsOrError;
  return error ? { error } : rowsOrError;
}

function checkRecords(records: string[][], complete: boolean): Outcome {
  const [head, ...rest] = records;
  if (!head) return complete ? { error: 'format' } : { rows: [] };
  const index = new Map<string, number>();
  head.forEach((name, i) => {
    const key = normalizeHeaderName(name);
    if (key !== '' && !index.has(key)) index.set(key, i);
  });
  for (const c of ['product_id', 'brand_name', 'product_model_name', 'product_description']) {
    if (!index.has(c)) return { error: 'format' };
  }
  const at = (name: string) => index.get(name) ?? -1;
  const get = (r: string[], name: string) => (at(name) < 0 ? '' : (r[at(name)] ?? ''));
  const rows: ExportRow[] = [];
  for (const [i, r] of rest.entries()) {
    if (r.length > head.length) return { error: 'format' };
    if (r.length < head.length) {
      if (i < rest.length - 1) return { error: 'format' };
      if (complete) return { error: 'truncated' };
      break;
    }
    const id = get(r, 'product_id').trim();
    if (!/^[1-9][0-9]*$/.test(id) || !Number.isSafeInteger(Number(id))) return { error: 'format' };
    const num = get(r, 'product_price').trim();
    const year = get(r, 'product_year').trim();
    rows.push({
      productId: Number(id),
      brandName: get(r, 'brand_name'),
      modelName: get(r, 'product_model_name'),
      description: get(r, 'product_description'),
      price: at('product_price') >= 0 && /^-?[0-9]+(?:\.[0-9]+)?$/.test(num) ? Number(num) : null,
      year: at('product_year') >= 0 && /^[0-9]{4}$/.test(year) ? Number(year) : null,
      finish: get(r, 'product_finish'),
      categoryName: get(r, 'category_name'),
    });
  }
  return { rows };
}

async function scanner(bytes: Uint8Array, sizes: number[]): Promise<Outcome> {
  async function* chunks() {
    let at = 0;
    let i = 0;
    while (at < bytes.length) {
      const size = Math.max(1, sizes[i++ % sizes.length] ?? 1);
      yield bytes.subarray(at, at + size);
      at += size;
    }
  }
  const rows: ExportRow[] = [];
  try {
    for await (const row of readExportRows(chunks())) rows.push(row);
  } catch (error) {
    if (error instanceof ExportTruncatedError) return { error: 'truncated' };
    if (error instanceof ExportFormatError) return { error: 'format' };
    throw error;
  }
  return { rows };
}

const enc = (s: string) => Buffer.from(s, 'utf8');
const quoteIfNeeded = (v: Buffer) =>
  /[",\r\n]/.test(v.toString('latin1'))
    ? Buffer.concat([
        enc('"'),
        enc(v.toString('latin1').replace(/"/g, '""')).length
          ? Buffer.from(v.toString('latin1').replace(/"/g, '""'), 'latin1')
          : v,
        enc('"'),
      ])
    : v;

// Field content: ASCII with the CSV specials, multi-byte UTF-8 and invalid bytes.
const piece = fc.oneof(
  fc.constantFrom('a', 'Fender', ' ', '"', ',', '\n', '\r\n', '\r', '""', '<p>', 'é', '🎸', '—', '1965', '0'),
  fc.constantFrom(
    Buffer.from([0x80]),
    Buffer.from([0xe2, 0x82]),
    Buffer.from([0xff]),
    Buffer.from([0xf0, 0x9f]),
  ),
);
const field = fc
  .array(piece, { maxLength: 6 })
  .map((parts) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? enc(p) : p))));
const idField = fc.oneof(
  fc.integer({ min: 1, max: 10_000_000 }).map((n) => enc(String(n))),
  fc.constantFrom(enc(' 42 '), enc('0'), enc('x')),
);
const row = fc.tuple(
  idField,
  fc.array(field, { minLength: EXPORT_COLUMNS.length - 1, maxLength: EXPORT_COLUMNS.length - 1 }),
);

function file(rows: Array<[Buffer, Buffer[]]>, crlf: boolean, bom: boolean): Buffer {
  const eol = enc(crlf ? '\r\n' : '\n');
  const lines = [Buffer.concat([enc(`${bom ? '\uFEFF' : ''}${EXPORT_COLUMNS.join(',')},`), eol])];
  for (const [id, rest] of rows) {
    const values = [id, ...rest].map(quoteIfNeeded);
    const parts: Buffer[] = [];
    values.forEach((v, i) => {
      if (i) parts.push(enc(','));
      parts.push(v);
    });
    parts.push(enc(','), eol);
    lines.push(Buffer.concat(parts));
  }
  return Buffer.concat(lines);
}

test('the scanner reads what csv-parse read, whole or cut anywhere, in any chunks', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(row, { maxLength: 6 }),
      fc.boolean(),
      fc.boolean(),
      fc.option(fc.nat(), { nil: undefined }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 4 }),
      async (rows, crlf, bom, cut, sizes) => {
        const whole = file(rows, crlf, bom);
        const bytes = cut === undefined ? whole : whole.subarray(0, cut % (whole.length + 1));
        assert.deepEqual(await scanner(bytes, sizes), await reference(bytes));
      },
    ),
    { numRuns: 400 },
  );
});

test('minProductId: rows at or below it are counted but not handed over', async () => {
  const rows: Array<[Buffer, Buffer[]]> = [10, 20, 30, 40].map((id) => [
    enc(String(id)),
    Array.from({ length: EXPORT_COLUMNS.length - 1 }, (_, i) => enc(i === 6 ? `"multi\nline" ${id}` : 'x')),
  ]);
  const bytes = file(rows, false, false);
  const seen: number[] = [];
  async function* one() {
    yield bytes;
  }
  const stats = await scanExport(one(), (r) => seen.push(r.productId), { minProductId: 20 });
  assert.deepEqual(seen, [30, 40]);
  assert.deepEqual(stats, { bytes: bytes.length, rows: 4, maxProductId: 40 });
});
