import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { AllowedHost } from '../config.ts';
import { type CheckedAddress, checkedAddress, pinnedLookup } from '../net/address-policy.ts';
import { ImageUnavailableError } from '../vr/errors.ts';
import { ImageRejectedError } from './image-rejected-error.ts';

/** Redirects followed for one photo; each hop is checked like the first URL. */
export const MAX_REDIRECTS = 5;

/** The URL as error text shows it: scheme, host and path; never credentials or the query string. */
export function displayUrl(url: URL | string): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    const path = u.pathname.length > 200 ? `${u.pathname.slice(0, 200)}…` : u.pathname;
    return `${u.protocol}//${u.host}${path}`;
  } catch {
    return '(not a URL)';
  }
}

/** The image formats a photo may arrive in, by their first bytes; anything else is refused unread. */
export function imageFormat(head: Buffer): string | undefined {
  const ascii = (from: number, to: number) => head.toString('latin1', from, to);
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (ascii(0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return 'gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (ascii(4, 8) === 'ftyp' && /^(avif|avis|mif1|msf1|heic|heix)$/.test(ascii(8, 12))) return 'heif';
  if (ascii(0, 4) === 'II*\x00' || ascii(0, 4) === 'MM\x00*') return 'tiff';
  return undefined;
}

/** Bytes enough to recognise every format above. */
const HEAD_BYTES = 12;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface FetchPhotoOptions {
  allowHosts: readonly AllowedHost[];
  /** Bytes after decoding; the download stops there, declared or not. */
  maxBytes: number;
  /** Aborts the download (time budget, shutdown); the caller words that error. */
  signal: AbortSignal;
}

/**
 * Downloads one photo: http(s) only, no credentials, every hop's address checked and connected to
 * as checked, at most `maxBytes` read (decompressed bytes counted), and only an image/* answer whose
 * first bytes are an image. A photo that can never succeed throws ImageRejectedError; a timeout,
 * 5xx, 408/429 or network failure throws the retryable ImageUnavailableError.
 */
export async function fetchPhoto(rawUrl: string, field: string, options: FetchPhotoOptions): Promise<Buffer> {
  const first = new URL(rawUrl);
  let url = first;
  const where = () =>
    url === first ? displayUrl(first) : `${displayUrl(first)}, redirected to ${displayUrl(url)}`;
  const rejected = (reason: string) => new ImageRejectedError(`${field} (${where()}) ${reason}`);
  const unavailable = (reason: string) => new ImageUnavailableError(`${field} (${where()}) ${reason}`);

  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw rejected('is not an http(s) URL');
    if (url.username || url.password) throw rejected('carries credentials in the URL');
    let address: CheckedAddress;
    try {
      const checked = await abortable(checkedAddress(url, options.allowHosts), options.signal);
      if ('refused' in checked) throw rejected(`is refused: ${checked.refused}`);
      address = checked;
    } catch (error) {
      if (error instanceof ImageRejectedError || options.signal.aborted) throw error;
      const code = (error as { code?: string }).code;
      if (code === 'ENOTFOUND') throw rejected('has a host name that does not exist');
      throw unavailable(`could not be resolved: ${code ?? (error as Error).message}`);
    }

    let response: IncomingMessage;
    try {
      response = await get(url, address, options.signal);
    } catch (error) {
      if (options.signal.aborted) throw error;
      const code = (error as { code?: string }).code ?? '';
      if (/CERT|SSL|TLS|SELF_SIGNED/.test(code)) throw rejected(`failed the TLS check: ${code}`);
      throw unavailable(`could not be downloaded: ${code || (error as Error).message}`);
    }

    const status = response.statusCode ?? 0;
    if (REDIRECTS.has(status)) {
      response.destroy();
      const location = response.headers.location;
      if (!location) throw rejected(`answered HTTP ${status} without a Location`);
      if (hop >= MAX_REDIRECTS) throw rejected(`redirected more than ${MAX_REDIRECTS} times`);
      try {
        url = new URL(location, url);
      } catch {
        throw rejected(`redirected to something that is not a URL`);
      }
      continue;
    }
    if (status !== 200) {
      response.destroy();
      const retryable = status >= 500 || status === 408 || status === 429;
      throw (retryable ? unavailable : rejected)(`answered HTTP ${status}`);
    }
    return readImage(response, options, rejected, unavailable);
  }
}

function get(url: URL, address: CheckedAddress, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'GET',
        agent: false,
        signal,
        // The connection goes to the address that was checked, whatever the name resolves to now.
        lookup: pinnedLookup(address) as never,
        headers: {
          accept: 'image/jpeg,image/png,image/webp,image/*;q=0.8',
          // Compressed bodies could expand without bound; they are counted below if sent anyway.
          'accept-encoding': 'identity',
          'user-agent': 'vr-lister',
        },
      },
      resolve,
    );
    request.on('error', reject);
    request.end();
  });
}

async function readImage(
  response: IncomingMessage,
  options: FetchPhotoOptions,
  rejected: (reason: string) => Error,
  unavailable: (reason: string) => Error,
): Promise<Buffer> {
  const mb = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;
  const type = (response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!type.startsWith('image/') || type === 'image/svg+xml') {
    response.destroy();
    throw rejected(`is not an image (Content-Type ${type === '' ? 'missing' : type})`);
  }
  const encoding = (response.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const decoder =
    encoding === 'identity' || encoding === ''
      ? undefined
      : encoding === 'gzip' || encoding === 'x-gzip'
        ? createGunzip()
        : encoding === 'deflate'
          ? createInflate()
          : encoding === 'br'
            ? createBrotliDecompress()
            : null;
  if (decoder === null) {
    response.destroy();
    throw rejected(`came with an unknown Content-Encoding ${encoding}`);
  }
  const declared = Number(response.headers['content-length']);
  if (!decoder && Number.isFinite(declared) && declared > options.maxBytes) {
    response.destroy();
    throw rejected(`is ${mb(declared)}, over the ${mb(options.maxBytes)} limit for one photo`);
  }

  const body: Readable = decoder ? response.pipe(decoder) : response;
  if (decoder) response.on('error', (error) => decoder.destroy(error));
  const chunks: Buffer[] = [];
  let length = 0;
  let checkedHead = false;
  const checkHead = () => {
    checkedHead = true;
    if (!imageFormat(Buffer.concat(chunks).subarray(0, HEAD_BYTES))) {
      throw rejected(`is not an image: its first bytes are no known image format (Content-Type ${type})`);
    }
  };
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      length += chunk.length;
      // Counted as they arrive: a lying Content-Length or a compression bomb stops here.
      if (length > options.maxBytes) {
        throw rejected(`is over the ${mb(options.maxBytes)} limit for one photo`);
      }
      chunks.push(chunk);
      if (!checkedHead && length >= HEAD_BYTES) checkHead();
    }
  } catch (error) {
    if (error instanceof ImageRejectedError || options.signal.aborted) throw error;
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('Z_')) {
      throw rejected(`has a body that does not decompress (${encoding})`);
    }
    throw unavailable(`stopped while downloading: ${code || (error as Error).message}`);
  } finally {
    response.destroy();
    decoder?.destroy();
  }
  if (!checkedHead) checkHead();
  return Buffer.concat(chunks, length);
}

/** A promise that rejects with the signal's reason as soon as it aborts (DNS lookups can't be aborted). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
