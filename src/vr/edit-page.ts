import type { Page } from 'playwright-core';
import { SHIPPING_REGIONS, type ShippingRegion } from '../listing/listing.ts';
import { type BrowserSession, SESSION_EXPIRED } from './browser-session.ts';
import { isRetryableStatus, VrUnavailableError } from './errors.ts';
import { readPageSession } from './page-session.ts';

/**
 * A listing's edit page (`/instruments/add_edit_item/<id>`): `form#frm_step1` pre-filled with what
 * V&R stored. It is only ever read here, never submitted: the read-back compares it with what was
 * asked. Field names are the add form's (see creation/listing-form.ts).
 */

/** The edit page of a listing. */
export function editPagePath(vrListingId: string | number): string {
  return `/instruments/add_edit_item/${encodeURIComponent(String(vrListingId))}`;
}

/** One level of the category cascade as the page preselects it. */
export interface StoredCategoryLevel {
  /** The option's value (V&R's category id). */
  id: string;
  /** The option's text. */
  label: string;
}

/** One `shipping_fees_fee[]` / `shipping_fees_destination[]` pair, as the page holds it. */
export interface StoredShippingRow {
  /** The region the row names (by its text, else its destination value); null when unknown. */
  region: ShippingRegion | null;
  /** The row's `shipping_fees_destination[]` value. */
  destination: string;
  /** The row's text (its label, e.g. "UK"). */
  label: string;
  /** The fee as the field holds it ('' for none). */
  fee: string;
}

/** What V&R stored for a listing, as its edit page shows it. */
export interface StoredListing {
  vrListingId: string;
  /** The cascade's selected options, top level first. */
  categoryPath: StoredCategoryLevel[];
  /** Field values as the page holds them (strings; '' when empty). */
  price: string;
  brand: string;
  model: string;
  year: string;
  /** Every shipping row, in the page's order. */
  shippingRows: StoredShippingRow[];
  /** The fee per region, for the rows whose fee is a number. */
  shippingFees: Partial<Record<ShippingRegion, number>>;
  localPickup: boolean;
  availableForShipment: boolean;
  /** `processing_time` and `hours_days_sel` (the unit's option text). */
  processingTime: { amount: string; unit: string };
  /** Photos already stored (elements carrying `data-product_media_id`). */
  photoCount: number;
  photoMediaIds: string[];
  /** `item_desc`, the description's HTML. */
  descriptionHtml: string;
}

export type EditPageOutcome =
  | { kind: 'found'; listing: StoredListing }
  /** V&R has no such listing (404, or a page without the form saying so). */
  | { kind: 'not_found'; detail: string }
  /** The listing belongs to another account. */
  | { kind: 'forbidden'; detail: string };

/** The edit page answered with neither the form nor a known refusal. */
export class EditPageMarkupError extends Error {
  override name = 'EditPageMarkupError';
}

/** What the page function returns: raw values, interpreted in Node. */
interface RawEditPage {
  form: boolean;
  productId: string;
  categories: StoredCategoryLevel[];
  fields: Record<string, string>;
  checks: Record<string, boolean>;
  unit: string;
  rows: Array<{ destination: string; label: string; fee: string }>;
  photoIds: string[];
  description: string;
  text: string;
}

/**
 * Runs in the page. Written as a function (type-checked), with no named inner functions or
 * arrow-function constants: tsx wraps those in a `__name` helper the page doesn't have.
 */
function readEditForm(): RawEditPage {
  const form = document.querySelector<HTMLFormElement>('form#frm_step1');
  // biome-ignore lint/performance/useDomNodeTextContent: the words shown, not inline scripts' source
  const text = (document.body?.innerText ?? '').slice(0, 2_000);
  if (!form) {
    return {
      form: false,
      productId: '',
      categories: [],
      fields: {},
      checks: {},
      unit: '',
      rows: [],
      photoIds: [],
      description: '',
      text,
    };
  }
  const fields: Record<string, string> = {};
  for (const name of ['product_id', 'price', 'recipient_name', 'model_name', 'year', 'processing_time']) {
    const el = form.querySelector<HTMLInputElement>(`[name="${name}"]`);
    fields[name] = el ? el.value : '';
  }
  const checks: Record<string, boolean> = {};
  for (const name of ['local_pickup', 'available_for_shipment']) {
    const el = form.querySelector<HTMLInputElement>(`input[type="checkbox"][name="${name}"]`);
    checks[name] = Boolean(el?.checked);
  }
  const categories: StoredCategoryLevel[] = [];
  for (let level = 0; level < 10; level++) {
    const select = form.querySelector<HTMLSelectElement>(`select[name="categ_level_${level}"]`);
    if (!select?.value) break;
    const option = select.selectedOptions[0];
    categories.push({ id: select.value, label: (option?.textContent ?? '').trim() });
  }
  const unitSelect = form.querySelector<HTMLSelectElement>('select[name="hours_days_sel"]');
  const unit = unitSelect ? (unitSelect.selectedOptions[0]?.textContent ?? unitSelect.value).trim() : '';
  const fees = [...document.querySelectorAll<HTMLInputElement>('input[name="shipping_fees_fee[]"]')];
  const rows = fees.map((fee) => {
    // The row: the largest ancestor holding this fee alone.
    let row: HTMLElement = fee;
    while (
      row.parentElement &&
      row.parentElement !== form &&
      row.parentElement.querySelectorAll('input[name="shipping_fees_fee[]"]').length === 1
    )
      row = row.parentElement;
    const destination = row.querySelector<HTMLInputElement>('input[name="shipping_fees_destination[]"]');
    return {
      destination: destination ? destination.value : '',
      label: (row.textContent ?? '').replace(/\s+/g, ' ').trim(),
      fee: fee.value.trim(),
    };
  });
  const photoIds = [...document.querySelectorAll('[data-product_media_id]')]
    .map((el) => el.getAttribute('data-product_media_id') ?? '')
    .filter((id) => id !== '' && id !== '0');
  const desc = form.querySelector<HTMLTextAreaElement>('textarea[name="item_desc"]');
  return {
    form: true,
    productId: fields.product_id ?? '',
    categories,
    fields,
    checks,
    unit,
    rows,
    photoIds: [...new Set(photoIds)],
    description: desc ? desc.value : '',
    text,
  };
}

/** The region a shipping row names, by its text (UK, Europe, USA, REST OF WORLD) or destination. */
export function shippingRegionOf(text: string): ShippingRegion | null {
  const t = ` ${text.toLowerCase().replace(/[^a-z]+/g, ' ')} `;
  const found: ShippingRegion[] = [];
  if (/ rest of (the )?world | worldwide | world | international | other /.test(t)) found.push('world');
  if (/ uk | united kingdom | great britain | gb /.test(t)) found.push('uk');
  if (/ europe | eu /.test(t)) found.push('europe');
  if (/ usa | us | united states | america /.test(t)) found.push('usa');
  return found.length === 1 ? found[0]! : null;
}

const NOT_FOUND_TEXT = /\b(404|not found|no longer available|does not exist)\b/i;
const FORBIDDEN_TEXT = /\b(forbidden|not allowed|permission|not your|access denied)\b/i;

/**
 * What V&R stored, read from an edit page already open in `page`. Throws EditPageMarkupError when
 * the page holds no `form#frm_step1`.
 */
export async function readStoredListing(page: Page): Promise<StoredListing> {
  const raw = await page.evaluate(readEditForm);
  if (!raw.form) throw new EditPageMarkupError(`the edit page has no form#frm_step1 (${page.url()})`);
  return toStoredListing(raw);
}

function toStoredListing(raw: RawEditPage): StoredListing {
  const shippingRows = raw.rows.map((r) => ({
    ...r,
    region: shippingRegionOf(r.label) ?? shippingRegionOf(r.destination),
  }));
  const shippingFees: Partial<Record<ShippingRegion, number>> = {};
  for (const r of shippingRows) {
    if (r.region && SHIPPING_REGIONS.includes(r.region) && /^\d+(\.\d+)?$/.test(r.fee))
      shippingFees[r.region] = Number(r.fee);
  }
  const f = (name: string) => (raw.fields[name] ?? '').trim();
  return {
    vrListingId: raw.productId,
    categoryPath: raw.categories,
    price: f('price'),
    brand: f('recipient_name'),
    model: f('model_name'),
    year: f('year'),
    shippingRows,
    shippingFees,
    localPickup: Boolean(raw.checks.local_pickup),
    availableForShipment: Boolean(raw.checks.available_for_shipment),
    processingTime: { amount: f('processing_time'), unit: raw.unit },
    photoCount: raw.photoIds.length,
    photoMediaIds: raw.photoIds,
    descriptionHtml: raw.description,
  };
}

/**
 * Opens the listing's edit page on a page of its own (closed afterwards), logged in, and reads
 * it. Never submits it. A logged-out page logs in again (once); an outage (5xx, 403/429 from
 * Cloudflare, maintenance) throws VrUnavailableError; V&R's own "not found" and "forbidden" are
 * outcomes.
 */
export async function openEditPage(session: BrowserSession, vrListingId: string): Promise<EditPageOutcome> {
  if (!/^\d+$/.test(vrListingId)) throw new Error(`vrListingId must be digits, got "${vrListingId}"`);
  return session.withLogin(async () => {
    const page = await session.newPage();
    try {
      return await readOn(session, page, vrListingId);
    } finally {
      await page.close().catch(() => {}); // best effort: the page may already be gone with the browser
    }
  });
}

async function readOn(
  session: BrowserSession,
  page: Page,
  vrListingId: string,
): Promise<EditPageOutcome | typeof SESSION_EXPIRED> {
  const response = await session.goto(page, editPagePath(vrListingId));
  const status = response?.status() ?? 200;
  const state = await readPageSession(page);
  if (!state.loggedIn && (state.loginForm || status < 400)) return SESSION_EXPIRED;
  const raw = await page.evaluate(readEditForm);
  if (status === 404)
    return { kind: 'not_found', detail: `the edit page answered HTTP 404 ("${state.title}")` };
  if (status === 403 && FORBIDDEN_TEXT.test(raw.text) && !raw.form)
    return { kind: 'forbidden', detail: `the edit page answered HTTP 403: ${firstLine(raw.text)}` };
  if (isRetryableStatus(status)) throw new VrUnavailableError(`the edit page answered HTTP ${status}`);
  if (!raw.form) {
    if (FORBIDDEN_TEXT.test(raw.text))
      return { kind: 'forbidden', detail: `the edit page says: ${firstLine(raw.text)}` };
    if (NOT_FOUND_TEXT.test(raw.text))
      return { kind: 'not_found', detail: `the edit page says: ${firstLine(raw.text)}` };
    throw new EditPageMarkupError(
      `the edit page (HTTP ${status}, "${state.title}") has no form#frm_step1: ${firstLine(raw.text)}`,
    );
  }
  const listing = toStoredListing(raw);
  if (listing.vrListingId && listing.vrListingId !== vrListingId) {
    throw new EditPageMarkupError(
      `the edit page of ${vrListingId} holds the form of listing ${listing.vrListingId}`,
    );
  }
  return { kind: 'found', listing: { ...listing, vrListingId } };
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(0, 3)
      .join(' / ')
      .slice(0, 200) || '(empty page)'
  );
}
