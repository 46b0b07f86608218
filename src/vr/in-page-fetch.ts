import type { Page } from 'playwright-core';
import { postForm } from './page-scripts/session.ts';

export interface PageFetchResult {
  status: number;
  url: string;
  text: string;
  challenge: boolean;
  /** The browser's own network error ("Failed to fetch"), when nothing answered. */
  error?: string;
}

/** POSTs `form` to `path` from inside `page`: same origin, the browser's cookies and headers. */
export async function fetchInPage(
  page: Page,
  args: { path: string; form: Record<string, string>; timeoutMs: number },
): Promise<PageFetchResult> {
  return page.evaluate(postForm, args);
}
