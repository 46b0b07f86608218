/**
 * Markup variants: one coherent answer per point that nobody has captured on the real site
 * (no capture of the real site shows them). Variant 0 is the simulator's default, the answer we think
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

const LABELS = {
  failedLogin: {
    'same-url-login-failed': 'same URL with ?login_failed=1',
    'login-page': 'a login page',
    'home-popup': 'home page, pop-up open',
  },
  expiredSession: { home: 'home page', 'login-page': '/login', 'same-url-popup': 'same URL, pop-up open' },
  success: {
    'alert-div': 'div.alert',
    'flash-p': 'p.flash',
    toast: 'a toast made by script',
    heading: 'h3',
    'table-cell': 'a table cell',
    'bare-div': 'a div with no class',
  },
  fieldError: {
    'validate-label': 'label.error[for]',
    'help-block': '.has-error .help-block',
    'aria-summary': 'a list by aria-describedby',
    'small-invalid': 'small.text-danger, .is-invalid',
    'row-paragraph': "p.err in the field's row",
    'data-field-div': 'div[data-field]',
  },
  suggestions: {
    'div-ul': 'div#brand_suggestions > ul',
    'autosuggest-div': 'div.autosuggest > ul',
    'jquery-ui': 'ul.ui-autocomplete in body',
    'suggesstion-box': 'div#suggesstion-box > ul',
    table: 'td > ol',
  },
} as const;

/** One line per point, for `vr-lister simulator --help` and the README. */
export function describeVariant(v: Variant): string[] {
  const e = v.export;
  return [
    `failed login: ${LABELS.failedLogin[v.failedLogin]}; expired session: ${LABELS.expiredSession[v.expiredSession]}`,
    `published: ${LABELS.success[v.success]} ${v.publishAnswer === 'redirect' ? 'after a redirect' : 'in the form served at once'}; field errors: ${LABELS.fieldError[v.fieldError]}`,
    `brand suggestions: ${LABELS.suggestions[v.suggestions]}; TinyMCE ready after ${v.tinymceInitMs / 1000} s; shipping fees ${v.prefilledFees ? 'pre-filled' : 'blank'}`,
    `export: ${e.contentType}, ${e.columnOrder === 'template' ? 'brand name first' : 'product id first'} with ${e.headerSpelling}, trailing comma on ${e.trailingComma === 'every-row' ? 'every row' : 'the header only'}`,
  ];
}
