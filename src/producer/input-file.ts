import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { SHIPPING_REGIONS } from '../listing/listing.ts';

async function readAll(path: string): Promise<string> {
  if (path !== '-') return readFile(path, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const NUMERIC_FIELDS = new Set([
  'price',
  'year',
  'shipping.uk',
  'shipping.europe',
  'shipping.usa',
  'shipping.world',
]);
const BOOLEAN_FIELDS = new Set([
  'allowFallbackBrand',
  'shipping.localPickup',
  'buyNow',
  'showVat',
  'callForPrice',
  'onDealersCollective',
]);

/** A CSV cell is text; turn the typed columns into what the JSON form would carry. */
function fromCsvCell(field: string, value: string): unknown {
  if (NUMERIC_FIELDS.has(field)) return /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
  if (BOOLEAN_FIELDS.has(field)) {
    const v = value.trim().toLowerCase();
    return v === 'true' || v === '1' || v === 'yes'
      ? true
      : v === 'false' || v === '0' || v === 'no'
        ? false
        : value;
  }
  if (field === 'images') return value.split(/[\s|]+/).filter(Boolean);
  return value;
}

/** Listings from a JSON array (or one object) or a CSV file with a header row; `-` is stdin. */
export async function readListingsFile(path: string): Promise<unknown[]> {
  const text = await readAll(path);
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let data: unknown;
    try {
      data = JSON.parse(trimmed);
    } catch (error) {
      throw new Error(`${path}: not valid JSON: ${(error as Error).message}`);
    }
    return Array.isArray(data) ? data : [data];
  }
  let rows: string[][];
  try {
    // Rows as arrays: assigning a `__proto__` column to an object would drop it silently, where
    // every other unknown column is reported (Object.fromEntries makes it an own, visible key).
    rows = parse(text, { skip_empty_lines: true, bom: true, trim: false });
  } catch (error) {
    throw new Error(`${path}: not valid CSV: ${(error as Error).message}`);
  }
  const [header = [], ...records] = rows;
  const columns = header.map((name) => name.trim());
  return records.map((record) =>
    nestShipping(
      Object.fromEntries(
        columns.flatMap((key, index) => {
          const value = record[index] ?? '';
          return key === '' || value === '' ? [] : [[key, fromCsvCell(key, value)]];
        }),
      ),
    ),
  );
}

/**
 * `shipping.uk` … `shipping.world` and `shipping.localPickup` columns → `shipping: { fees, localPickup }`.
 * A row with none of them leaves shipping to the defaults (VR_SHIPPING_FEES, VR_LOCAL_PICKUP).
 */
function nestShipping(row: Record<string, unknown>): Record<string, unknown> {
  // Entries, then Object.fromEntries: a `__proto__` key stays an own key the validation names.
  const out: [string, unknown][] = [];
  const fees: [string, unknown][] = [];
  const shipping: [string, unknown][] = [];
  for (const [key, value] of Object.entries(row)) {
    const m = /^shipping\.(.+)$/.exec(key);
    if (!m) out.push([key, value]);
    // Anything else under shipping. is kept as is, and the validation names it.
    else if ((SHIPPING_REGIONS as readonly string[]).includes(m[1]!)) fees.push([m[1]!, value]);
    else shipping.push([m[1]!, value]);
  }
  if (fees.length) shipping.push(['fees', Object.fromEntries(fees)]);
  if (shipping.length) out.push(['shipping', Object.fromEntries(shipping)]);
  return Object.fromEntries(out);
}
