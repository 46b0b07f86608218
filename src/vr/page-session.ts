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

/** Clicks the cookie-consent banner's "I agree" away when it is there; it overlays every page until then. */
export async function acceptConsent(page: Page): Promise<boolean> {
  return (await page
    .evaluate(`(() => {
      const button = document.querySelector('.cc-nb-okagree');
      if (!button) return false;
      button.click();
      return true;
    })()`)
    .catch(() => false)) as boolean;
}
