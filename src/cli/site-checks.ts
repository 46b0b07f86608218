import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { privateDir, redactedHtml } from '../creation/artifacts.ts';
import type { BrowserSession } from '../vr/browser-session.ts';

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

export interface CheckRunnerOptions {
  /** Where a failing check's screenshot and HTML go. */
  artifactsDir: string;
  /** Scrubbed from the saved HTML (the password). */
  secrets?: readonly string[];
  onCheck?: (check: SiteCheck) => void;
  /** Every failure makes the later checks "not run" (else only a check run with `stopsOthers`). */
  everyFailureStops?: boolean;
}

/**
 * Runs named checks in order, each timed, into `checks`; a failing one saves the page's evidence
 * and names it. After a failure that stops the others, a later check is "not run", unless run
 * `always` (a clean-up).
 */
export function checkRunner(session: BrowserSession, opts: CheckRunnerOptions) {
  const checks: SiteCheck[] = [];
  let stoppedBy: string | undefined;
  const run = async (
    name: string,
    fn: () => Promise<string>,
    { stopsOthers = false, always = false }: { stopsOthers?: boolean; always?: boolean } = {},
  ): Promise<boolean> => {
    const started = Date.now();
    let check: SiteCheck;
    if (stoppedBy && !always) check = { name, ok: false, ms: 0, detail: `not run: "${stoppedBy}" failed` };
    else {
      try {
        check = { name, ok: true, ms: 0, detail: await fn() };
      } catch (error) {
        const seen = error instanceof CheckFailed ? error.message : (error as Error).message.split('\n')[0]!;
        // No page to show: the evidence is left out, the failure is still reported.
        const page = await session.page().catch(() => undefined);
        const files = await saveEvidence(page, opts.artifactsDir, name, opts.secrets ?? []);
        check = {
          name,
          ok: false,
          ms: 0,
          detail: `${seen}${page && !page.isClosed() ? ` (at ${page.url()})` : ''}${files.length ? `; saved ${files.join(', ')}` : ''}`,
        };
        if (stopsOthers || opts.everyFailureStops) stoppedBy ??= name;
      }
      check.ms = Date.now() - started;
    }
    checks.push(check);
    opts.onCheck?.(check);
    return check.ok;
  };
  return { checks, run };
}
