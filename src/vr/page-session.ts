import type { Page, Response } from 'playwright-core';

/**
 * What a V&R page says about our session, read from the page itself: V&R's URLs for an expired
 * session or a refused login are unknown, so nothing here looks at a URL.
 */
export interface PageSession {
  /** A Logout link: we are logged in. */
  loggedIn: boolean;
  /** The header's login pop-up (`form#loginForm`), which only a logged-out page carries. */
  loginForm: boolean;
  /** Cloudflare's "Just a moment..." page. */
  challenge: boolean;
  title: string;
}

// Plain JavaScript in a string: what runs in the page must not depend on how this file is compiled.
const READ_SESSION = `(() => {
  const logout = [...document.querySelectorAll('a')].some((a) =>
    /^\\s*log\\s*-?\\s*out\\s*$/i.test(a.textContent || '') || /logout/i.test(a.getAttribute('href') || ''));
  return {
    loggedIn: logout,
    loginForm: document.querySelector('form#loginForm') !== null,
    challenge: /^\\s*just a moment/i.test(document.title || ''),
    title: document.title || '',
  };
})()`;

export async function readPageSession(page: Page): Promise<PageSession> {
  return (await page.evaluate(READ_SESSION)) as PageSession;
}

/** Cloudflare's managed challenge: the `cf-mitigated` header, or its "Just a moment..." page. */
export function isChallengeResponse(response: Response | null | undefined): boolean {
  return response?.headers()['cf-mitigated']?.toLowerCase() === 'challenge';
}

export async function isChallengePage(page: Page): Promise<boolean> {
  try {
    return /^\s*just a moment/i.test(await page.title());
  } catch {
    // Mid-navigation (the challenge reloading the page): look again later.
    return false;
  }
}

/** The cookie V&R sets once its consent banner is answered. */
export const CONSENT_COOKIE = 'cookie_consent_level';

/**
 * Clicks the cookie-consent banner's "I agree" away. It overlays every page until then, and its
 * script may add it after the page has loaded: without the consent cookie, it is waited for briefly.
 */
export async function acceptConsent(page: Page, waitMs = 1_500): Promise<boolean> {
  const cookies = await page
    .context()
    .cookies(page.url())
    .catch(() => []);
  if (cookies.some((c) => c.name === CONSENT_COOKIE)) return false;
  const button = page.locator('.cc-nb-okagree').first();
  try {
    await button.waitFor({ state: 'visible', timeout: waitMs });
  } catch {
    return false;
  }
  await button.click({ timeout: 5_000 }).catch(() => button.evaluate((b: HTMLElement) => b.click()));
  // Best effort: a banner still showing only covers the page.
  await button.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => {});
  return true;
}
