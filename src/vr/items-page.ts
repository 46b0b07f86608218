import type { Page } from 'playwright-core';
import { type BrowserSession, SESSION_EXPIRED } from './browser-session.ts';
import { fetchInPage, type PageFetchResult } from './in-page-fetch.ts';
import { readPageSession } from './page-session.ts';

/** The seller's list of items: V&R's own script sends mark sold, restore and delete from it. */
export const ITEMS_PAGE = '/account/items';

/**
 * POSTs one of the seller list's AJAX calls (`/ajax/mark_as_sold/…`, `/ajax/restore_from_sold/…`,
 * `/ajax/delete_item`) for one listing, from that page, as V&R's own script does. V&R answers
 * `true`, `false`, nothing or JSON: the reply proves nothing, the caller confirms from V&R.
 * `beforePost` is called once the page is there, just before the POST leaves.
 */
export function postFromItemsPage(
  session: BrowserSession,
  path: string,
  vrListingId: number,
  timeoutMs: number,
  beforePost?: () => void,
): Promise<PageFetchResult> {
  return session.withLogin(async (page: Page) => {
    await session.goto(page, ITEMS_PAGE);
    if (!(await readPageSession(page)).loggedIn) return SESSION_EXPIRED;
    beforePost?.();
    const reply = await fetchInPage(page, { path, form: { product_id: String(vrListingId) }, timeoutMs });
    return reply.challenge ? SESSION_EXPIRED : reply;
  });
}
