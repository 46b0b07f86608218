import type { Page } from 'playwright-core';

export interface PageFetchResult {
  status: number;
  url: string;
  text: string;
  challenge: boolean;
  /** The browser's own network error ("Failed to fetch"), when nothing answered. */
  error?: string;
}

/** A form POSTed from inside a V&R page, as the site's own AJAX calls do. */
const FETCH_IN_PAGE = `async (a) => {
  try {
    const res = await fetch(a.path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8',
        'X-Requested-With': 'XMLHttpRequest',
      },
      body: new URLSearchParams(a.form).toString(),
      // A request V&R never answers must not hold the job forever.
      signal: AbortSignal.timeout(a.timeoutMs),
    });
    const text = await res.text();
    return {
      status: res.status,
      url: res.url,
      challenge: (res.headers.get('cf-mitigated') || '').toLowerCase() === 'challenge',
      text: text.slice(0, 8192),
    };
  } catch (error) {
    return { status: 0, url: a.path, challenge: false, text: '', error: String(error && error.message || error) };
  }
}`;

/** POSTs `form` to `path` from inside `page`: same origin, the browser's cookies and headers. */
export async function fetchInPage(
  page: Page,
  args: { path: string; form: Record<string, string>; timeoutMs: number },
): Promise<PageFetchResult> {
  return (await page.evaluate(`(${FETCH_IN_PAGE})(${JSON.stringify(args)})`)) as PageFetchResult;
}
