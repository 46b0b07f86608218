import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { privateDir, redactedHtml } from '../creation/artifacts.ts';

/** What check-site and check-site --round-trip share: a check, its failure, its evidence, its line. */

export interface SiteCheck {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
}

/** A check that failed: `detail` is what it saw. */
export class CheckFailed extends Error {}

export function fail(detail: string): never {
  throw new CheckFailed(detail);
}

/** Where a failing check's evidence goes: the screenshot and the page's HTML, password fields emptied. */
export async function saveEvidence(
  page: Page | undefined,
  dir: string,
  name: string,
  secrets: readonly string[],
): Promise<string[]> {
  if (!page || page.isClosed()) return [];
  const base = join(dir, name.replace(/[^a-z0-9]+/gi, '-').toLowerCase());
  await privateDir(dir);
  const saved: string[] = [];
  await page
    .screenshot({ path: `${base}.png`, fullPage: true, timeout: 10_000 })
    .then(() => chmod(`${base}.png`, 0o600))
    .then(() => saved.push(`${base}.png`))
    .catch(() => {}); // a page that can't be shot still gets its HTML saved
  const html = await redactedHtml(page, secrets).catch(() => undefined);
  if (typeof html === 'string') {
    await writeFile(`${base}.html`, html, { mode: 0o600 });
    saved.push(`${base}.html`);
  }
  return saved;
}

export function formatCheck(check: SiteCheck, width: number): string {
  return `${check.ok ? '✓' : '✗'} ${check.name.padEnd(width)} ${`${check.ms} ms`.padStart(9)}  ${check.detail}`;
}
