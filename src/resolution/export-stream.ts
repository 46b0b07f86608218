/**
 * Streams the V&R inventory export (CSV) into rows, without holding the file in memory.
 * Bytes are decoded leniently (invalid UTF-8 becomes U+FFFD), the header is matched by name
 * (`Product ID` = `product_id`), and anything that looks like a damaged file throws: a matcher
 * must never work from half an export.
 *
 * The CSV is read by a small RFC 4180 scanner working on the bytes: `"`, `,`, CR and LF are ASCII
 * and never part of a multi-byte UTF-8 sequence, so records and fields are found without decoding,
 * and only the fields a row needs are decoded (each to a fresh string: nothing keeps a chunk alive).
 * It reads what csv-parse read with `bom`, `relax_column_count` and `skip_empty_lines` (the tests
 * compare both on generated files), about three times faster; rows at or below `minProductId` are
 * counted but not decoded at all.
 */

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
  /**
   * Rows whose product_id is at or below this are checked (column count, product_id) and counted,
   * but not decoded nor handed over: no pending job can be one of them.
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
  if (s === undefined) return null;
  const t = s.trim();
  return NUMBER.test(t) ? Number(t) : null;
}

function parseYear(s: string | undefined): number | null {
  if (s === undefined) return null;
  const t = s.trim();
  return YEAR.test(t) ? Number(t) : null;
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

function parseProductId(rawId: string, line: number): number {
  const id = rawId.trim();
  const productId = POSITIVE_INT.test(id) ? Number(id) : Number.NaN;
  if (!Number.isSafeInteger(productId)) {
    throw new ExportFormatError(`product_id ${JSON.stringify(rawId)} is not a positive integer`, line);
  }
  return productId;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

/**
 * The CSV scanner: bytes in (any chunking), records out. Fields are kept as byte ranges of the
 * current buffer; a record that the buffer ends inside is scanned again once more bytes arrived
 * (after at least twice as many, so that a huge record in tiny chunks stays linear).
 */
class ExportParser {
  rows = 0;
  maxProductId = 0;
  #buf: Buffer = EMPTY;
  #more: Buffer[] = [];
  #moreLength = 0;
  #retryAt = 0;
  #bomChecked = false;
  /** Line number (1-based) where the next record starts. */
  #line = 1;
  #columns: Columns | undefined;
  // A short record is an error, but a truncation only if it is the last one: decided on the next one.
  #short: { line: number; fields: number } | undefined;
  // The current record's fields: byte ranges, and whether a quoted field holds doubled quotes.
  #starts: number[] = [];
  #ends: number[] = [];
  #escaped: boolean[] = [];
  #fields = 0;

  constructor(
    private readonly minProductId: number,
    private readonly emit: (row: ExportRow) => void,
  ) {}

  push(chunk: Uint8Array): void {
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (bytes.length === 0) return;
    this.#more.push(bytes);
    this.#moreLength += bytes.length;
    if (this.#buf.length + this.#moreLength < this.#retryAt) return;
    this.#drain(false);
  }

  end(): void {
    this.#drain(true);
    if (this.#columns === undefined) throw new ExportFormatError('export is empty (no header row)');
    if (this.#short !== undefined) {
      throw new ExportTruncatedError(
        `export ends in the middle of a record (${this.#short.fields} of ${this.#columns.count} fields)`,
        this.#short.line,
      );
    }
  }

  #drain(final: boolean): void {
    let buf =
      this.#more.length === 0
        ? this.#buf
        : this.#buf.length === 0 && this.#more.length === 1
          ? this.#more[0]!
          : Buffer.concat([this.#buf, ...this.#more], this.#buf.length + this.#moreLength);
    this.#more = [];
    this.#moreLength = 0;
    let pos = 0;
    if (!this.#bomChecked) {
      if (buf.length < 3 && !final) {
        this.#buf = buf;
        return;
      }
      this.#bomChecked = true;
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
    }
    while (pos < buf.length) {
      // Empty lines are skipped.
      if (buf[pos] === LF) {
        pos += 1;
        this.#line += 1;
        continue;
      }
      if (buf[pos] === CR) {
        if (pos + 1 >= buf.length && !final) break;
        if (pos + 1 >= buf.length || buf[pos + 1] === LF) {
          pos += 2;
          this.#line += 1;
          continue;
        }
      }
      const next = this.#scan(buf, pos, final);
      if (next < 0) break;
      this.#record(buf);
      pos = next;
    }
    buf = pos >= buf.length ? EMPTY : buf.subarray(pos);
    this.#buf = buf;
    this.#retryAt = buf.length === 0 ? 0 : buf.length * 2;
  }

  #field(start: number, end: number, escaped: boolean): void {
    const i = this.#fields++;
    this.#starts[i] = start;
    this.#ends[i] = end;
    this.#escaped[i] = escaped;
  }

  /**
   * Scans one record starting at `pos`: its fields go to #starts/#ends/#escaped, #line moves to its
   * last line. Returns where the next record starts, or -1 when the buffer ends inside it.
   */
  #scan(buf: Buffer, pos: number, final: boolean): number {
    const length = buf.length;
    let lines = 0;
    let p = pos;
    this.#fields = 0;
    for (;;) {
      if (p < length && buf[p] === QUOTE) {
        let q = p + 1;
        let escaped = false;
        let close: number;
        for (;;) {
          close = buf.indexOf(QUOTE, q);
          if (close < 0) {
            if (!final) return -1;
            throw new ExportTruncatedError('export ends inside a quoted field', this.#line + lines);
          }
          if (close + 1 >= length) {
            if (!final) return -1;
            break;
          }
          if (buf[close + 1] !== QUOTE) break;
          escaped = true;
          q = close + 2;
        }
        for (let n = buf.indexOf(LF, p); n >= 0 && n < close; n = buf.indexOf(LF, n + 1)) lines += 1;
        this.#field(p + 1, close, escaped);
        p = close + 1;
        if (p >= length) break; // end of file (final: checked above)
        const c = buf[p];
        if (c === COMMA) {
          p += 1;
          continue;
        }
        if (c === LF) {
          p += 1;
          break;
        }
        if (c === CR) {
          if (p + 1 >= length) {
            if (!final) return -1;
            p += 1;
            break;
          }
          if (buf[p + 1] === LF) {
            p += 2;
            break;
          }
        }
        throw new ExportFormatError(
          `export is not valid CSV: a closing quote is followed by ${JSON.stringify(String.fromCharCode(c!))}`,
          this.#line + lines,
        );
      }
      let q = p;
      let c = -1;
      while (q < length) {
        c = buf[q]!;
        if (c === COMMA || c === LF) break;
        if (c === QUOTE) {
          throw new ExportFormatError(
            'export is not valid CSV: a quote inside a field that does not start with one',
            this.#line + lines,
          );
        }
        q += 1;
      }
      if (q >= length) {
        if (!final) return -1;
        this.#field(p, q > p && buf[q - 1] === CR ? q - 1 : q, false);
        p = q;
        break;
      }
      if (c === COMMA) {
        this.#field(p, q, false);
        p = q + 1;
        continue;
      }
      this.#field(p, q > p && buf[q - 1] === CR ? q - 1 : q, false);
      p = q + 1;
      break;
    }
    this.#line += lines;
    return p;
  }

  #text(buf: Buffer, i: number): string {
    if (i < 0 || i >= this.#fields) return '';
    const s = buf.toString('utf8', this.#starts[i], this.#ends[i]);
    return this.#escaped[i] ? s.replaceAll('""', '"') : s;
  }

  #record(buf: Buffer): void {
    const line = this.#line;
    this.#line += 1;
    const columns = this.#columns;
    if (columns === undefined) {
      const names = Array.from({ length: this.#fields }, (_, i) => this.#text(buf, i));
      this.#columns = readHeader(names, line);
      return;
    }
    if (this.#short !== undefined) {
      throw new ExportFormatError(
        `record has ${this.#short.fields} fields, the header has ${columns.count}`,
        this.#short.line,
      );
    }
    if (this.#fields !== columns.count) {
      if (this.#fields < columns.count) {
        this.#short = { line, fields: this.#fields };
        return;
      }
      throw new ExportFormatError(`record has ${this.#fields} fields, the header has ${columns.count}`, line);
    }
    const productId = parseProductId(this.#text(buf, columns.productId), line);
    this.rows += 1;
    if (productId > this.maxProductId) this.maxProductId = productId;
    if (productId <= this.minProductId) return;
    this.emit({
      productId,
      brandName: this.#text(buf, columns.brandName),
      modelName: this.#text(buf, columns.modelName),
      description: this.#text(buf, columns.description),
      price: columns.price < 0 ? null : parseNumber(this.#text(buf, columns.price)),
      year: columns.year < 0 ? null : parseYear(this.#text(buf, columns.year)),
      finish: this.#text(buf, columns.finish),
      categoryName: this.#text(buf, columns.categoryName),
    });
  }
}

function asBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
}

/**
 * Rows of the export, in file order, streamed: the rows of a chunk are handed over before the next
 * chunk is read. Throws `ExportFormatError` (missing column, column count, bad product_id, invalid
 * CSV) or `ExportTruncatedError` (ends inside a quoted field or in the middle of a record).
 */
export async function* readExportRows(
  source: AsyncIterable<Uint8Array>,
  opts: ReadExportOptions = {},
): AsyncGenerator<ExportRow> {
  let ready: ExportRow[] = [];
  const parser = new ExportParser(opts.minProductId ?? 0, (row) => ready.push(row));
  for await (const chunk of source) {
    const bytes = asBytes(chunk);
    opts.onBytes?.(bytes.byteLength);
    parser.push(bytes);
    if (ready.length) {
      const rows = ready;
      ready = [];
      yield* rows;
    }
  }
  parser.end();
  yield* ready;
}

export interface ScanExportOptions {
  /** See ReadExportOptions.minProductId: rows at or below it are counted, not handed to `onRow`. */
  minProductId?: number;
}

/** Streams the whole export through `onRow`; resolves with what was read (every row counted). */
export async function scanExport(
  source: AsyncIterable<Uint8Array>,
  onRow: (row: ExportRow) => void,
  opts: ScanExportOptions = {},
): Promise<ExportStats> {
  const parser = new ExportParser(opts.minProductId ?? 0, onRow);
  let bytes = 0;
  for await (const chunk of source) {
    const data = asBytes(chunk);
    bytes += data.byteLength;
    parser.push(data);
  }
  parser.end();
  return { bytes, rows: parser.rows, maxProductId: parser.maxProductId };
}
