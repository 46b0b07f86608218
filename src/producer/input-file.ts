import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';

async function readAll(path: string): Promise<string> {
  if (path !== '-') return readFile(path, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const NUMERIC_FIELDS = new Set(['price', 'year']);

/** A CSV cell is text; turn the typed columns into what the JSON form would carry. */
function fromCsvCell(field: string, value: string): unknown {
  if (NUMERIC_FIELDS.has(field)) return /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
  if (field === 'allowFallbackBrand') {
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
    Object.fromEntries(
      columns.flatMap((key, index) => {
        const value = record[index] ?? '';
        return key === '' || value === '' ? [] : [[key, fromCsvCell(key, value)]];
      }),
    ),
  );
}
