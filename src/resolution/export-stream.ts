/**
 * Streams the V&R inventory export (CSV) into rows, without holding the file in memory.
 * Bytes are decoded leniently (invalid UTF-8 becomes U+FFFD), the header is matched by name
 * (`Product ID` = `product_id`), and anything that looks like a damaged file throws: a matcher
 * must never work from half an export.
 */
import { pipeline, Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';

export interface ExportRow {
  productId: number;
  brandName: string;
  modelName: string;
  description: string;
  price: number | null;
  year: number | null;
  finish: string;
  categoryName: string;
}

export interface ExportStats {
  bytes: number;
  rows: number;
  /** Highest product_id seen, 0 for an export without rows. */
  maxProductId: number;
}

export interface ReadExportOptions {
  /** Called with the size of every chunk read from the source. */
  onBytes?: (n: number) => void;
}

/** The export can't be read as a V&R inventory export (header, column count, a bad product_id). */
export class ExportFormatError extends Error {
  readonly line: number | undefined;
  constructor(message: string, line?: number) {
    super(line === undefined ? message : `${message} (line ${line})`);
    this.name = 'ExportFormatError';
    this.line = line;
  }
}

/** The export ends in the middle of a record: the download was cut short. */
export class ExportTruncatedError extends ExportFormatError {
  constructor(message: string, line?: number) {
    super(message, line);
    this.name = 'ExportTruncatedError';
  }
}

export const REQUIRED_COLUMNS = [
  'product_id',
  'brand_name',
  'product_model_name',
  'product_description',
] as const;

/** `Product ID` → `product_id`. */
export function normalizeHeaderName(name: string): string {
  return name
    .replace(/^\uFEFF/, '')
    .trim()
    .toLowerCase()
    .replace(/\s+/g, '_');
}

const POSITIVE_INT = /^[1-9][0-9]*$/;
const NUMBER = /^-?[0-9]+(?:\.[0-9]+)?$/;
const YEAR = /^[0-9]{4}$/;

function parseNumber(s: string | undefined): number | null {
  if (s === undefined) return null;
  const t = s.trim();
  return NUMBER.test(t) ? Number(t) : null;
}

function parseYear(s: string | undefined): number | null {
  if (s === undefined) return null;
  const t = s.trim();
  return YEAR.test(t) ? Number(t) : null;
}

async function* decodeLeniently(
  source: AsyncIterable<Uint8Array>,
  onBytes: ((n: number) => void) | undefined,
): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  for await (const chunk of source) {
    onBytes?.(chunk.byteLength);
    const text = decoder.decode(chunk, { stream: true });
    if (text !== '') yield text;
  }
  const tail = decoder.decode();
  if (tail !== '') yield tail;
}

interface Columns {
  count: number;
  productId: number;
  brandName: number;
  modelName: number;
  description: number;
  price: number;
  year: number;
  finish: number;
  categoryName: number;
}

function readHeader(record: string[], line: number): Columns {
  const index = new Map<string, number>();
  record.forEach((raw, i) => {
    const name = normalizeHeaderName(raw);
    if (name !== '' && !index.has(name)) index.set(name, i);
  });
  for (const column of REQUIRED_COLUMNS) {
    if (!index.has(column)) throw new ExportFormatError(`export has no ${column} column`, line);
  }
  const at = (name: string) => index.get(name) ?? -1;
  return {
    count: record.length,
    productId: at('product_id'),
    brandName: at('brand_name'),
    modelName: at('product_model_name'),
    description: at('product_description'),
    price: at('product_price'),
    year: at('product_year'),
    finish: at('product_finish'),
    categoryName: at('category_name'),
  };
}

function toRow(record: string[], c: Columns, line: number): ExportRow {
  const rawId = record[c.productId] ?? '';
  const id = rawId.trim();
  const productId = POSITIVE_INT.test(id) ? Number(id) : Number.NaN;
  if (!Number.isSafeInteger(productId)) {
    throw new ExportFormatError(`product_id ${JSON.stringify(rawId)} is not a positive integer`, line);
  }
  return {
    productId,
    brandName: record[c.brandName] ?? '',
    modelName: record[c.modelName] ?? '',
    description: record[c.description] ?? '',
    price: c.price < 0 ? null : parseNumber(record[c.price]),
    year: c.year < 0 ? null : parseYear(record[c.year]),
    finish: c.finish < 0 ? '' : (record[c.finish] ?? ''),
    categoryName: c.categoryName < 0 ? '' : (record[c.categoryName] ?? ''),
  };
}

function translateError(err: unknown): unknown {
  if (!(err instanceof CsvError)) return err;
  const line = typeof err.lines === 'number' ? err.lines : undefined;
  if (err.code === 'CSV_QUOTE_NOT_CLOSED') {
    return new ExportTruncatedError('export ends inside a quoted field', line);
  }
  return new ExportFormatError(`export is not valid CSV: ${err.message}`);
}

interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

/**
 * Rows of the export, in file order, streamed: a record is parsed, converted and handed over before
 * the next chunk is read. Throws `ExportFormatError` (missing column, column count, bad product_id,
 * invalid CSV) or `ExportTruncatedError` (ends inside a quoted field or in the middle of a record).
 */
export async function* readExportRows(
  source: AsyncIterable<Uint8Array>,
  opts: ReadExportOptions = {},
): AsyncGenerator<ExportRow> {
  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true });
  // pipeline() forwards a source error to the parser, and so to the loop below; a consumer that stops
  // early destroys the parser, which closes the source.
  const records = pipeline(Readable.from(decodeLeniently(source, opts.onBytes)), parser, () => {});
  let columns: Columns | undefined;
  // A short record is an error, but a truncation only if it is the last one: decided on the next one.
  let short: { line: number; fields: number } | undefined;
  const iterator = records[Symbol.asyncIterator]() as AsyncIterator<ParsedRecord>;
  try {
    while (true) {
      let next: IteratorResult<ParsedRecord>;
      try {
        next = await iterator.next();
      } catch (err) {
        throw translateError(err);
      }
      if (next.done) break;
      const { record, info } = next.value;
      if (columns === undefined) {
        columns = readHeader(record, info.lines);
        continue;
      }
      if (short !== undefined) {
        throw new ExportFormatError(
          `record has ${short.fields} fields, the header has ${columns.count}`,
          short.line,
        );
      }
      if (record.length !== columns.count) {
        if (record.length < columns.count) {
          short = { line: info.lines, fields: record.length };
          continue;
        }
        throw new ExportFormatError(
          `record has ${record.length} fields, the header has ${columns.count}`,
          info.lines,
        );
      }
      yield toRow(record, columns, info.lines);
    }
  } finally {
    if (!parser.destroyed) parser.destroy();
  }
  if (columns === undefined) throw new ExportFormatError('export is empty (no header row)');
  if (short !== undefined) {
    throw new ExportTruncatedError(
      `export ends in the middle of a record (${short.fields} of ${columns.count} fields)`,
      short.line,
    );
  }
}

/** Streams the whole export through `onRow`; resolves with what was read. */
export async function scanExport(
  source: AsyncIterable<Uint8Array>,
  onRow: (row: ExportRow) => void,
): Promise<ExportStats> {
  const stats: ExportStats = { bytes: 0, rows: 0, maxProductId: 0 };
  const rows = readExportRows(source, {
    onBytes: (n) => {
      stats.bytes += n;
    },
  });
  for await (const row of rows) {
    stats.rows++;
    if (row.productId > stats.maxProductId) stats.maxProductId = row.productId;
    onRow(row);
  }
  return stats;
}
