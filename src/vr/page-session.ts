import type { Page, Response } from 'playwright-core';
import { readSession } from './page-scripts/session.ts';

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

export async function readPageSession(page: Page): Promise<PageSession> {
  return page.evaluate(readSession);
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
/** The consent banner's "I agree" (TermsFeed's). */
export const CONSENT_AGREE = '.cc-nb-okagree';

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
  const button = page.locator(CONSENT_AGREE).first();
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

const consentHandled = new WeakSet<Page>();

/**
 * For a page where we act (the add form): the banner may come after the page has loaded, so
 * Playwright clicks it away whenever it shows up in front of an action of ours, and now if it shows.
 */
export async function keepConsentAway(page: Page): Promise<void> {
  const agree = page.locator(CONSENT_AGREE);
  if (!consentHandled.has(page)) {
    consentHandled.add(page);
    await page.addLocatorHandler(agree, async (button) => {
      // A banner gone by itself meanwhile is as good as clicked away.
      await button.click({ timeout: 5_000 }).catch(() => {});
    });
  }
  // As above: gone by itself is as good as clicked.
  if (await agree.isVisible().catch(() => false)) await agree.click({ timeout: 5_000 }).catch(() => {});
}
