/**
 * The server's check of a Publish POST: the same rules as the page's jQuery Validate, again, plus
 * what only the server knows (the served unique_id, the brand list, the uploaded photos).
 */
import type { CategoryNode } from 'vr-lister/site-data';
import { findBrand } from './brands.ts';
import { REGIONS, type Region } from './catalog.ts';
import { formString, formStrings } from './http.ts';
import type { FieldErrors } from './pages.ts';
import { SHIPPING_REGIONS } from './pages.ts';
import type { NewListing, StoredUpload } from './state.ts';

export const MAX_PHOTOS = 20;
export const MAX_PHOTO_BYTES_TOTAL = 10 * 1024 * 1024;

export type FormCheck =
  | { ok: true; listing: NewListing }
  | { ok: false; errors: FieldErrors; generalError?: string };

export interface FormContext {
  tree: readonly CategoryNode[];
  issuedForms: ReadonlySet<string>;
  uploads: ReadonlyMap<string, StoredUpload>;
}

function regionOf(destination: string): Region | undefined {
  const d = destination.trim().toLowerCase();
  const found = SHIPPING_REGIONS.find((r) => r.code === d || r.label.toLowerCase() === d || r.key === d);
  return found?.key;
}

/** The category chosen level by level; an error unless it ends on a leaf. */
function checkCategory(
  form: FormData,
  tree: readonly CategoryNode[],
): { nodes: CategoryNode[] } | { error: string } {
  const nodes: CategoryNode[] = [];
  let level: readonly CategoryNode[] = tree;
  for (let i = 0; i < 8; i++) {
    const raw = formString(form, `categ_level_${i}`).trim();
    if (!raw) break;
    const node = level.find((c) => String(c.id) === raw);
    if (!node) return { error: i === 0 ? 'Please choose a category.' : 'Please choose a valid subcategory.' };
    nodes.push(node);
    level = node.children;
  }
  if (nodes.length === 0) return { error: 'Please choose a category.' };
  if (level.length > 0) return { error: 'Please choose a subcategory.' };
  return { nodes };
}

export function checkPublish(form: FormData, ctx: FormContext): FormCheck {
  const uniqueId = formString(form, 'unique_id');
  if (!uniqueId || !ctx.issuedForms.has(uniqueId)) {
    return {
      ok: false,
      errors: new Map(),
      generalError: 'Your session for this form has expired. Please reload the page and try again.',
    };
  }
  const errors: FieldErrors = new Map();
  const category = checkCategory(form, ctx.tree);
  if ('error' in category) errors.set('categ_level_0', category.error);

  const brand = formString(form, 'recipient_name');
  if (!brand.trim()) errors.set('recipient_name', 'This field is required.');
  else if (!findBrand(brand))
    errors.set('recipient_name', `Unknown brand: ${brand.trim()}. Please choose a brand from the list.`);
  const model = formString(form, 'model_name');
  if (!model.trim()) errors.set('model_name', 'This field is required.');
  const price = formString(form, 'price').trim();
  if (!price) errors.set('price', 'This field is required.');
  else if (!/^\d+(\.0+)?$/.test(price)) errors.set('price', 'Please enter a valid number.');
  else if (Number(price) <= 0) errors.set('price', 'Please enter a value greater than 0.');
  const year = formString(form, 'year').trim();
  if (year && !/^\d{4}$/.test(year)) errors.set('year', 'Please enter a valid year.');
  const processing = formString(form, 'processing_time').trim();
  if (!processing) errors.set('processing_time', 'This field is required.');
  else if (!/^\d+$/.test(processing)) errors.set('processing_time', 'Please enter a valid number.');

  const localPickup = formString(form, 'local_pickup') !== '';
  const shipping = formString(form, 'available_for_shipment') !== '';
  if (!localPickup && !shipping) errors.set('local_pickup', 'Please choose local pickup, shipping, or both.');
  const fees: Partial<Record<Region, number>> = {};
  if (shipping) {
    const amounts = formStrings(form, 'shipping_fees_fee[]');
    const destinations = formStrings(form, 'shipping_fees_destination[]');
    let filled = 0;
    amounts.forEach((amount, i) => {
      const a = amount.trim();
      if (!a) return;
      filled++;
      const region = regionOf(destinations[i] ?? '');
      if (!/^\d+(\.\d{1,2})?$/.test(a)) errors.set('shipping_fees_fee[]', 'Please enter a valid number.');
      else if (!region) errors.set('shipping_fees_fee[]', 'Unknown shipping destination.');
      else fees[region] = Number(a);
    });
    if (filled === 0) errors.set('shipping_fees_fee[]', 'Please enter at least one shipping fee.');
  }

  const ids = formStrings(form, 'file_unique_id[]').filter((s) => s !== '');
  const originals = formStrings(form, 'original_name[]');
  const photos = ids.map((id, i) => {
    const up = ctx.uploads.get(id);
    return up ? { ...up, name: originals[i] || up.name } : undefined;
  });
  if (photos.some((p) => !p))
    errors.set('photos', 'One of the photos was not uploaded. Please upload it again.');
  else if (photos.length > MAX_PHOTOS) errors.set('photos', `You can upload at most ${MAX_PHOTOS} photos.`);
  else if (photos.reduce((n, p) => n + p!.bytes, 0) > MAX_PHOTO_BYTES_TOTAL)
    errors.set('photos', 'Your photos are larger than 10 MB in all.');

  if (errors.size > 0 || 'error' in category) return { ok: false, errors };
  const unit = formString(form, 'hours_days_sel').trim() || 'Days';
  const flag = (name: string) => formString(form, name) !== '';
  return {
    ok: true,
    listing: {
      brand_name: brand,
      category_name: category.nodes.map((n) => n.name).join('>'),
      category_ids: category.nodes.map((n) => n.id),
      product_model_name: model,
      product_price: Math.round(Number(price)),
      product_description: formString(form, 'item_desc'),
      product_year: year,
      product_finish: formString(form, 'finish_color'),
      decade: formString(form, 'decade').trim(),
      call_price: flag('call_price'),
      buy_now: flag('buy_now'),
      show_vat: flag('show_vat'),
      local_pickup: localPickup,
      available_for_shipment: shipping,
      shipping_fees: Object.fromEntries(REGIONS.filter((r) => r in fees).map((r) => [r, fees[r]!])),
      processing_time: `${processing} ${unit}`,
      offer_discount: formString(form, 'offer_discount').trim() || '0',
      discounted_price: formString(form, 'discounted_price').trim(),
      external_url: formString(form, 'external_url').trim(),
      product_order: '0',
      photos: photos.map((p) => ({
        file_unique_id: p!.file_unique_id,
        name: p!.name,
        stored_name: p!.stored_name,
        bytes: p!.bytes,
        type: p!.type,
      })),
      video_url: '',
      external_link: '',
      source: 'form',
    },
  };
}

/** What the bytes are, whatever the name or declared type says. */
export function sniffImageType(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png';
  if (bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46) return 'image/gif';
  if (
    bytes[0] === 0x52 &&
    bytes[1] === 0x49 &&
    bytes[2] === 0x46 &&
    bytes[3] === 0x46 &&
    bytes[8] === 0x57 &&
    bytes[9] === 0x45 &&
    bytes[10] === 0x42 &&
    bytes[11] === 0x50
  )
    return 'image/webp';
  return 'application/octet-stream';
}
