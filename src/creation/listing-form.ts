import type { Page, Request } from 'playwright-core';
import { isRetryableStatus, VrRejectedError, VrUnavailableError } from '../vr/errors.ts';
import { readLevel, tinymceReady as tinymceIsReady } from '../vr/page-scripts/cascade.ts';
import { installSettleProbe, QUIET_MS } from '../vr/page-settle.ts';
import {
  type FormCategoryLevel,
  FormMarkupError,
  type FormTimeouts,
  type FormValues,
  firstLine,
  type ImageFile,
  waitSettled,
} from './form-page.ts';
import {
  choosePath,
  fillFields,
  fillShipping,
  hasUpload,
  type InPageFields,
  type PickedBrand,
  pickSuggestion,
  rowsGone,
  rowsShownOrSettled,
  setDescription,
  startBrand,
} from './page-scripts/form.ts';

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
 * What runs in the page is in page-scripts/form.ts.
 */

// ---------------------------------------------------------------------------------------------
// Categories

async function chooseCategory(page: Page, levels: FormCategoryLevel[], t: FormTimeouts): Promise<void> {
  // One round trip: each sub-level's option is chosen in the page the moment it is there.
  const { chosen, found } = await page.evaluate(choosePath, {
    levels: levels.map((l) => ({ id: l.id, name: l.name })),
    waitMs: t.stepMs,
    pollMs: 15,
  });
  if (chosen === levels.length) return;
  const level = chosen;
  const node = levels[level]!;
  const path = levels.slice(0, level).map((l) => l.name);
  if (!found) {
    throw new FormMarkupError(
      level === 0
        ? 'the add form has no category select (categ_level_0)'
        : `no sub-level (categ_level_${level}) appeared under ${path.join('>')} within ${t.stepMs} ms`,
    );
  }
  throw new VrRejectedError(
    `category: V&R's form offers no "${node.name}" ${level === 0 ? 'at the top level' : `under ${path.join('>')}`}; it offers ${found.offered.join(', ')} (the shipped tree may be out of date: vr-lister categories --refresh)`,
  );
}

/**
 * A leaf in our tree must be a leaf in V&R's: nothing may show below it. Checked once the whole
 * form has settled (fillForm), so the wait for a sub-level that might load costs nothing extra.
 */
async function checkCategoryLeaf(page: Page, levels: FormCategoryLevel[]): Promise<void> {
  const below = (await page.evaluate(readLevel, levels.length)).map((o) => o.name);
  if (below.length > 0) {
    throw new VrRejectedError(
      `category: V&R's form has sub-levels below ${levels.map((l) => l.name).join('>')} (${below.join(', ')}); choose one, and refresh the tree (vr-lister categories --refresh)`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Brand

async function typeBrand(page: Page, values: FormValues, t: FormTimeouts): Promise<void> {
  // All but the last character set quietly, the last one typed: the page sees the events a person's
  // last keystroke makes (keydown, input, keyup) with the whole name, and asks for suggestions once.
  const name = values.brandName;
  const focused = await page.evaluate(startBrand, name.slice(0, -1));
  if (!focused) throw new FormMarkupError('the add form has no brand field (recipient_name)');
  await page.keyboard.type(name.slice(-1));
  // Our suggestion is picked the moment it shows; without one, once the page has settled. Waited
  // for in the page: one round trip.
  let result: PickedBrand | null;
  try {
    result = await page.evaluate(pickSuggestion, {
      id: values.brandId,
      name,
      quietMs: QUIET_MS,
      waitMs: t.stepMs,
      pollMs: 15,
    });
  } catch (error) {
    throw new FormMarkupError(`the brand suggestions could not be read: ${firstLine(error)}`);
  }
  if (!result) {
    throw new FormMarkupError(
      `the add form kept loading while the brand was typed (still busy after ${t.stepMs} ms)`,
    );
  }
  if (!result.value?.trim()) throw new FormMarkupError('the brand field was empty after typing the brand');
}

// ---------------------------------------------------------------------------------------------
// Plain fields, boxes, shipping

/** The plain fields and boxes; ticking available_for_shipment starts the shipping rows showing. */
async function fillPlainFields(page: Page, values: FormValues): Promise<void> {
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
  const missing = await page.evaluate(fillFields, inPage);
  if (missing.length) throw new FormMarkupError(`the add form has no ${missing.join(', ')} field`);
  if (values.processingTime) {
    const processing = page.locator('form#frm_step1 input[name="processing_time"]');
    if ((await processing.count()) === 0)
      throw new FormMarkupError('the add form has no processing_time field');
    // Pre-filled by V&R (e.g. 3): fill replaces it.
    await processing.fill(String(values.processingTime.amount));
  }
}

async function fillShippingRows(page: Page, values: FormValues, t: FormTimeouts): Promise<void> {
  if (Object.keys(values.shippingFees).length === 0) return;
  // Ticked with the fields: the rows have been coming since. Their own signal, else a settled page.
  try {
    await page.waitForFunction(rowsShownOrSettled, QUIET_MS, {
      timeout: t.stepMs,
      polling: 15,
    });
  } catch (error) {
    throw new FormMarkupError(
      `the add form kept loading while shipping was ticked (still busy after ${t.stepMs} ms): ${firstLine(error)}`,
    );
  }
  const result = await page.evaluate(fillShipping, { fees: values.shippingFees });
  if (result.error) throw new FormMarkupError(result.error);
  if (result.removed?.length) {
    try {
      await page.waitForFunction(rowsGone, undefined, { timeout: t.stepMs, polling: 15 });
    } catch {
      throw new FormMarkupError(
        `the shipping rows for ${result.removed.join(', ')} were still showing after their × was clicked`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Photos and description

export const isUpload = (request: Request) =>
  request.method() === 'POST' && /^\/ajax\/dropzone_upload\//.test(new URL(request.url()).pathname);

/**
 * One photo at a time through Dropzone's current hidden file input (re-created after each use),
 * each confirmed by its `file_unique_id[]` in the form before the next.
 */
export async function uploadPhotos(page: Page, images: ImageFile[], t: FormTimeouts): Promise<void> {
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
      await page.waitForFunction(hasUpload, String(item.file_unique_id), {
        timeout: t.stepMs,
        polling: 15,
      });
    } catch {
      throw new FormMarkupError(
        `photo ${index + 1} was uploaded (file_unique_id ${String(item.file_unique_id)}) but the form never held it`,
      );
    }
  }
}

async function setDescriptionHtml(
  page: Page,
  values: FormValues,
  tinymceReady: Promise<unknown>,
): Promise<void> {
  try {
    await tinymceReady;
  } catch (error) {
    throw new FormMarkupError(
      `the description editor (TinyMCE item_desc) never became ready: ${firstLine(error)}`,
    );
  }
  const content = String(await page.evaluate(setDescription, values.descriptionHtml));
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
  const tinymceReady = page.waitForFunction(tinymceIsReady, undefined, {
    timeout: timeouts.stepMs,
    polling: 25,
  });
  // observed where it is awaited (setDescription)
  tinymceReady.catch(() => {});
  // Installed before the categories are chosen (the page runs the two in order), without a round
  // trip of its own; already there when openForm installed it.
  const probe = installSettleProbe(page);
  probe.catch(() => {}); // awaited just below; this only keeps an early rejection handled
  await chooseCategory(page, values.category, timeouts);
  await probe;
  // The fields before the brand: the shipping rows they show come while the brand is typed.
  await fillPlainFields(page, values);
  await typeBrand(page, values, timeouts);
  await fillShippingRows(page, values, timeouts);
  if (values.images.length) await uploadPhotos(page, values.images, timeouts);
  await setDescriptionHtml(page, values, tinymceReady);
  await waitSettled(page, 'the form was filled', timeouts.stepMs);
  await checkCategoryLeaf(page, values.category);
}
