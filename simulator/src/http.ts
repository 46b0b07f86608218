/** HTTP plumbing for the simulator: bodies, cookies and answers on node:http. */
import type http from 'node:http';
import { Readable } from 'node:stream';

export type Req = http.IncomingMessage;
export type Res = http.ServerResponse;
export type Headers = Record<string, string | string[]>;

export const HTML = 'text/html; charset=utf-8';
export const MAX_FORM_BYTES = 1024 * 1024;
/** A Publish POST carries no files (Dropzone uploads them first), but a page's upload does. */
export const MAX_UPLOAD_BYTES = 32 * 1024 * 1024;

/** An answer the handler gives by throwing: status and a plain-text message. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

export async function readBody(req: Req, limit = MAX_FORM_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'Request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function readUrlEncoded(req: Req): Promise<URLSearchParams> {
  return new URLSearchParams((await readBody(req)).toString('utf8'));
}

export async function readJson(req: Req): Promise<Record<string, unknown>> {
  const text = (await readBody(req)).toString('utf8');
  let body: unknown;
  try {
    body = text.trim() ? JSON.parse(text) : {};
  } catch {
    throw new HttpError(400, 'Body must be JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'Body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** A multipart (or url-encoded) body, parsed by the platform's own FormData parser. */
export async function readForm(req: Req, limit = MAX_FORM_BYTES): Promise<FormData> {
  const contentType = req.headers['content-type'] ?? '';
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) throw new HttpError(413, 'Request body too large');
  const request = new Request('http://simulator.invalid/', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: Readable.toWeb(req) as unknown as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  try {
    return await request.formData();
  } catch (err) {
    throw new HttpError(400, `Bad form body: ${(err as Error).message}`);
  }
}

export function formString(form: FormData, name: string): string {
  const v = form.get(name);
  return typeof v === 'string' ? v : '';
}

export function formStrings(form: FormData, name: string): string[] {
  return form.getAll(name).map((v) => (typeof v === 'string' ? v : ''));
}

export function send(
  res: Res,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Headers = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { 'content-type': type, 'content-length': String(buf.length), ...headers });
  res.end(buf);
}

export function redirect(res: Res, location: string, headers: Headers = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(302, { location, 'content-length': '0', ...headers });
  res.end();
}

export function sendJson(res: Res, status: number, value: unknown, headers: Headers = {}): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), headers);
}

export function nonNegativeNumber(v: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) {
    throw new HttpError(400, `${name} must be a number between 0 and ${max}`);
  }
  return v;
}

/** Writes chunks with backpressure; returns the time spent waiting for the client to read. */
export async function writeChunks(
  res: Res,
  chunks: readonly Buffer[],
  pauseBetween: (ms: number) => Promise<void>,
  pauseMs: number,
  aborted: () => boolean,
): Promise<number> {
  let waited = 0;
  for (const chunk of chunks) {
    if (pauseMs > 0) await pauseBetween(pauseMs);
    if (res.destroyed || aborted()) return waited;
    if (!res.write(chunk)) {
      const waitStart = performance.now();
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
      waited += performance.now() - waitStart;
    }
  }
  if (!res.destroyed) res.end();
  return waited;
}
