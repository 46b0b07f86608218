/** CSV writing as V&R's export does it: RFC 4180 quoting, CRLF line ends, a trailing comma. */

const QUOTE = 0x22;

export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** RFC 4180 quoting at byte level, for fields that are not valid UTF-8. */
export function csvFieldBytes(buf: Buffer): Buffer {
  let quote = false;
  let quotes = 0;
  for (const b of buf) {
    if (b === QUOTE) quotes++;
    if (b === QUOTE || b === 0x2c || b === 0x0d || b === 0x0a) quote = true;
  }
  if (!quote) return buf;
  const out = Buffer.alloc(buf.length + quotes + 2);
  let o = 0;
  out[o++] = QUOTE;
  for (const b of buf) {
    out[o++] = b;
    if (b === QUOTE) out[o++] = QUOTE;
  }
  out[o++] = QUOTE;
  return out;
}

/** The real export ends every line with CRLF (descriptions keep their own bare LFs). */
export const LINE_END = '\r\n';

/** One line from its fields (strings, or raw bytes for a field that is not valid UTF-8). */
export function csvRecord(fields: ReadonlyArray<string | Buffer>, trailingComma: boolean): Buffer {
  const parts: Buffer[] = [];
  let text = '';
  fields.forEach((f, i) => {
    if (i > 0) text += ',';
    if (typeof f === 'string') {
      text += csvField(f);
    } else {
      parts.push(Buffer.from(text, 'utf8'), csvFieldBytes(f));
      text = '';
    }
  });
  text += trailingComma ? `,${LINE_END}` : LINE_END;
  parts.push(Buffer.from(text, 'utf8'));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
