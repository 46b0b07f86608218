import type { Page } from 'playwright-core';
import { isLoginUrl, isRetryableStatus, VrRejectedError, VrUnavailableError } from '../vr/errors.ts';
import { SESSION_EXPIRED } from './browser.ts';

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

async function selectByLabel(page: Page, name: string, label: string, timeoutMs: number): Promise<void> {
  let value: string | null;
  try {
    // Sub-levels fill in only after their parent is chosen: wait for the option itself.
    const handle = await page.waitForFunction(
      ([selectName, wanted]) => {
        const select = document.querySelector<HTMLSelectElement>(`select[name="${selectName}"]`);
        const option = select
          ? [...select.options].find((o) => (o.textContent ?? '').trim().toLowerCase() === wanted)
          : undefined;
        return option ? option.value : null;
      },
      [name, label.trim().toLowerCase()] as const,
      { timeout: timeoutMs, polling: 20 },
    );
    value = await handle.jsonValue();
  } catch {
    throw new VrRejectedError(`category "${label}" is not offered by V&R's form (${name})`);
  }
  await page.selectOption(`select[name="${name}"]`, value!);
}

async function pickBrand(page: Page, brandName: string, brandId: number): Promise<void> {
  await page.fill('#recipient_name', brandName);
  const suggestion = page.locator(`#brand_suggestions li[onclick*=", ${brandId})"]`).first();
  try {
    await suggestion.click({ timeout: 3_000 });
  } catch {
    // The autocomplete didn't offer it: set what picking it would have set.
    await page.evaluate(
      ([name, id]) => {
        (document.getElementById('recipient_name') as HTMLInputElement).value = name;
        (document.getElementById('brand_make_id') as HTMLInputElement).value = String(id);
      },
      [brandName, brandId] as const,
    );
  }
}

export async function fillForm(page: Page, values: FormValues, timeoutMs: number): Promise<void> {
  const levels = values.category ? values.category.split('>').map((s) => s.trim()) : DEFAULT_CATEGORY;
  for (const [level, label] of levels.slice(0, 4).entries()) {
    await selectByLabel(page, `categ_level_${level}`, label, Math.min(timeoutMs, 5_000));
  }
  await pickBrand(page, values.brandName, values.brandId);
  await page.fill('input[name="model_name"]', values.model);
  if (values.finish) await page.fill('input[name="finish_color"]', values.finish);
  if (values.year) {
    await page.fill('input[name="year"]', String(values.year));
    const decade = String(Math.floor(values.year / 10) * 10);
    const decadeSelect = page.locator('select[name="decade"]');
    if (await decadeSelect.locator(`option[value="${decade}"]`).count())
      await decadeSelect.selectOption(decade);
  }
  await page.evaluate((html) => {
    const editor = (
      window as unknown as { tinymce?: { get(id: string): { setContent(h: string): void } | null } }
    ).tinymce?.get('item_desc');
    if (editor) editor.setContent(html);
    else (document.querySelector('textarea[name="item_desc"]') as HTMLTextAreaElement).value = html;
  }, values.descriptionHtml);
  await page.fill('input[name="price"]', String(values.price));
  for (const box of ['buy_now', 'available_for_shipment']) {
    const checkbox = page.locator(`input[type="checkbox"][name="${box}"]`);
    if (await checkbox.count()) await checkbox.check();
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
  const success = await page.locator('.success_message').allTextContents();
  if (success.some((t) => /is now published and live/i.test(t))) return { kind: 'published' };
  const errors = await page.locator('.error_message').allTextContents();
  if (errors.length && (await page.locator('#frm_step1').count())) {
    return { kind: 'rejected', message: errors.map((t) => t.trim()).join('; ') };
  }
  return { kind: 'unknown', reason: `unexpected page after Publish: ${page.url()} "${await page.title()}"` };
}
