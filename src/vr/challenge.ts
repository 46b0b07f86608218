import type { BrowserContext, Cookie, Page } from 'playwright-core';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import { isChallengePage, isChallengeResponse } from './page-session.ts';

/** Cloudflare's clearance cookie. */
export const CLEARANCE_COOKIE = 'cf_clearance';
/** A cf_clearance closer than this to its expiry is renewed before the next step. */
export const CLEARANCE_RENEW_MARGIN_MS = 60_000;

/**
 * Notes every challenge a page's own navigations meet: in `auto` mode it clears in milliseconds,
 * so by the time a step fails on it the page may look normal again.
 */
export class ChallengeWatch {
  #challengedAt = new WeakMap<Page, number>();

  watch(page: Page): Page {
    page.on('response', (response) => {
      if (isChallengeResponse(response) && response.request().isNavigationRequest()) {
        this.#challengedAt.set(page, Date.now());
      }
    });
    return page;
  }

  /** The page met a challenge since `since`, or shows one now. */
  async challenged(page: Page, since: number): Promise<boolean> {
    if ((this.#challengedAt.get(page) ?? 0) >= since) return true;
    return onChallenge(page);
  }
}

/** True when the page in hand is Cloudflare's challenge. */
export async function onChallenge(page: Page): Promise<boolean> {
  return !page.isClosed() && (await isChallengePage(page));
}

/**
 * Waits up to `waitMs` for the challenge on `page` to clear by itself (Cloudflare's script, or a
 * person's click in a visible browser). True when it did.
 */
export async function waitOutChallenge(page: Page, waitMs: number, log: Logger): Promise<boolean> {
  log.info({ waitMs }, 'Cloudflare challenge: waiting for it to clear');
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && !page.isClosed()) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    if (await isChallengePage(page)) continue;
    // The challenge reloads the page it stood in for: make sure that one is there.
    // the next check sees whatever page is there
    await page.waitForLoadState('domcontentloaded').catch(() => {});
    if (await isChallengePage(page)) continue;
    const title = await page.title().catch(() => '');
    if (!title && page.url() === 'about:blank') continue;
    log.info({ event: LOG_EVENT.challengePassed }, 'Cloudflare challenge passed');
    return true;
  }
  return false;
}

/** Tells when the cf_clearance in hand runs out, remembering when each one was first seen. */
export class ClearanceClock {
  #seen: { value: string; at: number } | undefined;

  /**
   * True when `context`'s cf_clearance runs out soon: then it is cleared, so that the challenge is
   * passed again now, between steps, rather than met at Publish, where it makes the outcome unknown.
   */
  async renewDue(context: BrowserContext | undefined, baseUrl: string, log: Logger): Promise<boolean> {
    const cookies = await context?.cookies(baseUrl).catch(() => []);
    if (!this.runningOut(cookies)) return false;
    log.info(
      { event: LOG_EVENT.clearanceRenewing },
      'cf_clearance runs out soon: passing the challenge again now',
    );
    // a clearance left in place is only renewed later
    await context?.clearCookies({ name: CLEARANCE_COOKIE }).catch(() => {});
    return true;
  }

  /**
   * True when the cf_clearance cookie expires within a step's reach: a minute, or half of its
   * lifetime when it lives shorter than two.
   */
  runningOut(cookies: readonly Cookie[] | undefined): boolean {
    const clearance = cookies?.find((c) => c.name === CLEARANCE_COOKIE);
    if (!clearance || clearance.expires <= 0) return false;
    const now = Date.now();
    if (this.#seen?.value !== clearance.value) this.#seen = { value: clearance.value, at: now };
    const expiresAt = clearance.expires * 1000;
    const lifetime = expiresAt - this.#seen.at;
    const margin = Math.min(CLEARANCE_RENEW_MARGIN_MS, lifetime / 2);
    return expiresAt - now < margin;
  }
}
