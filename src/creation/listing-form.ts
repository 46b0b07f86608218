import type { Page } from 'playwright-core';
import { SESSION_EXPIRED } from '../vr/browser-session.ts';
import { isLoginUrl, isRetryableStatus, VrRejectedError, VrUnavailableError } from '../vr/errors.ts';

/** The V&R add-listing form (`/instruments/add_edit_item`, form `#frm_step1`), as a page object. */

export const FORM_PATH = '/instruments/add_edit_item';
const DEFAULT_CATEGORY = ['Guitars'];

export interface ImageFile {
  name: string;
  mimeType: string;
  buffer: Buffer;
}

export interface FormValues {
  brandName: string;
  brandId: number;
  model: string;
  finish: string | undefined;
  year: number | undefined;
  /** Final HTML, reference marker included. */
  descriptionHtml: string;
  price: number;
  category: string | undefined;
  images: ImageFile[];
}

export async function openForm(page: Page, url: string): Promise<'opened' | typeof SESSION_EXPIRED> {
  const response = await page.goto(url, { waitUntil: 'domcontentloaded' });
  if (isLoginUrl(page.url())) return SESSION_EXPIRED;
  const status = response?.status() ?? 0;
  if (isRetryableStatus(status)) throw new VrUnavailableError(`the add-listing form answered HTTP ${status}`);
  if ((await page.locator('#frm_step1').count()) === 0) {
    throw new VrUnavailableError(
      `expected the add-listing form at ${page.url()}, got "${await page.title()}"`,
    );
  }
  return 'opened';
}

interface InPageValues {
  levels: string[];
  levelTimeoutMs: number;
  brandName: string;
  brandId: number;
  brandTimeoutMs: number;
  fields: Array<[name: string, value: string]>;
  decade: string | null;
  descriptionHtml: string;
  checkboxes: string[];
}

type InPageResult = { ok: true } | { ok: false; category?: [name: string, label: string]; missing?: string };

/**
 * Fills the whole form inside the page, in one round trip: the same events a person's input makes
 * (`input` and `change`, bubbling), the cascading category selects waited for level by level, and the
 * brand picked from the autocomplete when it offers it. Driving each field through its own
 * Playwright call cost one browser round trip (and actionability checks) per field.
 *
 * Plain JavaScript in a string: what runs in the page must not depend on how this file is compiled
 * (tsx/esbuild would wrap named functions in a helper the page doesn't have).
 */
const FILL_IN_PAGE = `async (v) => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const fire = (el, ...types) => {
    for (const type of types) el.dispatchEvent(new Event(type, { bubbles: true }));
  };
  const waitFor = async (find, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== null || Date.now() >= deadline) return found;
      await sleep(10);
    }
  };
  for (const [level, label] of v.levels.slice(0, 4).entries()) {
    const name = 'categ_level_' + level;
    const wanted = label.trim().toLowerCase();
    // Sub-levels fill in only after their parent is chosen: wait for the option itself.
    const option = await waitFor(() => {
      const select = document.querySelector('select[name="' + name + '"]');
      return select
        ? ([...select.options].find((o) => (o.textContent || '').trim().toLowerCase() === wanted) || null)
        : null;
    }, v.levelTimeoutMs);
    if (!option) return { ok: false, category: [name, label] };
    const select = option.closest('select');
    select.value = option.value;
    fire(select, 'input', 'change');
  }

  const brand = document.getElementById('recipient_name');
  const brandId = document.getElementById('brand_make_id');
  if (!brand || !brandId) return { ok: false, missing: 'recipient_name' };
  brand.focus();
  brand.value = v.brandName;
  fire(brand, 'input', 'keyup');
  const suggestion = await waitFor(
    () => document.querySelector('#brand_suggestions li[onclick*=", ' + v.brandId + ')"]'),
    v.brandTimeoutMs,
  );
  if (suggestion) suggestion.click();
  if (!suggestion || brandId.value !== String(v.brandId)) {
    // The autocomplete didn't offer it: set what picking it would have set.
    brand.value = v.brandName;
    brandId.value = String(v.brandId);
  }

  for (const [name, value] of v.fields) {
    const input = document.querySelector('input[name="' + name + '"]');
    if (!input) return { ok: false, missing: name };
    input.value = value;
    fire(input, 'input', 'change');
  }
  if (v.decade !== null) {
    const select = document.querySelector('select[name="decade"]');
    if (select && [...select.options].some((o) => o.value === v.decade)) {
      select.value = v.decade;
      fire(select, 'input', 'change');
    }
  }
  const editor = window.tinymce && window.tinymce.get('item_desc');
  if (editor) editor.setContent(v.descriptionHtml);
  else {
    const textarea = document.querySelector('textarea[name="item_desc"]');
    if (!textarea) return { ok: false, missing: 'item_desc' };
    textarea.value = v.descriptionHtml;
  }
  for (const box of v.checkboxes) {
    const checkbox = document.querySelector('input[type="checkbox"][name="' + box + '"]');
    if (checkbox && !checkbox.checked) checkbox.click();
  }
  return { ok: true };
}`;

export async function fillForm(page: Page, values: FormValues, timeoutMs: number): Promise<void> {
  const levels = values.category ? values.category.split('>').map((s) => s.trim()) : DEFAULT_CATEGORY;
  const fields: Array<[string, string]> = [['model_name', values.model]];
  if (values.finish) fields.push(['finish_color', values.finish]);
  if (values.year) fields.push(['year', String(values.year)]);
  fields.push(['price', String(values.price)]);
  const inPage: InPageValues = {
    levels,
    levelTimeoutMs: Math.min(timeoutMs, 5_000),
    brandName: values.brandName,
    brandId: values.brandId,
    brandTimeoutMs: 3_000,
    fields,
    decade: values.year ? String(Math.floor(values.year / 10) * 10) : null,
    descriptionHtml: values.descriptionHtml,
    checkboxes: ['buy_now', 'available_for_shipment'],
  };
  const result = (await page.evaluate(`(${FILL_IN_PAGE})(${JSON.stringify(inPage)})`)) as InPageResult;
  if (!result.ok) {
    if (result.category) {
      throw new VrRejectedError(
        `category "${result.category[1]}" is not offered by V&R's form (${result.category[0]})`,
      );
    }
    throw new VrUnavailableError(`the add-listing form has no ${result.missing} field`);
  }
  if (values.images.length) {
    await page.setInputFiles('#dropzone_input', values.images);
    await page.waitForFunction(
      (n) => document.querySelectorAll('#uploaded_images input[name="uploaded_images[]"]').length >= n,
      values.images.length,
      { timeout: timeoutMs, polling: 50 },
    );
  }
}

export type PublishOutcome =
  | { kind: 'published' }
  | { kind: 'rejected'; message: string }
  | { kind: 'session_expired' }
  | { kind: 'unknown'; reason: string };

/**
 * Clicks "Publish item" and reads the answer. Success is the page's own confirmation, never the
 * absence of an error: anything else after the click is an unknown outcome.
 */
export async function publish(page: Page, timeoutMs: number): Promise<PublishOutcome> {
  const answered = page.waitForResponse(
    (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === FORM_PATH,
    { timeout: timeoutMs },
  );
  answered.catch(() => {});
  const loaded = page.waitForEvent('domcontentloaded', { timeout: timeoutMs });
  loaded.catch(() => {});
  // Clicked from the page itself: Playwright's click would wait for the navigation to commit, and
  // a hung submit must be reported after our own timeout, not Playwright's.
  await page.locator('#submit_step_1').evaluate((link: HTMLElement) => link.click());
  let status: number;
  try {
    status = (await answered).status();
    await loaded;
  } catch (error) {
    return { kind: 'unknown', reason: `no answer to Publish: ${(error as Error).message.split('\n')[0]}` };
  }
  // The session is checked before the form is read, so a login redirect means nothing was created.
  if (status >= 300 && status < 400 && isLoginUrl(page.url())) return { kind: 'session_expired' };
  if (status >= 400) return { kind: 'unknown', reason: `Publish answered HTTP ${status}` };
  // The whole answer read in one round trip.
  const answer = (await page.evaluate(`(() => ({
    success: [...document.querySelectorAll('.success_message')].map((e) => e.textContent || ''),
    errors: [...document.querySelectorAll('.error_message')].map((e) => e.textContent || ''),
    form: document.querySelector('#frm_step1') !== null,
    title: document.title,
  }))()`)) as { success: string[]; errors: string[]; form: boolean; title: string };
  if (answer.success.some((t) => /is now published and live/i.test(t))) return { kind: 'published' };
  if (answer.errors.length && answer.form) {
    return { kind: 'rejected', message: answer.errors.map((t) => t.trim()).join('; ') };
  }
  return { kind: 'unknown', reason: `unexpected page after Publish: ${page.url()} "${answer.title}"` };
}
