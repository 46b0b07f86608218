import type { Page, Request } from 'playwright-core';
import { isRetryableStatus, VrRejectedError, VrUnavailableError } from '../vr/errors.ts';
import { installSettleProbe, SETTLED } from '../vr/page-settle.ts';
import {
  type FormCategoryLevel,
  FormMarkupError,
  type FormTimeouts,
  type FormValues,
  firstLine,
  type ImageFile,
  QUIET_MS,
  waitSettled,
} from './form-page.ts';

/**
 * The V&R add-listing form (`/instruments/add_edit_item`, `form#frm_step1`), as a page object.
 *
 * Everything here follows what was seen of the real page (shared notes, "Add-listing form"): field
 * names, the category cascade, `set_autosuggest_brands(...)` suggestions, `check_decade()` on the
 * year's blur, TinyMCE's `item_desc`, the `div.ships_to` rows, Dropzone's hidden file input and its
 * upload reply, and the "published and live" text. Where the real markup is unknown (where the
 * suggestions, errors and success message live, what the × of a shipping row is), nothing depends
 * on a guess: elements are found by what they do or say, never by a class name.
 *
 * Code that runs in the page is plain JavaScript in strings: what runs there must not depend on how
 * this file is compiled (tsx/esbuild would wrap named functions in a helper the page doesn't have).
 */

// ---------------------------------------------------------------------------------------------
// Categories

/**
 * Finds an option of `categ_level_<level>` by id, else by name (case- and space-insensitive), and
 * chooses it as a person would (the select changes and says so: input, change), in one round trip.
 * Null while the level isn't there; `found: null` (nothing chosen) when it lacks our option.
 */
const CHOOSE_OPTION = `({ level, id, name }) => {
  const key = (s) => String(s || '').toLowerCase().replace(/\\s+/g, '');
  const select = document.querySelector('select[name="categ_level_' + level + '"]');
  if (!select) return null;
  const options = [...select.options].filter((o) => o.value !== '');
  const option = options.find((o) => o.value === String(id)) || options.find((o) => key(o.textContent) === key(name));
  if (!option) return { found: null, offered: options.map((o) => (o.textContent || '').trim()) };
  select.focus();
  select.value = option.value;
  select.dispatchEvent(new Event('input', { bubbles: true }));
  select.dispatchEvent(new Event('change', { bubbles: true }));
  return { found: option.value, offered: [] };
}`;

/** The options of a sub-level showing below the last one chosen, if any. */
const LEVEL_BELOW = `(level) => {
  const select = document.querySelector('select[name="categ_level_' + level + '"]');
  if (!select) return [];
  const shown = select.checkVisibility ? select.checkVisibility({ visibilityProperty: true }) : select.getClientRects().length > 0;
  if (!shown) return [];
  return [...select.options].filter((o) => o.value !== '').map((o) => (o.textContent || '').trim());
}`;

type FoundOption = { found: string | null; offered: string[] } | null;

async function chooseCategory(page: Page, levels: FormCategoryLevel[], t: FormTimeouts): Promise<void> {
  const path: string[] = [];
  for (const [level, node] of levels.entries()) {
    const choose = `(${CHOOSE_OPTION})(${JSON.stringify({ level, id: node.id, name: node.name })})`;
    let found: FoundOption;
    if (level === 0) {
      found = (await page.evaluate(choose)) as FoundOption;
    } else {
      // The sub-level appears once its parent is chosen (the real page loads it): our option is
      // chosen the moment it is there.
      try {
        const handle = await page.waitForFunction(
          `(() => { const r = ${choose}; return r && r.found ? r : null; })()`,
          undefined,
          { timeout: t.stepMs, polling: 15 },
        );
        found = (await handle.jsonValue()) as FoundOption;
      } catch {
        found = (await page.evaluate(choose)) as FoundOption;
      }
    }
    if (!found) {
      throw new FormMarkupError(
        level === 0
          ? 'the add form has no category select (categ_level_0)'
          : `no sub-level (categ_level_${level}) appeared under ${path.join('>')} within ${t.stepMs} ms`,
      );
    }
    if (!found.found) {
      throw new VrRejectedError(
        `category: V&R's form offers no "${node.name}" ${level === 0 ? 'at the top level' : `under ${path.join('>')}`}; it offers ${found.offered.join(', ')} (the shipped tree may be out of date: vr-lister categories --refresh)`,
      );
    }
    path.push(node.name);
  }
}

/**
 * A leaf in our tree must be a leaf in V&R's: nothing may show below it. Checked once the whole
 * form has settled (fillForm), so the wait for a sub-level that might load costs nothing extra.
 */
async function checkCategoryLeaf(page: Page, levels: FormCategoryLevel[]): Promise<void> {
  const below = (await page.evaluate(`(${LEVEL_BELOW})(${levels.length})`)) as string[];
  if (below.length > 0) {
    throw new VrRejectedError(
      `category: V&R's form has sub-levels below ${levels.map((l) => l.name).join('>')} (${below.join(', ')}); choose one, and refresh the tree (vr-lister categories --refresh)`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Brand

/**
 * Picks the suggestion for our brand wherever the page put the list: any element whose onclick
 * calls `set_autosuggest_brands('Name', id)` (whitespace varies), matched by id, else by name.
 */
const PICK_SUGGESTION = `({ id, name, onlyOurs }) => {
  const key = (s) => String(s || '').toLowerCase().replace(/\\s+/g, '');
  const call = /set_autosuggest_brands\\(\\s*(['"])((?:\\\\.|(?!\\1).)*)\\1\\s*,\\s*(\\d+)\\s*\\)/;
  const items = [...document.querySelectorAll('[onclick*="set_autosuggest_brands"]')]
    .map((el) => ({ el, m: call.exec(el.getAttribute('onclick') || '') }))
    .filter((x) => x.m);
  const item = items.find((x) => Number(x.m[3]) === id) || items.find((x) => key(x.m[2]) === key(name));
  // Waiting for the suggestions: nothing yet.
  if (!item && onlyOurs) return null;
  if (item) item.el.click();
  const brandId = document.querySelector('input[name="brand_make_id"]');
  // What picking the suggestion would have set, when the list didn't offer it.
  if (brandId && !brandId.value) brandId.value = String(id);
  const input = document.querySelector('input[name="recipient_name"]');
  return { picked: Boolean(item), offered: items.length, value: input ? input.value : null };
}`;

async function typeBrand(page: Page, values: FormValues, t: FormTimeouts): Promise<void> {
  const brand = page.locator('input[name="recipient_name"]');
  if ((await brand.count()) === 0)
    throw new FormMarkupError('the add form has no brand field (recipient_name)');
  // All but the last character set quietly, the last one typed: the page sees the events a person's
  // last keystroke makes (keydown, input, keyup) with the whole name, and asks for suggestions once.
  const name = values.brandName;
  await brand.evaluate(
    (input: HTMLInputElement, head: string) => {
      input.focus();
      input.value = head;
    },
    name.slice(0, -1),
  );
  await brand.pressSequentially(name.slice(-1));
  // Our suggestion is picked the moment it shows; without one, once the page has settled.
  const pick = (onlyOurs: boolean) =>
    `(${PICK_SUGGESTION})(${JSON.stringify({ id: values.brandId, name, onlyOurs })})`;
  let result: { picked: boolean; value: string | null };
  try {
    const handle = await page.waitForFunction(
      `(() => ${pick(true)} || ((${SETTLED})(${QUIET_MS}) ? ${pick(false)} : null))()`,
      undefined,
      { timeout: t.stepMs, polling: 15 },
    );
    result = (await handle.jsonValue()) as typeof result;
  } catch (error) {
    throw new FormMarkupError(
      `the add form kept loading while the brand was typed (still busy after ${t.stepMs} ms): ${firstLine(error)}`,
    );
  }
  if (!result.value?.trim()) throw new FormMarkupError('the brand field was empty after typing the brand');
}

// ---------------------------------------------------------------------------------------------
// Plain fields, boxes, shipping

interface InPageFields {
  texts: Array<[name: string, value: string]>;
  year: string | null;
  decade: string | null;
  flags: Array<[name: string, checked: boolean]>;
  unit: string | null;
}

/** Text fields set as typing would leave them; the year blurred so that check_decade() runs. */
const FILL_FIELDS = `(v) => {
  const missing = [];
  const field = (name) => document.querySelector('form#frm_step1 [name="' + name + '"]');
  const fire = (el, ...types) => { for (const type of types) el.dispatchEvent(new Event(type, { bubbles: true })); };
  for (const [name, value] of v.texts) {
    const input = field(name);
    if (!input) { missing.push(name); continue; }
    input.focus();
    input.value = value;
    fire(input, 'input', 'change');
    input.blur();
  }
  if (v.year !== null) {
    const year = field('year');
    if (!year) missing.push('year');
    else {
      year.focus();
      year.value = v.year;
      fire(year, 'input', 'change');
      year.blur();
      // A page without focus gets no blur from blur(): say it ourselves.
      if (document.activeElement === year || !document.hasFocus()) year.dispatchEvent(new FocusEvent('blur'));
      const decade = field('decade');
      if (decade && !decade.value && v.decade !== null) {
        // check_decade() didn't set it: choose the decade as a person would.
        const option = [...decade.options].find((o) => o.value === v.decade) ||
          [...decade.options].find((o) => (o.textContent || '').trim().startsWith(v.decade));
        if (option) { decade.value = option.value; fire(decade, 'input', 'change'); }
      }
    }
  }
  for (const [name, checked] of v.flags) {
    const box = document.querySelector('form#frm_step1 input[type="checkbox"][name="' + name + '"]');
    if (!box) { if (checked) missing.push(name); continue; }
    if (box.checked !== checked) box.click();
    if (box.checked !== checked) { box.checked = checked; fire(box, 'change'); }
  }
  if (v.unit !== null) {
    const unit = field('hours_days_sel');
    const key = (s) => String(s || '').trim().toLowerCase();
    const option = unit && [...unit.options].find((o) => key(o.value) === key(v.unit) || key(o.textContent) === key(v.unit));
    if (!option) missing.push('hours_days_sel');
    else { unit.value = option.value; fire(unit, 'input', 'change'); }
  }
  return missing;
}`;

/**
 * The shipping rows of `div.ships_to`: each holds one `shipping_fees_fee[]` and a hidden
 * `shipping_fees_destination[]`; its region is read from what the row says (UK, Europe, USA,
 * REST OF WORLD) or its destination value. Offered regions get their fee; the others are emptied
 * and removed with the row's × control.
 */
const FILL_SHIPPING = `(v) => {
  const container = document.querySelector('form#frm_step1 div.ships_to') || document.querySelector('div.ships_to');
  if (!container) return { error: 'the add form has no shipping rows (div.ships_to)' };
  const fees = [...container.querySelectorAll('input[name="shipping_fees_fee[]"]')];
  const regionOf = (text) => {
    const t = ' ' + text.toLowerCase().replace(/[^a-z]+/g, ' ') + ' ';
    const found = [];
    if (/ rest of (the )?world | worldwide | world | international | other /.test(t)) found.push('world');
    if (/ uk | united kingdom | great britain | gb /.test(t)) found.push('uk');
    if (/ europe | eu /.test(t)) found.push('europe');
    if (/ usa | us | united states | america /.test(t)) found.push('usa');
    return found.length === 1 ? found[0] : null;
  };
  const rows = fees.map((fee) => {
    let row = fee;
    while (row.parentElement && row.parentElement !== container &&
      row.parentElement.querySelectorAll('input[name="shipping_fees_fee[]"]').length === 1) row = row.parentElement;
    const destination = row.querySelector('input[name="shipping_fees_destination[]"]');
    const region = regionOf(row.textContent || '') ||
      regionOf((destination && destination.value) || '') || regionOf(fee.placeholder || fee.title || '');
    return { row, fee, region };
  });
  const unknown = rows.filter((r) => !r.region);
  if (unknown.length) {
    return { error: 'a shipping row names no region we know: "' + unknown.map((r) => (r.row.textContent || '').trim()).join('", "') + '"' };
  }
  const regions = rows.map((r) => r.region);
  const missing = Object.keys(v.fees).filter((r) => !regions.includes(r));
  if (missing.length) return { error: 'the add form has no shipping row for ' + missing.join(', ') + ' (rows: ' + regions.join(', ') + ')' };
  const fire = (el, ...types) => { for (const type of types) el.dispatchEvent(new Event(type, { bubbles: true })); };
  const removeControl = (row) => {
    const all = [...row.querySelectorAll('a, button, span, i, img, div, input[type="button"], input[type="image"]')];
    const says = (el) => /^[\\u00d7xX\\u2715\\u2716\\u2717]$/.test((el.textContent || el.value || '').trim());
    const named = (el) => /remove|delete|close/i.test([el.getAttribute('title'), el.getAttribute('aria-label'), el.getAttribute('alt')].join(' '));
    const classed = (el) => /remove|delete|close|times/i.test(el.getAttribute('class') || '');
    for (const test of [says, named, classed]) {
      const hits = all.filter(test);
      // The outermost hit: the link, not the icon inside it.
      const outer = hits.find((el) => !hits.some((other) => other !== el && other.contains(el)));
      if (outer) return outer;
    }
    return null;
  };
  const removed = [];
  for (const r of rows) {
    if (v.fees[r.region] !== undefined) {
      r.fee.focus();
      r.fee.value = String(v.fees[r.region]);
      fire(r.fee, 'input', 'change');
      r.fee.blur();
      continue;
    }
    // Emptied first: even a row only hidden, not removed, then sends no fee.
    r.fee.value = '';
    fire(r.fee, 'input', 'change');
    const control = removeControl(r.row);
    if (!control) return { error: 'the shipping row for ' + r.region + ' has no remove (\\u00d7) control' };
    control.click();
    removed.push(r.region);
  }
  window.__vrRemovedRows = rows.filter((r) => removed.includes(r.region)).map((r) => r.row);
  return { removed, regions };
}`;

/** Every removed row is gone (or hidden, its fee empty or out of the form). */
const ROWS_GONE = `(() => (window.__vrRemovedRows || []).every((row) =>
  !row.isConnected || !(row.checkVisibility ? row.checkVisibility({ visibilityProperty: true }) : row.getClientRects().length > 0)))()`;

/** The plain fields and boxes; ticking available_for_shipment starts the shipping rows showing. */
async function fillFields(page: Page, values: FormValues): Promise<void> {
  const texts: Array<[string, string]> = [['model_name', values.model]];
  if (values.finish) texts.push(['finish_color', values.finish]);
  texts.push(['price', String(values.price)]);
  const offersShipping = Object.keys(values.shippingFees).length > 0;
  const flags: Array<[string, boolean]> = [
    ...Object.entries(values.flags),
    ['local_pickup', values.localPickup],
    ['available_for_shipment', offersShipping],
  ];
  const inPage: InPageFields = {
    texts,
    year: values.year ? String(values.year) : null,
    decade: values.year ? String(Math.floor(values.year / 10) * 10) : null,
    flags,
    unit: values.processingTime?.unit ?? null,
  };
  const missing = (await page.evaluate(`(${FILL_FIELDS})(${JSON.stringify(inPage)})`)) as string[];
  if (missing.length) throw new FormMarkupError(`the add form has no ${missing.join(', ')} field`);
  if (values.processingTime) {
    const processing = page.locator('form#frm_step1 input[name="processing_time"]');
    if ((await processing.count()) === 0)
      throw new FormMarkupError('the add form has no processing_time field');
    // Pre-filled by V&R (e.g. 3): fill replaces it.
    await processing.fill(String(values.processingTime.amount));
  }
}

/** The shipping rows are there, showing, and nothing of the page's is loading. */
const ROWS_SHOWN = `(() => {
  const rows = document.querySelector('form#frm_step1 div.ships_to') || document.querySelector('div.ships_to');
  const shown = rows && (rows.checkVisibility ? rows.checkVisibility({ visibilityProperty: true }) : rows.getClientRects().length > 0);
  return Boolean(shown && rows.querySelector('input[name="shipping_fees_fee[]"]') && !(window.__vrProbe && window.__vrProbe.pending));
})()`;

async function fillShipping(page: Page, values: FormValues, t: FormTimeouts): Promise<void> {
  if (Object.keys(values.shippingFees).length === 0) return;
  // Ticked with the fields: the rows have been coming since. Their own signal, else a settled page.
  try {
    await page.waitForFunction(`${ROWS_SHOWN} || (${SETTLED})(${QUIET_MS})`, undefined, {
      timeout: t.stepMs,
      polling: 15,
    });
  } catch (error) {
    throw new FormMarkupError(
      `the add form kept loading while shipping was ticked (still busy after ${t.stepMs} ms): ${firstLine(error)}`,
    );
  }
  const result = (await page.evaluate(
    `(${FILL_SHIPPING})(${JSON.stringify({ fees: values.shippingFees })})`,
  )) as {
    error?: string;
    removed?: string[];
  };
  if (result.error) throw new FormMarkupError(result.error);
  if (result.removed?.length) {
    try {
      await page.waitForFunction(ROWS_GONE, undefined, { timeout: t.stepMs, polling: 15 });
    } catch {
      throw new FormMarkupError(
        `the shipping rows for ${result.removed.join(', ')} were still showing after their × was clicked`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Photos and description

const HAS_UPLOAD = `(id) => [...document.querySelectorAll('input[name="file_unique_id[]"]')].some((i) => i.value === id)`;

export const isUpload = (request: Request) =>
  request.method() === 'POST' && /^\/ajax\/dropzone_upload\//.test(new URL(request.url()).pathname);

/**
 * One photo at a time through Dropzone's current hidden file input (re-created after each use),
 * each confirmed by its `file_unique_id[]` in the form before the next.
 */
async function uploadPhotos(page: Page, images: ImageFile[], t: FormTimeouts): Promise<void> {
  for (const [index, image] of images.entries()) {
    const input = page.locator('input[type="file"].dz-hidden-input').last();
    if ((await input.count()) === 0) {
      throw new FormMarkupError('the add form has no photo upload (Dropzone input.dz-hidden-input)');
    }
    const answered = page.waitForResponse((r) => isUpload(r.request()), { timeout: t.stepMs });
    // observed where it is awaited, below
    answered.catch(() => {});
    await input.setInputFiles({ name: image.name, mimeType: image.mimeType, buffer: image.buffer });
    let reply: { status: number; body: string };
    try {
      const response = await answered;
      reply = { status: response.status(), body: await response.text() };
    } catch (error) {
      throw new FormMarkupError(`photo ${index + 1} (${image.name}) was not uploaded: ${firstLine(error)}`);
    }
    if (isRetryableStatus(reply.status)) {
      throw new VrUnavailableError(`the photo upload answered HTTP ${reply.status}`);
    }
    let item: { success?: unknown; file_unique_id?: unknown; error?: unknown } | undefined;
    try {
      const parsed = JSON.parse(reply.body) as unknown;
      item = Array.isArray(parsed) ? parsed[0] : (parsed as typeof item);
    } catch {
      throw new FormMarkupError(
        `the photo upload answered HTTP ${reply.status} with no JSON: ${reply.body.slice(0, 120)}`,
      );
    }
    if (!item?.success || item.file_unique_id === undefined) {
      throw new VrRejectedError(
        `images.${index}: V&R refused the photo (${image.name}, ${image.buffer.length} bytes): ${String(item?.error ?? reply.body.slice(0, 200))}`,
      );
    }
    try {
      await page.waitForFunction(
        `(${HAS_UPLOAD})(${JSON.stringify(String(item.file_unique_id))})`,
        undefined,
        {
          timeout: t.stepMs,
          polling: 15,
        },
      );
    } catch {
      throw new FormMarkupError(
        `photo ${index + 1} was uploaded (file_unique_id ${String(item.file_unique_id)}) but the form never held it`,
      );
    }
  }
}

const TINYMCE_READY = `(() => { const ed = window.tinymce && window.tinymce.get && window.tinymce.get('item_desc');
  return Boolean(ed && ed.initialized); })()`;

const SET_DESCRIPTION = `(html) => {
  const ed = window.tinymce.get('item_desc');
  ed.setContent(html);
  if (typeof ed.save === 'function') ed.save();
  return ed.getContent();
}`;

async function setDescription(page: Page, values: FormValues, tinymceReady: Promise<unknown>): Promise<void> {
  try {
    await tinymceReady;
  } catch (error) {
    throw new FormMarkupError(
      `the description editor (TinyMCE item_desc) never became ready: ${firstLine(error)}`,
    );
  }
  const content = String(
    await page.evaluate(`(${SET_DESCRIPTION})(${JSON.stringify(values.descriptionHtml)})`),
  );
  if (values.mustKeepText && !content.includes(values.mustKeepText)) {
    throw new FormMarkupError(`the description editor dropped "${values.mustKeepText}"`);
  }
}

/**
 * Fills the whole form. Waits only on the page: each category level for its options, the brand
 * suggestions for V&R's answer, TinyMCE for its own readiness, each photo for its id in the form.
 */
export async function fillForm(page: Page, values: FormValues, timeouts: FormTimeouts): Promise<void> {
  // TinyMCE is slow to start: waited for from the beginning, used last.
  const tinymceReady = page.waitForFunction(TINYMCE_READY, undefined, {
    timeout: timeouts.stepMs,
    polling: 25,
  });
  // observed where it is awaited (setDescription)
  tinymceReady.catch(() => {});
  await installSettleProbe(page);
  await chooseCategory(page, values.category, timeouts);
  // The fields before the brand: the shipping rows they show come while the brand is typed.
  await fillFields(page, values);
  await typeBrand(page, values, timeouts);
  await fillShipping(page, values, timeouts);
  if (values.images.length) await uploadPhotos(page, values.images, timeouts);
  await setDescription(page, values, tinymceReady);
  await waitSettled(page, 'the form was filled', timeouts.stepMs);
  await checkCategoryLeaf(page, values.category);
}
