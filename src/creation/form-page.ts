import type { Page } from 'playwright-core';
import { RetryLaterError } from '../errors.ts';
import type { ShippingFees } from '../listing/listing.ts';
import { SESSION_EXPIRED } from '../vr/browser-session.ts';
import { isRetryableStatus, VrUnavailableError } from '../vr/errors.ts';
import { keepConsentAway, readPageSession } from '../vr/page-session.ts';
import { installSettleProbe, QUIET_MS, waitPageSettled } from '../vr/page-settle.ts';

/**
 * The V&R add-listing form (`/instruments/add_edit_item`, `form#frm_step1`): what the form filler
 * (listing-form.ts) and the Publish (publish.ts) share, and opening the form.
 */

export const FORM_PATH = '/instruments/add_edit_item';
/** What V&R shows after a successful Publish (its element is unknown: only the text counts). */
export const PUBLISHED_TEXT = /published and live/i;

/** The page is not what the form should be: markup changed, or a page we don't know. Retried, with evidence saved. */
export class FormMarkupError extends RetryLaterError {
  override name = 'FormMarkupError';
}

export interface ImageFile {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

export interface FormCategoryLevel {
  id: number;
  name: string;
}

export interface FormValues {
  brandName: string;
  brandId: number;
  model: string;
  finish: string | undefined;
  year: number | undefined;
  /** Final HTML, reference marker included. */
  descriptionHtml: string;
  /** Plain text that must survive TinyMCE (the reference marker), checked after setContent. */
  mustKeepText: string | null;
  price: number;
  /** From the top level down to the leaf (ids and names from the category tree). */
  category: FormCategoryLevel[];
  /** Fee per region offered; regions left out are removed from the form. */
  shippingFees: ShippingFees;
  localPickup: boolean;
  processingTime: { amount: number; unit: string } | undefined;
  /** Checkbox name → wanted state; a box not listed is left as served. */
  flags: Record<string, boolean>;
  images: ImageFile[];
}

export interface FormTimeouts {
  /** One page step (a sub-level appearing, an upload, TinyMCE getting ready). */
  stepMs: number;
}

export async function waitSettled(page: Page, what: string, timeoutMs: number): Promise<void> {
  try {
    await waitPageSettled(page, QUIET_MS, timeoutMs);
  } catch (error) {
    throw new FormMarkupError(
      `the add form kept loading while ${what} (still busy after ${timeoutMs} ms): ${firstLine(error)}`,
    );
  }
}

export function firstLine(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/**
 * How long the form V&R answered a Publish with stays good for the next listing. V&R answers a good
 * Publish with a fresh add form (the "published and live" message above it): the next listing is
 * filled in that one instead of loading another (a form page each listing, 5 s at the real site's
 * timings). A form older than this is loaded afresh.
 */
export const FORM_REUSE_MS = 60_000;

/** Pages holding the fresh form a good Publish was answered with, and when it was answered. */
const answeredForms = new WeakMap<Page, number>();

/** The page holds the form V&R answered a good Publish with (publish.ts said published). */
export function keepAnsweredForm(page: Page): void {
  answeredForms.set(page, Date.now());
}

/**
 * Takes the form a good Publish was answered with, when the page still holds it: a new document
 * (not the one Publish was clicked in), at FORM_PATH, with the form on it, young enough. Used
 * once; false when anything is off (the caller loads the form as usual).
 */
export async function takeAnsweredForm(page: Page): Promise<boolean> {
  const at = answeredForms.get(page);
  answeredForms.delete(page);
  if (at === undefined || Date.now() - at > FORM_REUSE_MS || page.isClosed()) return false;
  try {
    if (new URL(page.url()).pathname !== FORM_PATH) return false;
    await page.waitForLoadState('domcontentloaded');
    // Sent together (the page runs them in order): the probe and the banner's handler do no harm
    // on a page that turns out not to be fresh, which is loaded afresh anyway.
    const [fresh] = await Promise.all([
      page.evaluate(
        () => Boolean(document.querySelector('form#frm_step1')) && window.__vrBeforePublish !== true,
      ),
      installSettleProbe(page),
      keepConsentAway(page),
    ]);
    return fresh;
  } catch {
    // A page that can't answer: the form is loaded afresh.
    return false;
  }
}

/**
 * Opens the add form. The form itself says we are in; a page without it and without a Logout link
 * means the session is gone (whatever the URL); a logged-in page without the form is unexpected.
 */
export async function openForm(page: Page, url: string): Promise<'opened' | typeof SESSION_EXPIRED> {
  const response = await page.goto(url, { waitUntil: 'domcontentloaded' });
  const status = response?.status() ?? 0;
  if ((await page.locator('form#frm_step1').count()) > 0) {
    await installSettleProbe(page);
    await keepConsentAway(page);
    return 'opened';
  }
  if (isRetryableStatus(status)) throw new VrUnavailableError(`the add-listing form answered HTTP ${status}`);
  if (!(await readPageSession(page).catch(() => undefined))?.loggedIn) return SESSION_EXPIRED;
  throw new FormMarkupError(
    `the add-listing form (form#frm_step1) is not on the page V&R served: ${page.url()} (HTTP ${status}, "${await page.title()}")`,
  );
}
