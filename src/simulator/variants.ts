/**
 * Markup variants: one coherent answer per point that nobody has captured on the real site
 * (vr-site.md marks them **unknown**). Variant 0 is the simulator's default, the answer we think
 * most likely; the others are other plausible sites. Code that relies on one guess fails a test.
 */

/** Where a failed login lands. */
export type FailedLoginLanding = 'same-url-login-failed' | 'login-page' | 'home-popup';
/** What a request with an expired (or no) session gets. */
export type ExpiredSessionLanding = 'home' | 'login-page' | 'same-url-popup';
/** The markup of the "published and live" message. */
export type SuccessMarkup = 'alert-div' | 'flash-p' | 'toast' | 'heading' | 'table-cell' | 'bare-div';
/** The markup of a server-side error tied to a field. */
export type FieldErrorMarkup =
  | 'validate-label'
  | 'help-block'
  | 'aria-summary'
  | 'small-invalid'
  | 'row-paragraph'
  | 'data-field-div';
/** The element holding the brand suggestions. */
export type SuggestionContainer = 'div-ul' | 'autosuggest-div' | 'jquery-ui' | 'suggesstion-box' | 'table';

export interface ExportFormat {
  contentType: string;
  /** `product_id` (as in the sample) or `product id` (as in V&R's own template). */
  headerSpelling: 'underscores' | 'spaces';
  /** `sample`: `product_id, brand_name, category_name, …`; `template`: `brand name, category name, product id, external id, …`. */
  columnOrder: 'sample' | 'template';
  /** A trailing comma on every line (as in the sample), or on the header only. */
  trailingComma: 'every-row' | 'header-only';
  contentDisposition: string;
}

export interface Variant {
  id: number;
  summary: string;
  failedLogin: FailedLoginLanding;
  expiredSession: ExpiredSessionLanding;
  success: SuccessMarkup;
  /** After a good Publish: 302 back to the blank form (message kept for one view), or the blank form served at once. */
  publishAnswer: 'redirect' | 'render';
  fieldError: FieldErrorMarkup;
  suggestions: SuggestionContainer;
  /** Whitespace inside `set_autosuggest_brands(…)`. */
  suggestionCall: (name: string, id: number) => string;
  /** Milliseconds before TinyMCE is ready on the add form. */
  tinymceInitMs: number;
  /** Fees the blank form pre-fills from the account (null = blank rows). */
  prefilledFees: null | { uk: string; europe: string; usa: string; world: string };
  /** The value of each row's hidden `shipping_fees_destination[]`. */
  destinationValues: 'numeric' | 'names';
  export: ExportFormat;
}

const compact = (name: string, id: number) => `set_autosuggest_brands('${name}', ${id})`;
const spaced = (name: string, id: number) => `set_autosuggest_brands( '${name}' , ${id} )`;
const tight = (name: string, id: number) => `set_autosuggest_brands('${name}',${id})`;

const today = () => new Date().toISOString().slice(0, 10);

export const VARIANTS: readonly Variant[] = [
  {
    id: 0,
    summary:
      'failed login: same URL ?login_failed=1; expired: home; success: div.alert after a redirect; field errors: jQuery Validate labels; export text/csv, product_id first, trailing comma on every row; TinyMCE ready after 1 s',
    failedLogin: 'same-url-login-failed',
    expiredSession: 'home',
    success: 'alert-div',
    publishAnswer: 'redirect',
    fieldError: 'validate-label',
    suggestions: 'div-ul',
    suggestionCall: compact,
    tinymceInitMs: 1000,
    prefilledFees: null,
    destinationValues: 'numeric',
    export: {
      contentType: 'text/csv; charset=utf-8',
      headerSpelling: 'underscores',
      columnOrder: 'sample',
      trailingComma: 'every-row',
      contentDisposition: 'attachment; filename="inventory.csv"',
    },
  },
  {
    id: 1,
    summary:
      'failed login: login page; expired: login page; success: p.flash in the form served at once; field errors: .has-error .help-block; export text/html, "brand name" first (template order), trailing comma on the header only; TinyMCE after 2.5 s; fees pre-filled',
    failedLogin: 'login-page',
    expiredSession: 'login-page',
    success: 'flash-p',
    publishAnswer: 'render',
    fieldError: 'help-block',
    suggestions: 'autosuggest-div',
    suggestionCall: spaced,
    tinymceInitMs: 2500,
    prefilledFees: { uk: '25', europe: '50', usa: '100', world: '150' },
    destinationValues: 'names',
    export: {
      contentType: 'text/html; charset=UTF-8',
      headerSpelling: 'spaces',
      columnOrder: 'template',
      trailingComma: 'header-only',
      contentDisposition: `attachment; filename=vr_inventory_${today()}.csv`,
    },
  },
  {
    id: 2,
    summary:
      'failed login: home with the pop-up open; expired: same URL with the pop-up; success: a toast made by script; field errors: a summary list with aria-describedby; export text/csv, "product id" first, trailing comma on every row; TinyMCE after 0.4 s',
    failedLogin: 'home-popup',
    expiredSession: 'same-url-popup',
    success: 'toast',
    publishAnswer: 'redirect',
    fieldError: 'aria-summary',
    suggestions: 'jquery-ui',
    suggestionCall: tight,
    tinymceInitMs: 400,
    prefilledFees: null,
    destinationValues: 'numeric',
    export: {
      contentType: 'text/csv',
      headerSpelling: 'spaces',
      columnOrder: 'sample',
      trailingComma: 'every-row',
      contentDisposition: 'attachment; filename=export_inventory.csv',
    },
  },
  {
    id: 3,
    summary:
      'failed login: same URL ?login_failed=1; expired: same URL with the pop-up; success: h3 in the form served at once; field errors: small.text-danger with .is-invalid; export text/html, "brand_name" first (template order), trailing comma on the header only; TinyMCE after 1.5 s',
    failedLogin: 'same-url-login-failed',
    expiredSession: 'same-url-popup',
    success: 'heading',
    publishAnswer: 'render',
    fieldError: 'small-invalid',
    suggestions: 'suggesstion-box',
    suggestionCall: compact,
    tinymceInitMs: 1500,
    prefilledFees: null,
    destinationValues: 'names',
    export: {
      contentType: 'text/html; charset=UTF-8',
      headerSpelling: 'underscores',
      columnOrder: 'template',
      trailingComma: 'header-only',
      contentDisposition: 'attachment; filename="inventory.csv"',
    },
  },
  {
    id: 4,
    summary:
      'failed login: login page; expired: home; success: a table cell after a redirect; field errors: p.err in the field\'s row; export text/csv, "brand_name" first (template order), trailing comma on every row; TinyMCE after 3 s; fees pre-filled',
    failedLogin: 'login-page',
    expiredSession: 'home',
    success: 'table-cell',
    publishAnswer: 'redirect',
    fieldError: 'row-paragraph',
    suggestions: 'table',
    suggestionCall: spaced,
    tinymceInitMs: 3000,
    prefilledFees: { uk: '40', europe: '60', usa: '90', world: '120' },
    destinationValues: 'numeric',
    export: {
      contentType: 'text/csv; charset=utf-8',
      headerSpelling: 'underscores',
      columnOrder: 'template',
      trailingComma: 'every-row',
      contentDisposition: `attachment; filename="inventory-${today()}.csv"`,
    },
  },
  {
    id: 5,
    summary:
      'failed login: home with the pop-up open; expired: login page; success: a bare div with no class in the form served at once; field errors: div[data-field]; export text/html, "product id" first, trailing comma on the header only; TinyMCE after 0.6 s',
    failedLogin: 'home-popup',
    expiredSession: 'login-page',
    success: 'bare-div',
    publishAnswer: 'render',
    fieldError: 'data-field-div',
    suggestions: 'div-ul',
    suggestionCall: tight,
    tinymceInitMs: 600,
    prefilledFees: null,
    destinationValues: 'names',
    export: {
      contentType: 'text/html; charset=UTF-8',
      headerSpelling: 'spaces',
      columnOrder: 'sample',
      trailingComma: 'header-only',
      contentDisposition: 'attachment; filename=inventory.csv',
    },
  },
];

export function variant(id: number): Variant {
  const v = VARIANTS[id];
  if (!v) throw new Error(`No simulator variant ${id}: choose 0 to ${VARIANTS.length - 1}`);
  return v;
}

/** Elements `--drop-element` can leave out of the add form, as a site redesign would. */
export const DROPPABLE_ELEMENTS = ['publish', 'tinymce', 'dropzone', 'shipping', 'categories'] as const;
export type DroppableElement = (typeof DROPPABLE_ELEMENTS)[number];

export function isDroppableElement(s: string): s is DroppableElement {
  return (DROPPABLE_ELEMENTS as readonly string[]).includes(s);
}
