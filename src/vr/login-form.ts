import type { Page } from 'playwright-core';
import { fillLogin, loginErrors, submitLogin } from './page-scripts/session.ts';

/** V&R's login pop-up (`form#loginForm` in every page's header), driven from the page itself. */

/** Fills the pop-up's fields; the name of a field it lacks, or null. */
export async function fillLoginForm(
  page: Page,
  credentials: { username: string; password: string },
): Promise<string | null> {
  return page.evaluate(fillLogin, credentials);
}

/** Clicks the pop-up's Login control (or submits the form). */
export async function submitLoginForm(page: Page): Promise<void> {
  await page.evaluate(submitLogin);
}

/** The errors the pop-up shows (jQuery Validate's, or V&R's); none when the page can't answer. */
export async function loginFormErrors(page: Page): Promise<string[]> {
  return page.evaluate(loginErrors).catch(() => []);
}
