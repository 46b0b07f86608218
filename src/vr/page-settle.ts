import type { Page } from 'playwright-core';
import { installProbe, settled } from './page-scripts/settle.ts';

/**
 * The page's own requests in flight and the add form's last change, counted by a probe installed
 * once per page (page-scripts/settle.ts), so that "the page has settled" can be waited for without
 * a fixed sleep. The form filler and the category cascade reader share it.
 */
export async function installSettleProbe(page: Page): Promise<void> {
  await page.evaluate(installProbe);
}

/**
 * How long the page must be still (no request of its own, no change) to count as settled: for the
 * form filler and the cascade reader alike, since they wait on the same page for the same things.
 */
export const QUIET_MS = 40;

/** Whether the page is settled right now (false when the page can't answer). */
export async function isPageSettled(page: Page, quietMs: number): Promise<boolean> {
  return Boolean(await page.evaluate(settled, quietMs).catch(() => false));
}

/** Waits until the page is settled; throws Playwright's timeout error after `timeoutMs`. */
export async function waitPageSettled(page: Page, quietMs: number, timeoutMs: number): Promise<void> {
  await page.waitForFunction(settled, quietMs, { timeout: timeoutMs, polling: 15 });
}
