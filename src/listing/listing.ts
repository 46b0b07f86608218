import { z } from 'zod';
import { NeverRetryError } from '../errors.ts';
import { type CategoryNode, resolveCategory, shippedCategoryTree } from '../vr/categories.ts';
import { sanitizeDescription } from './description.ts';

/** Limits on what one listing may carry; anything over is refused with the limit named. */
export const LIMITS = {
  productRef: 100,
  brand: 100,
  model: 200,
  finish: 100,
  category: 200,
  description: 60_000,
  /** UTF-8 bytes: what V&R stores (a 64 KB text column), with room for the reference marker. */
  descriptionBytes: 60_000,
  /** V&R takes at most 20 photos per listing (and 10 MB in all, which the worker reaches by scaling). */
  images: 20,
  /** A shipping fee, in the account's currency. */
  shippingFee: 1_000_000,
  /** `processingTime`'s number (`3 Days`). */
  processingTime: 365,
  imageUrl: 2_000,
  price: 10_000_000,
  /** Listings in one bulk call (producer, API, one `vr-lister enqueue` file). */
  bulkListings: 10_000,
  /**
   * Description bytes (as sent, before cleaning) in one bulk call: cleaning is the costly part of
   * validation, and this bounds what one call can ask of it.
   */
  descriptionBytesPerCall: 16 * 1024 * 1024,
  /** Bytes in one HTTP request body (POST /api/vr/jobs): a bigger batch is split into several calls. */
  requestBodyBytes: 32 * 1024 * 1024,
} as const;

export const CURRENCIES = ['GBP', 'EUR', 'USD', 'CHF', 'SEK', 'NOK', 'DKK', 'JPY', 'AUD', 'CAD'] as const;

// Lone surrogates cannot be stored as UTF-8; control characters have no place in a listing.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const CONTROL_OR_NEWLINE = /[\u0000-\u001F\u007F]/;
// What can make a one-line field show other than what it holds (a title spoofed by `\u202E`): C1
// controls, bidi controls and marks, zero-width characters, and the Unicode line and paragraph separators.
const DECEPTIVE = /[\u0080-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u;

const codePoint = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

function hasNoCredentials(value: string): boolean {
  try {
    const url = new URL(value);
    return url.username === '' && url.password === '';
  } catch {
    return true;
  }
}

function isHttpUrl(value: string): boolean {
  // No whitespace, control characters or lone surrogates anywhere, and a URL the WHATWG parser takes.
  if (!/^https?:\/\/[^\s\u0000-\u001F\u007F]+$/.test(value) || LONE_SURROGATE.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

function text(max: number, { multiline = false } = {}) {
  return z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .max(max, `must be at most ${max} characters`)
    .refine((v) => !LONE_SURROGATE.test(v), 'contains invalid unicode (a lone surrogate)')
    .refine((v) => !(multiline ? CONTROL : CONTROL_OR_NEWLINE).test(v), 'contains control characters')
    .superRefine((v, ctx) => {
      const found = multiline ? null : DECEPTIVE.exec(v);
      if (found) {
        ctx.addIssue({
          code: 'custom',
          message: `contains an invisible or direction-changing character (${codePoint(found[0])})`,
        });
      }
    })
    .transform((v) => (multiline ? v : v.trim()));
}

const required = (max: number) => text(max).pipe(z.string().min(1, 'must not be empty'));

/** The regions of the form's shipping rows (`div.ships_to`), in the form's order. */
export const SHIPPING_REGIONS = ['uk', 'europe', 'usa', 'world'] as const;
export type ShippingRegion = (typeof SHIPPING_REGIONS)[number];
/** Fee per region offered; a region left out is removed from the form (not shipped to). */
export type ShippingFees = Partial<Record<ShippingRegion, number>>;

const fee = z
  .number({ error: 'must be a number' })
  .int('must be a whole number (in the account currency)')
  .min(0, 'must be 0 or more')
  .max(LIMITS.shippingFee, `must be at most ${LIMITS.shippingFee}`);

const flag = z.boolean({ error: 'must be true or false' });

/** The form's `hours_days_sel` units. */
export const PROCESSING_UNITS = ['Days', 'Weeks', 'Months'] as const;

const PROCESSING_TIME = /^(\d{1,3})\s*(day|days|week|weeks|month|months)$/i;

/** `3 days`, `2 Weeks`, `1 month` → `3 Days`, `2 Weeks`, `1 Months`: the form's number and unit. */
export function parseProcessingTime(
  value: string,
): { amount: number; unit: (typeof PROCESSING_UNITS)[number] } | undefined {
  const m = PROCESSING_TIME.exec(value.trim());
  if (!m) return undefined;
  const amount = Number(m[1]);
  if (amount < 1 || amount > LIMITS.processingTime) return undefined;
  const unit = PROCESSING_UNITS.find((u) => u.toLowerCase().startsWith(m[2]!.toLowerCase().slice(0, 3)))!;
  return { amount, unit };
}

export const listingSchema = z.strictObject(
  {
    productRef: z
      .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._:/#@+-]*$/,
        'must start with a letter or digit and use only letters, digits and . _ : / # @ + -',
      )
      .max(LIMITS.productRef, `must be at most ${LIMITS.productRef} characters`),
    brand: required(LIMITS.brand),
    model: required(LIMITS.model),
    price: z
      .number({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a number') })
      .int('must be a whole number (V&R prices are whole units)')
      .positive('must be greater than 0')
      .max(LIMITS.price, `must be at most ${LIMITS.price}`),
    currency: z.enum(CURRENCIES, { error: `must be one of ${CURRENCIES.join(', ')}` }).optional(),
    year: z
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1800, 'must be 1800 or later')
      // Checked when it runs, not when the module loaded: a process running over New Year, and
      // the API's published contract, stay right.
      .superRefine((v, ctx) => {
        const latest = new Date().getUTCFullYear() + 1;
        if (v > latest) ctx.addIssue({ code: 'custom', message: `must be ${latest} or earlier` });
      })
      .optional(),
    finish: text(LIMITS.finish).optional(),
    // Stored cleaned (see sanitizeDescription), and the limit is on what is stored and sent.
    description: text(LIMITS.description, { multiline: true })
      .transform(sanitizeDescription)
      .refine(
        (v) => Buffer.byteLength(v, 'utf8') <= LIMITS.descriptionBytes,
        `must be at most ${LIMITS.descriptionBytes} bytes in UTF-8 (as cleaned HTML)`,
      )
      .optional(),
    category: text(LIMITS.category)
      .refine((v) => v.split('>').every((part) => part.trim().length > 0), 'must be names separated by >')
      .optional(),
    images: z
      .array(
        z
          .string({ error: 'must be a string' })
          .max(LIMITS.imageUrl, `must be at most ${LIMITS.imageUrl} characters`)
          .refine(isHttpUrl, 'must be an http(s) URL')
          .refine(hasNoCredentials, 'must not carry a user name or password'),
        { error: 'must be an array of image URLs' },
      )
      .max(LIMITS.images, `must have at most ${LIMITS.images} images`)
      .optional(),
    allowFallbackBrand: z.boolean({ error: 'must be true or false' }).optional(),
    shipping: z
      .strictObject(
        {
          fees: z
            .strictObject(
              Object.fromEntries(SHIPPING_REGIONS.map((r) => [r, fee.optional()])) as Record<
                ShippingRegion,
                z.ZodOptional<typeof fee>
              >,
              {
                error: (issue) =>
                  issue.code === 'unrecognized_keys'
                    ? `has an unknown region: the regions are ${SHIPPING_REGIONS.join(', ')}`
                    : 'must be an object of fees per region',
              },
            )
            .optional(),
          localPickup: flag.optional(),
        },
        {
          error: (issue) =>
            issue.code === 'unrecognized_keys'
              ? 'has an unknown key: use fees and localPickup'
              : 'must be an object { fees, localPickup }',
        },
      )
      .optional(),
    processingTime: z
      .string({ error: 'must be a string such as "3 Days"' })
      .max(40, 'must be at most 40 characters')
      .refine(
        (v) => parseProcessingTime(v) !== undefined,
        `must be a number from 1 to ${LIMITS.processingTime} and Days, Weeks or Months, such as "3 Days"`,
      )
      .transform((v) => {
        const t = parseProcessingTime(v)!;
        return `${t.amount} ${t.unit}`;
      })
      .optional(),
    /** The form's "Buy now" box; ticked unless false. */
    buyNow: flag.optional(),
    /** "Show VAT", "Call for price", "On Dealers Collective": left as the form serves them unless given. */
    showVat: flag.optional(),
    callForPrice: flag.optional(),
    onDealersCollective: flag.optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : 'must be an object') },
);

/** A listing as the producer takes it. */
export type ListingInput = z.input<typeof listingSchema>;
/** A listing after validation: trimmed, typed, as stored in `vr_jobs.payload.listing`. */
export type Listing = z.output<typeof listingSchema>;

export interface FieldError {
  /** Index in a bulk call; absent for a single listing. */
  index?: number;
  field: string;
  message: string;
}

/** Thrown for an invalid listing; nothing has been written or enqueued. */
export class ValidationError extends NeverRetryError {
  override name = 'ValidationError';
  constructor(readonly errors: FieldError[]) {
    super(
      `Invalid listing: ${errors
        .slice(0, 20)
        .map((e) => `${e.index === undefined ? '' : `[${e.index}] `}${e.field} ${e.message}`)
        .join('; ')}${errors.length > 20 ? `; and ${errors.length - 20} more` : ''}`,
    );
  }
}

export function fieldErrors(error: z.ZodError, index?: number): FieldError[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      // An empty key still needs a visible name; a nested one (shipping.fees.mars) says what is known.
      return issue.keys.map((key) => ({
        index,
        field: [...issue.path.map(String), key || '""'].join('.'),
        message: issue.path.length ? issue.message : 'is not a known field',
      }));
    }
    const field = issue.path.length ? issue.path.map(String).join('.') : '(listing)';
    return [{ index, field, message: issue.message }];
  });
}

/**
 * What a listing gets when it leaves something out (from VR_DEFAULT_CATEGORY, VR_SHIPPING_FEES and
 * VR_LOCAL_PICKUP), and the category tree it is checked against (the shipped one by default).
 */
export interface ListingDefaults {
  /** A leaf path; used when a listing has no category. */
  category?: string;
  shippingFees?: ShippingFees;
  localPickup?: boolean;
  categories?: readonly CategoryNode[];
}

/**
 * A listing ready for the form: its category resolved to a leaf of V&R's tree, in the tree's own
 * spelling, and its shipping decided. Throws a FieldError list otherwise.
 */
export function completeListing(listing: Listing, defaults: ListingDefaults = {}, index?: number): Listing {
  const errors: FieldError[] = [];
  const tree = defaults.categories ?? shippedCategoryTree();
  let category: string | undefined;
  const asked = listing.category ?? defaults.category;
  if (asked === undefined) {
    errors.push({
      index,
      field: 'category',
      message:
        'is required (a leaf of V&R\'s category tree, such as "Guitars>Electric solid body"; or give the producer listingDefaults.category, which the CLI and API read from VR_DEFAULT_CATEGORY)',
    });
  } else {
    const resolved = resolveCategory(tree, asked);
    if (resolved.ok) category = resolved.path;
    else
      errors.push({
        index,
        field: 'category',
        message:
          listing.category === undefined
            ? `(listingDefaults.category "${asked}") ${resolved.message}`
            : resolved.message,
      });
  }
  const fees = listing.shipping?.fees ?? defaults.shippingFees ?? {};
  const localPickup = listing.shipping?.localPickup ?? defaults.localPickup ?? false;
  const offered = Object.fromEntries(
    SHIPPING_REGIONS.flatMap((r) => (fees[r] === undefined ? [] : [[r, fees[r]]])),
  ) as ShippingFees;
  if (Object.keys(offered).length === 0 && !localPickup) {
    errors.push({
      index,
      field: 'shipping',
      message: `must offer a fee for at least one region (${SHIPPING_REGIONS.join(', ')}) or local pickup (or give the producer listingDefaults.shippingFees or .localPickup, which the CLI and API read from VR_SHIPPING_FEES and VR_LOCAL_PICKUP)`,
    });
  }
  if (errors.length) throw new ValidationError(errors);
  return { ...listing, category, shipping: { fees: offered, localPickup } };
}

/** Validates one listing; with `defaults`, also completes it for the form (see completeListing). */
export function validateListing(input: unknown, defaults?: ListingDefaults): Listing {
  const parsed = listingSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError(fieldErrors(parsed.error));
  return defaults ? completeListing(parsed.data, defaults) : parsed.data;
}

/** Completes every listing (completeListing), naming the index of each error. */
export function completeListings(listings: readonly Listing[], defaults: ListingDefaults = {}): Listing[] {
  const errors: FieldError[] = [];
  const done: Listing[] = [];
  listings.forEach((listing, index) => {
    try {
      done.push(completeListing(listing, defaults, listings.length > 1 ? index : undefined));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      errors.push(...error.errors);
    }
  });
  if (errors.length) throw new ValidationError(errors);
  return done;
}

/**
 * Validates every listing; one bad entry rejects the whole batch, with every error listed. With
 * `defaults`, also completes each for the form (see completeListing).
 */
export function validateListings(inputs: unknown, defaults?: ListingDefaults): Listing[] {
  const steps = validation(inputs, defaults);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** How long validation runs before it lets other work (another request, /healthz) in. */
const SLICE_MS = 10;

/**
 * validateListings for a server: the same result, but the work (description cleaning above all)
 * is cut into slices of about SLICE_MS, so that a large call never holds the event loop for long.
 */
export async function validateListingsYielding(
  inputs: unknown,
  defaults?: ListingDefaults,
): Promise<Listing[]> {
  const steps = validation(inputs, defaults);
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - sliceStart >= SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}

function descriptionBytes(inputs: readonly unknown[]): number {
  let total = 0;
  for (const input of inputs) {
    const description = (input as { description?: unknown } | null)?.description;
    if (typeof description === 'string') total += Buffer.byteLength(description, 'utf8');
  }
  return total;
}

/** The bulk validation, yielding after each listing (validateListings runs it through). */
function* validation(inputs: unknown, defaults?: ListingDefaults): Generator<void, Listing[]> {
  if (!Array.isArray(inputs)) {
    throw new ValidationError([{ field: '(listings)', message: 'must be an array of listings' }]);
  }
  if (inputs.length === 0) throw new ValidationError([{ field: '(listings)', message: 'must not be empty' }]);
  if (inputs.length > LIMITS.bulkListings) {
    throw new ValidationError([
      { field: '(listings)', message: `must have at most ${LIMITS.bulkListings} listings per call` },
    ]);
  }
  if (descriptionBytes(inputs) > LIMITS.descriptionBytesPerCall) {
    throw new ValidationError([
      {
        field: '(listings)',
        message: `must have at most ${LIMITS.descriptionBytesPerCall} bytes of descriptions in all per call; send fewer listings per call`,
      },
    ]);
  }
  const errors: FieldError[] = [];
  const listings: Listing[] = [];
  const seen = new Map<string, number>();
  for (const [index, input] of inputs.entries()) {
    yield;
    const parsed = listingSchema.safeParse(input);
    if (!parsed.success) {
      errors.push(...fieldErrors(parsed.error, index));
      continue;
    }
    const first = seen.get(parsed.data.productRef);
    if (first !== undefined) {
      errors.push({ index, field: 'productRef', message: `repeats the productRef of listing ${first}` });
    }
    seen.set(parsed.data.productRef, index);
    if (!defaults) {
      listings.push(parsed.data);
      continue;
    }
    try {
      listings.push(completeListing(parsed.data, defaults, index));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      errors.push(...error.errors);
    }
  }
  if (errors.length) throw new ValidationError(errors);
  return listings;
}
