/** The inventory export, written in the variant's format and streamed with backpressure. */
import { EXPORT_COLUMNS } from 'vr-lister/site-data';
import { exportValues, type Listing } from './catalog.ts';
import { csvField, csvFieldBytes, csvRecord } from './csv.ts';
import { type Res, writeChunks } from './http.ts';
import type { ExportFormat } from './variants.ts';

type Column = (typeof EXPORT_COLUMNS)[number];

const TEMPLATE_FIRST: readonly Column[] = ['brand_name', 'category_name', 'product_id', 'external_id'];
const CHUNK_BYTES = 64 * 1024;

export function exportColumns(format: ExportFormat): Column[] {
  return format.columnOrder === 'sample'
    ? [...EXPORT_COLUMNS]
    : [...TEMPLATE_FIRST, ...EXPORT_COLUMNS.filter((c) => !TEMPLATE_FIRST.includes(c))];
}

export interface ExportWriter {
  header: Buffer;
  line(l: Listing): Buffer;
  /** The line cut in the middle of its quoted description: a body that ends inside a field. */
  truncatedLine(l: Listing): Buffer;
}

export function exportWriter(format: ExportFormat): ExportWriter {
  const columns = exportColumns(format);
  const names = columns.map((c) => (format.headerSpelling === 'spaces' ? c.replaceAll('_', ' ') : c));
  const rowComma = format.trailingComma === 'every-row';
  // Lines are cached per listing: a listing never changes once created.
  const cache = new WeakMap<Listing, Buffer>();
  const descIndex = columns.indexOf('product_description');
  return {
    header: csvRecord(names, true),
    line(l) {
      let line = cache.get(l);
      if (!line) {
        const values = exportValues(l);
        line = csvRecord(
          columns.map((c) => values[c]),
          rowComma,
        );
        cache.set(l, line);
      }
      return line;
    },
    truncatedLine(l) {
      const values = exportValues(l);
      const before = columns.slice(0, descIndex).map((c) => {
        const v = values[c];
        return typeof v === 'string' ? csvField(v) : v.toString('latin1');
      });
      const desc = values.product_description;
      const encoded = typeof desc === 'string' ? Buffer.from(csvField(desc), 'utf8') : csvFieldBytes(desc);
      let cut = Math.max(1, Math.floor(encoded.length / 2));
      while (cut > 1 && encoded[cut - 1] === 0x22) cut--;
      const head = before.length ? `${before.join(',')},` : '';
      return Buffer.concat([Buffer.from(head, 'utf8'), encoded.subarray(0, cut)]);
    },
  };
}

export interface ExportFaults {
  shrink: boolean;
  truncate: boolean;
}

/** Builds the body in chunks of about 64 KiB. */
export function exportChunks(writer: ExportWriter, rows: readonly Listing[], faults: ExportFaults): Buffer[] {
  let selected = rows;
  if (faults.shrink) selected = rows.slice(Math.floor(rows.length * 0.9));
  const truncateAt = faults.truncate ? Math.floor(selected.length / 2) : -1;
  const chunks: Buffer[] = [];
  let pending: Buffer[] = [writer.header];
  let pendingSize = writer.header.length;
  const flush = () => {
    if (pending.length > 0) chunks.push(Buffer.concat(pending, pendingSize));
    pending = [];
    pendingSize = 0;
  };
  for (let i = 0; i < selected.length; i++) {
    const row = selected[i]!;
    const line = i === truncateAt ? writer.truncatedLine(row) : writer.line(row);
    pending.push(line);
    pendingSize += line.length;
    if (pendingSize >= CHUNK_BYTES) flush();
    if (i === truncateAt) break;
  }
  flush();
  return chunks;
}

/** Sends the export: headers first, then the chunks spread over `latencyMs`. Returns the client's wait. */
export async function streamExport(
  res: Res,
  format: ExportFormat,
  chunks: Buffer[],
  latencyMs: number,
  delay: (ms: number) => Promise<void>,
  aborted: () => boolean,
): Promise<number> {
  res.writeHead(200, {
    'content-type': format.contentType,
    'content-disposition': format.contentDisposition,
    'cache-control': 'no-store',
  });
  const pause = latencyMs > 0 ? latencyMs / chunks.length : 0;
  return writeChunks(res, chunks, delay, pause, aborted);
}
