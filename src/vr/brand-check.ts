import { type BrowserSession, SESSION_EXPIRED } from './browser-session.ts';
import { isRetryableStatus, VrUnavailableError } from './errors.ts';

export const BRAND_CHECK_PATH = '/ajax/check_brand_exists';

/**
 * V&R's id for a brand, 0 when V&R doesn't know it: `POST /ajax/check_brand_exists` sent by a
 * fetch inside a V&R page, so that Cloudflare sees the browser's own request.
 */
export async function checkBrand(session: BrowserSession, brandName: string): Promise<number> {
  return session.withLogin(async () => {
    const answer = await session.fetchForm(BRAND_CHECK_PATH, { brand_name: brandName });
    if (answer.error) throw new VrUnavailableError(`the brand check got no answer: ${answer.error}`);
    if (isRetryableStatus(answer.status)) {
      throw new VrUnavailableError(`the brand check answered HTTP ${answer.status}`);
    }
    const text = answer.text.trim();
    if (/^\d+$/.test(text)) return Number(text);
    // A page instead of a number: the session is gone (V&R sends logged-out AJAX to a page).
    if (/<(html|body|form)\b/i.test(text)) return SESSION_EXPIRED;
    throw new VrUnavailableError(`the brand check answered "${text.slice(0, 80)}"`);
  });
}
