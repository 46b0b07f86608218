/**
 * Read-back: what V&R stored (the listing's edit page) compared with what was asked (the job's
 * listing, completed as creation completed it). Pure: no I/O.
 */
import type { JobPayload, VerificationDifference } from '../db/schema.ts';
import {
  completeListing,
  type ListingDefaults,
  parseProcessingTime,
  SHIPPING_REGIONS,
  type ShippingFees,
} from '../listing/listing.ts';
import {
  brandKey,
  createMarkerExtractor,
  DEFAULT_MARKER_TEMPLATE,
  markerFor,
  modelKey,
} from '../listing/normalize.ts';
import { resolveCategory, shippedCategoryTree } from '../vr/categories.ts';
import type { StoredListing } from '../vr/edit-page.ts';

export type { Verification, VerificationDifference, VerificationStatus } from '../db/schema.ts';

/** What was asked of V&R, in the terms the edit page shows. */
export interface AskedListing {
  /** Top level down to the leaf: ids and names from the category tree. */
  category: Array<{ id: number; name: string }>;
  price: number;
  /** The brand the form was filled with (the fallback brand when it was used). */
  brand: string;
  model: string;
  year: number | null;
  shippingFees: ShippingFees;
  localPickup: boolean;
  /** Null when the listing left the form's default. */
  processingTime: { amount: number; unit: string } | null;
  photoCount: number;
  /** The reference marker placed in the description, or null when marker mode was off. */
  marker: string | null;
}

/**
 * What a job asked, normalised as creation normalised it (category and shipping completed from
 * the defaults, the brand the form was filled with, the marker recorded at submit).
 */
export function askedFromJob(payload: JobPayload, defaults: ListingDefaults = {}): AskedListing {
  const listing = payload.listing;
  const complete = listing.category && listing.shipping ? listing : completeListing(listing, defaults);
  const resolved = resolveCategory(defaults.categories ?? shippedCategoryTree(), complete.category ?? '');
  const processing = listing.processingTime ? parseProcessingTime(listing.processingTime) : undefined;
  const criteria = payload.matchCriteria;
  return {
    category: resolved.ok ? resolved.nodes.map((n) => ({ id: n.id, name: n.name })) : [],
    price: listing.price,
    brand: criteria?.brand ?? listing.brand,
    model: listing.model,
    year: listing.year ?? null,
    shippingFees: complete.shipping?.fees ?? {},
    localPickup: complete.shipping?.localPickup ?? false,
    processingTime: processing ?? null,
    photoCount: listing.images?.length ?? 0,
    marker: criteria?.marker ?? null,
  };
}

const categoryKey = (s: string) => s.normalize('NFKC').toLowerCase().replace(/\s+/g, '');

function sameCategoryLevel(
  asked: { id: number; name: string },
  found: { id: string; label: string },
): boolean {
  return found.id === String(asked.id) || categoryKey(found.label) === categoryKey(asked.name);
}

/** A whole number from a field as the page holds it ('1,234' and '1234.00' are 1234); null if none. */
function fieldNumber(value: string): number | null {
  const cleaned = value.replace(/[,\s]/g, '');
  if (!/^\d+(\.\d+)?$/.test(cleaned)) return null;
  return Number(cleaned);
}

/**
 * Compares what was asked with what V&R stored: category path, price, brand, model, year,
 * shipping fees per region and local pickup, processing time, photo count, and the description's
 * reference marker (when marker mode was on).
 */
export function compareStored(
  asked: AskedListing,
  stored: StoredListing,
  markerTemplate: string = DEFAULT_MARKER_TEMPLATE,
): { status: 'ok' | 'mismatch'; differences: VerificationDifference[] } {
  const differences: VerificationDifference[] = [];
  const differ = (field: string, a: unknown, found: unknown) => differences.push({ field, asked: a, found });

  if (
    asked.category.length > 0 &&
    (asked.category.length !== stored.categoryPath.length ||
      asked.category.some((level, i) => !sameCategoryLevel(level, stored.categoryPath[i]!)))
  ) {
    differ(
      'category',
      asked.category.map((c) => c.name).join('>'),
      stored.categoryPath.map((c) => c.label).join('>') || null,
    );
  }
  const price = fieldNumber(stored.price);
  if (price !== asked.price) differ('price', asked.price, price ?? (stored.price || null));
  if (brandKey(stored.brand) !== brandKey(asked.brand)) differ('brand', asked.brand, stored.brand || null);
  if (modelKey(stored.model) !== modelKey(asked.model)) differ('model', asked.model, stored.model || null);
  if (asked.year !== null) {
    const year = fieldNumber(stored.year);
    if (year !== asked.year) differ('year', asked.year, year ?? (stored.year || null));
  }
  for (const region of SHIPPING_REGIONS) {
    const a = asked.shippingFees[region] ?? null;
    const found = stored.shippingFees[region] ?? null;
    if (a !== found) differ(`shipping.fees.${region}`, a, found);
  }
  if (stored.localPickup !== asked.localPickup)
    differ('shipping.localPickup', asked.localPickup, stored.localPickup);
  if (asked.processingTime) {
    const amount = fieldNumber(stored.processingTime.amount);
    const unit = parseProcessingTime(`${amount ?? ''} ${stored.processingTime.unit}`)?.unit ?? null;
    if (amount !== asked.processingTime.amount || unit !== asked.processingTime.unit) {
      differ(
        'processingTime',
        `${asked.processingTime.amount} ${asked.processingTime.unit}`,
        `${stored.processingTime.amount} ${stored.processingTime.unit}`.trim() || null,
      );
    }
  }
  if (stored.photoCount !== asked.photoCount) differ('photos', asked.photoCount, stored.photoCount);
  if (asked.marker !== null) {
    const refs = createMarkerExtractor(markerTemplate)(stored.descriptionHtml);
    if (!refs.some((ref) => markerFor(markerTemplate, ref) === asked.marker)) {
      differ(
        'description.marker',
        asked.marker,
        refs.length > 0 ? refs.map((r) => markerFor(markerTemplate, r)).join(', ') : null,
      );
    }
  }
  return { status: differences.length > 0 ? 'mismatch' : 'ok', differences };
}

/** The differences' fields, for a log line or a message: `shipping.fees.uk, price`. */
export function differenceFields(differences: readonly VerificationDifference[]): string {
  return differences.map((d) => d.field).join(', ');
}
