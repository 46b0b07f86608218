/**
 * Streams the V&R inventory export (CSV) into rows with csv-parse, without holding the file in
 * memory. Bytes are decoded leniently (invalid UTF-8 becomes U+FFFD), a BOM is dropped, the header
 * is matched by normalised name (`Product ID` = `product_id`: V&R's own files use spaces, other
 * captures underscores, in another order), and anything that looks like a damaged file throws: a
 * matcher must never work from half an export.
 *
 * The header ends with a trailing comma (an empty last name); data rows may carry it too or not.
 * Whichever form the first data row has, every row must have: so a last row cut just before its
 * trailing comma still reads as truncated.
 */
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvError, type Info, parse } from 'csv-parse';
import type { BrowserSession } from '../vr/browser-session.ts';
import { downloadExport } from '../vr/export-download.ts';

export interface ExportRow {
  productId: number;
  brandName: string;
  modelName: string;
  description: string;
  price: number | null;
  year: number | null;
  finish: string;
  categoryName: string;
  /** `product_sold` is `yes` (false when the export has no such column). */
  sold: boolean;
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
  /**
   * Rows whose product_id is at or below this are checked (column count, product_id) and counted,
   * but not handed over: no pending job can be one of them.
   */
  minProductId?: number;
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
  const t = s?.trim();
  return t !== undefined && NUMBER.test(t) ? Number(t) : null;
}

function parseYear(s: string | undefined): number | null {
  const t = s?.trim();
  return t !== undefined && YEAR.test(t) ? Number(t) : null;
}

interface Columns {
  /** Fields up to the last named one: a row has these, or one more (empty) for a trailing comma. */
  named: number;
  productId: number;
  brandName: number;
  modelName: number;
  description: number;
  price: number;
  year: number;
  finish: number;
  categoryName: number;
  sold: number;
}

function readHeader(record: string[], line: number): Columns {
  const index = new Map<string, number>();
  let named = 0;
  record.forEach((raw, i) => {
    const name = normalizeHeaderName(raw);
    if (name === '') return;
    named = i + 1;
    if (!index.has(name)) index.set(name, i);
  });
  for (const column of REQUIRED_COLUMNS) {
    if (!index.has(column)) throw new ExportFormatError(`export has no ${column} column`, line);
  }
  const at = (name: string) => index.get(name) ?? -1;
  return {
    named,
    productId: at('product_id'),
    brandName: at('brand_name'),
    modelName: at('product_model_name'),
    description: at('product_description'),
    price: at('product_price'),
    year: at('product_year'),
    finish: at('product_finish'),
    categoryName: at('category_name'),
    sold: at('product_sold'),
  };
}

/** The line a record starts on: csv-parse reports the one it ends on. */
function firstLine(record: string[], lastLine: number): number {
  let newlines = 0;
  for (const field of record)
    for (let i = field.indexOf('\n'); i >= 0; i = field.indexOf('\n', i + 1)) newlines++;
  return lastLine - newlines;
}

/** The export's rules on csv-parse's records: header, column count, product_id; counts rows. */
class ExportChecker {
  rows = 0;
  maxProductId = 0;
  #columns: Columns | undefined;
  /** Fields every data row has, fixed by the first one (with or without the trailing comma). */
  #width: number | undefined;
  // A short record is an error, but a truncation only if it is the last one: decided on the next one.
  #short: { line: number; fields: number } | undefined;

  constructor(private readonly minProductId: number) {}

  record(record: string[], info: Info): ExportRow | undefined {
    const columns = this.#columns;
    if (columns === undefined) {
      this.#columns = readHeader(record, firstLine(record, info.lines));
      return undefined;
    }
    if (this.#short !== undefined) {
      throw new ExportFormatError(
        `record has ${this.#short.fields} fields, the header has ${columns.named}`,
        this.#short.line,
      );
    }
    if (this.#width === undefined) {
      const trailingComma = record.length === columns.named + 1 && record[columns.named] === '';
      this.#width = trailingComma ? columns.named + 1 : columns.named;
    }
    if (record.length !== this.#width) {
      const line = firstLine(record, info.lines);
      if (record.length < this.#width) {
        this.#short = { line, fields: record.length };
        return undefined;
      }
      throw new ExportFormatError(
        `record has ${record.length} fields, the header has ${columns.named}`,
        line,
      );
    }
    const rawId = record[columns.productId]!;
    const id = rawId.trim();
    const productId = POSITIVE_INT.test(id) ? Number(id) : Number.NaN;
    if (!Number.isSafeInteger(productId)) {
      throw new ExportFormatError(
        `product_id ${JSON.stringify(rawId)} is not a positive integer`,
        firstLine(record, info.lines),
      );
    }
    this.rows += 1;
    if (productId > this.maxProductId) this.maxProductId = productId;
    if (productId <= this.minProductId) return undefined;
    const text = (i: number) => (i < 0 ? '' : record[i]!);
    return {
      productId,
      brandName: text(columns.brandName),
      modelName: text(columns.modelName),
      description: text(columns.description),
      price: columns.price < 0 ? null : parseNumber(record[columns.price]),
      year: columns.year < 0 ? null : parseYear(record[columns.year]),
      finish: text(columns.finish),
      categoryName: text(columns.categoryName),
      sold: text(columns.sold).trim().toLowerCase() === 'yes',
    };
  }

  end(): void {
    if (this.#columns === undefined) throw new ExportFormatError('export is empty (no header row)');
    if (this.#short !== undefined) {
      throw new ExportTruncatedError(
        `export ends in the middle of a record (${this.#short.fields} of ${this.#width} fields)`,
        this.#short.line,
      );
    }
  }
}

/** csv-parse's errors as the export's: an open quote at the end is a cut download. */
function asExportError(error: unknown): unknown {
  if (!(error instanceof CsvError)) return error;
  const line = typeof error.lines === 'number' ? error.lines : undefined;
  if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
    return new ExportTruncatedError('export ends inside a quoted field', line);
  }
  return new ExportFormatError(`export is not valid CSV: ${error.message}`, line);
}

/** Every record of the source with csv-parse's line info; the source is closed when iteration stops. */
async function* records(
  source: AsyncIterable<Uint8Array | string>,
  onBytes: (n: number) => void,
): AsyncGenerator<{ record: string[]; info: Info }> {
  // Buffer.toString('utf8') on each field: invalid sequences become U+FFFD, never an error.
  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true });
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onBytes(chunk.byteLength);
      done(null, chunk);
    },
  });
  // A stream source (a file, an HTTP body) is destroyed as soon as the parse stops: no read after.
  const feeding = pipeline(source, counter, parser);
  // Its failure is the iteration's (csv-parse's error or the source's): read below, or dropped
  // when the caller stops early and the pipeline is torn down.
  feeding.catch(() => {});
  try {
    for await (const item of parser) yield item as { record: string[]; info: Info };
    await feeding;
  } catch (error) {
    throw asExportError(error);
  } finally {
    parser.destroy();
  }
}

/**
 * Rows of the export, in file order, streamed: rows are handed over as the bytes arrive. Throws
 * `ExportFormatError` (missing column, column count, bad product_id, invalid CSV) or
 * `ExportTruncatedError` (ends inside a quoted field or in the middle of a record).
 */
export async function* readExportRows(
  source: AsyncIterable<Uint8Array | string>,
  opts: ReadExportOptions = {},
): AsyncGenerator<ExportRow> {
  const checker = new ExportChecker(opts.minProductId ?? 0);
  for await (const { record, info } of records(source, opts.onBytes ?? (() => {}))) {
    const row = checker.record(record, info);
    if (row) yield row;
  }
  checker.end();
}

export interface ScanExportOptions {
  /** See ReadExportOptions.minProductId: rows at or below it are counted, not handed to `onRow`. */
  minProductId?: number;
}

/** Streams the whole export through `onRow`; resolves with what was read (every row counted). */
export async function scanExport(
  source: AsyncIterable<Uint8Array | string>,
  onRow: (row: ExportRow) => void,
  opts: ScanExportOptions = {},
): Promise<ExportStats> {
  const checker = new ExportChecker(opts.minProductId ?? 0);
  let bytes = 0;
  for await (const { record, info } of records(source, (n) => (bytes += n))) {
    const row = checker.record(record, info);
    if (row) onRow(row);
  }
  checker.end();
  return { bytes, rows: checker.rows, maxProductId: checker.maxProductId };
}

/**
 * One export, downloaded to disk (downloadExport) and streamed through `onRow`, the file deleted
 * whatever happens. `checkHeader` sees the header row before any data row (check-site's columns).
 */
export async function downloadAndScan(
  session: BrowserSession,
  timeoutMs: number,
  onRow: (row: ExportRow) => void,
  opts: ScanExportOptions & { checkHeader?: (header: string[]) => void } = {},
): Promise<ExportStats> {
  const download = await downloadExport(session, { timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
  try {
    opts.checkHeader?.(download.header);
    return await scanExport(download.stream(), onRow, opts);
  } finally {
    await download.discard();
  }
}
