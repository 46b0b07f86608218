import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Download, Page } from 'playwright-core';
import { type BrowserSession, SESSION_EXPIRED } from './browser-session.ts';
import { isRetryableStatus, VrUnavailableError } from './errors.ts';
import { readPageSession } from './page-session.ts';

export const EXPORT_PAGE = '/instruments/export_inventory';
const EXPORT_LINK_TEXT = /download\s+current\s+v\s*&\s*r\s+inventory/i;

/** The export as Chromium saved it to disk: read it as a stream, then discard it. */
export interface ExportDownload {
  path: string;
  /** The header row's column names, as in the file. */
  header: string[];
  /** The file's bytes, read from disk a chunk at a time. */
  stream(): AsyncIterable<Uint8Array>;
  /** Deletes the file. */
  discard(): Promise<void>;
}

/** The first line of the file, without reading more than `maxBytes` of it. */
async function firstLine(path: string, maxBytes = 64 * 1024): Promise<string> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(maxBytes);
    const { bytesRead } = await file.read(buffer, 0, maxBytes, 0);
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    const end = text.search(/\r?\n/);
    return (end < 0 ? text : text.slice(0, end)).replace(/^\uFEFF/, '');
  } finally {
    await file.close();
  }
}

/** A header row's names (V&R's names carry no commas or quotes; quotes are dropped all the same). */
function headerNames(line: string): string[] {
  return line.split(',').map((name) => name.trim().replace(/^"(.*)"$/, '$1'));
}

async function withDeadline<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {}); // the deadline already passed: its outcome no longer matters
    throw new VrUnavailableError(`${what}: timeout (VR_EXPORT_TIMEOUT_MS)`);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new VrUnavailableError(`${what}: timeout (VR_EXPORT_TIMEOUT_MS)`));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Downloads the inventory export the way a person does: the export page, then its "Download
 * current V&R inventory" link (the download answers 404 without the page first), and the file
 * through Chromium's own download, to disk. The file is judged by its header row, never by its
 * content type. Memory stays flat however big the export is.
 */
export async function downloadExport(
  session: BrowserSession,
  { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal },
): Promise<ExportDownload> {
  return session.withLogin(async () => {
    // A page of its own: the creation worker's baseline runs while a job fills in the form.
    const page = await session.newPage();
    try {
      return await downloadOn(session, page, timeoutMs, signal);
    } finally {
      await page.close().catch(() => {}); // best effort: the page may already be gone with the browser
    }
  });
}

async function downloadOn(
  session: BrowserSession,
  page: Page,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<ExportDownload | typeof SESSION_EXPIRED> {
  {
    const response = await session.goto(page, EXPORT_PAGE);
    const status = response?.status() ?? 200;
    if (isRetryableStatus(status)) throw new VrUnavailableError(`the export page answered HTTP ${status}`);
    const state = await readPageSession(page);
    if (!state.loggedIn) return SESSION_EXPIRED;
    let link = page.locator('a').filter({ hasText: EXPORT_LINK_TEXT }).first();
    if ((await link.count()) === 0)
      link = page.locator('a[href*="export_inventory/export_inventory"]').first();
    if ((await link.count()) === 0) {
      throw new VrUnavailableError(
        `the export page has no "Download current V&R inventory" link (${page.url()}, "${state.title}")`,
      );
    }
    // The link either starts a download or, when something is wrong, opens a page.
    const downloaded = page
      .waitForEvent('download', { timeout: timeoutMs })
      .then((download) => ({ download }) as const);
    const landed = page
      .waitForEvent('domcontentloaded', { timeout: timeoutMs })
      .then(() => ({ landed: true }) as const);
    // Only one of the two is awaited; the loser must not be an unhandled rejection.
    downloaded.catch(() => {});
    landed.catch(() => {});
    await link.click();
    let first: { download: Download } | { landed: true };
    try {
      first = await withDeadline(Promise.race([downloaded, landed]), signal, 'the export download');
    } catch (error) {
      if (error instanceof VrUnavailableError) throw error;
      throw new VrUnavailableError(`the export did not start: ${(error as Error).message.split('\n')[0]}`);
    }
    if ('landed' in first) {
      if (await session.onChallenge(page))
        throw new VrUnavailableError('Cloudflare challenged the export download');
      const after = await readPageSession(page);
      if (!after.loggedIn) return SESSION_EXPIRED;
      throw new VrUnavailableError(`the export link opened a page ("${after.title}") instead of a file`);
    }
    const { download } = first;
    let path: string;
    try {
      path = await withDeadline(download.path(), signal, 'the export download');
    } catch (error) {
      // Best effort: the error being thrown says what went wrong.
      await download.cancel().catch(() => {});
      await download.delete().catch(() => {});
      throw error instanceof VrUnavailableError
        ? error
        : new VrUnavailableError(`the export download failed: ${(error as Error).message.split('\n')[0]}`);
    }
    const line = await firstLine(path);
    if (/^\s*</.test(line)) {
      await download.delete().catch(() => {}); // best effort: the error below says why
      throw new VrUnavailableError('the export download is an HTML page, not a CSV file');
    }
    return {
      path,
      header: headerNames(line),
      stream: () => createReadStream(path, { highWaterMark: 256 * 1024 }),
      // Best effort: the browser deletes its downloads when its context closes.
      discard: () => download.delete().catch(() => {}),
    };
  }
}

/** The file's bytes, deleted once read (or once the reader stops early). */
export async function* streamAndDiscard(download: ExportDownload): AsyncGenerator<Uint8Array> {
  try {
    yield* download.stream() as AsyncIterable<Uint8Array>;
  } finally {
    await download.discard();
  }
}
