/** The simulated site's markup, as captured from the real pages (variants for what nobody has captured). */
import type { CategoryNode } from 'vr-lister/site-data';
import type { Brand } from './brands.ts';
import type { Listing } from './catalog.ts';
import { challengeScript } from './scripts.ts';
import type { DroppableElement, FieldErrorMarkup, Variant } from './variants.ts';

export function escapeHtml(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function escapeJsString(s: string): string {
  return s
    .replaceAll('\\', '\\\\')
    .replaceAll("'", "\\'")
    .replaceAll('"', '\\"')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r')
    .replaceAll('<', '\\x3c');
}

/** A JSON value safe inside an inline script. */
function inlineJson(value: unknown): string {
  return JSON.stringify(value).replaceAll('<', '\\u003c');
}

/** The seller's V&R user id, which the add form's inline script carries (Dropzone's upload URL). */
export const USER_ID = 4242;

export const PUBLISHED_TEXT = 'Your item is now published and live on vintageandrare.com';

export const SITE_CSS = `body { font-family: sans-serif; margin: 0; }
#header { padding: .6em 2em; background: #222; color: #eee; position: relative; }
#header a { color: #fc6; margin-right: 1em; }
main { margin: 1em 2em; }
.login_popup { position: absolute; right: 2em; top: 2.5em; background: #fff; color: #222; border: 1px solid #999; padding: 1em; z-index: 50; width: 18em; }
.login_popup label { display: block; margin-top: .4em; }
.login_popup a.login_btn { display: inline-block; margin-top: .6em; padding: .3em 1em; background: #c60; color: #fff; }
label.error, .help-block, .text-danger, p.err, .error_message, .form_errors { color: #b00; }
input.error, select.error, .is-invalid { border-color: #b00; }
.form_row { margin: .6em 0; }
.form_row > label { display: block; font-weight: bold; }
.ships_to .shipping_row { margin: .2em 0; }
.termsfeed-com---nb-interstitial-overlay { position: fixed; inset: 0; background: rgba(0,0,0,.6); z-index: 1000; }
.termsfeed-com---nb-interstitial { position: fixed; left: 10%; right: 10%; top: 20%; background: #333; color: #fff; padding: 1.5em; }
.dropzone { border: 2px dashed #999; min-height: 4em; padding: .5em; cursor: pointer; }
.dz-preview { display: inline-block; margin: .3em; padding: .3em; border: 1px solid #ccc; }
.dz-error .dz-error-message { color: #b00; }
#toast-container { position: fixed; top: 1em; right: 1em; z-index: 999; background: #51a351; color: #fff; padding: 1em; }
.alert-success, .flash.notice, .msg_table td { color: #070; }
`;

export interface LayoutOptions {
  loggedIn: boolean;
  /** The header's login pop-up starts open (a login landing), with an optional error. */
  popupOpen?: boolean;
  loginError?: string;
  /** Extra inline script before the site script (page configuration). */
  head?: string;
}

function loginPopup(open: boolean, error?: string): string {
  return `<div id="login_popup" class="login_popup" style="display:${open ? 'block' : 'none'}">
<a href="javascript:void(0)" class="close_popup" title="Close">&times;</a>
<form id="loginForm" name="loginForm" method="post" action="/do_login">
${error ? `<div class="login_error">${escapeHtml(error)}</div>` : ''}
<label for="login_username">Username or e-mail</label>
<input type="text" name="username" id="login_username" autocomplete="username">
<label for="login_pass">Password</label>
<input type="password" name="pass" id="login_pass" autocomplete="current-password">
<label class="keep_signed"><input type="checkbox" name="keep_me_signed" value="1"> Keep me signed in</label>
<a href="javascript:void(0)" class="login_btn" onclick="submit_login_form(); return false;">Login</a>
<p class="forgot"><a href="/forgot_password">Forgot your password?</a></p>
</form>
</div>`;
}

export function layout(title: string, body: string, o: LayoutOptions): string {
  const nav = o.loggedIn
    ? '<a href="/account">My account</a><a href="/instruments/add_edit_item">Add an item</a><a href="/instruments/export_inventory">Export inventory</a><a href="/logout" class="logout">Logout</a>'
    : '<a href="javascript:void(0)" class="open_login_popup">Sign in</a><a href="/register">Register</a>';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)} | Vintage &amp; Rare</title>
<link rel="stylesheet" href="/css/site.css">
${o.head ?? ''}
<script src="/js/site.js"></script>
</head>
<body>
<header id="header"><a href="/" class="logo">Vintage &amp; Rare</a>
<nav class="user_nav">${nav}</nav>
${o.loggedIn ? '' : loginPopup(o.popupOpen ?? false, o.loginError)}
</header>
<main>
${body}
</main>
</body>
</html>
`;
}

export function homePage(o: LayoutOptions): string {
  return layout(
    'Vintage guitars, amps and effects for sale',
    `<h1>Vintage &amp; Rare</h1>
<p>The marketplace for vintage and rare instruments.</p>
${o.loggedIn ? '<p>Welcome back.</p>' : '<p>Dealers: sign in from the header to manage your stock.</p>'}`,
    o,
  );
}

export function loginPage(error?: string): string {
  return layout(
    'Login',
    `<h1>Login</h1>
<p>Please sign in to continue.</p>`,
    { loggedIn: false, popupOpen: true, ...(error ? { loginError: error } : {}) },
  );
}

export function accountPage(username: string): string {
  return layout(
    'My account',
    `<h1>My account</h1>
<p>Welcome back, ${escapeHtml(username)}.</p>
<ul>
<li><a href="/instruments/add_edit_item">Add a new item</a></li>
<li><a href="/instruments/export_inventory">Export inventory</a></li>
</ul>`,
    { loggedIn: true },
  );
}

export function suggestionsHtml(brands: Brand[], v: Variant): string {
  return brands
    .map(
      (b) =>
        `<li onclick="${escapeHtml(v.suggestionCall(escapeJsString(b.name), b.id))}">${escapeHtml(b.name)}</li>`,
    )
    .join('\n');
}

/** The brand suggestions' container, per variant: where the page's script puts the `<li>`s. */
function suggestionConfig(v: Variant): {
  markup: string;
  id: string;
  wrap: string;
  inBody: boolean;
  tag: string;
  className: string;
} {
  switch (v.suggestions) {
    case 'div-ul':
      return {
        markup: '<div id="brand_suggestions" class="suggestions" style="display:none"></div>',
        id: 'brand_suggestions',
        wrap: '<ul id="suggested_brands">%s</ul>',
        inBody: false,
        tag: 'div',
        className: '',
      };
    case 'autosuggest-div':
      return {
        markup: '<div class="autosuggest" id="autosuggest_brands" style="display:none"></div>',
        id: 'autosuggest_brands',
        wrap: '<ul class="autosuggest_list">%s</ul>',
        inBody: false,
        tag: 'div',
        className: '',
      };
    case 'jquery-ui':
      return {
        markup: '',
        id: 'ui-id-1',
        wrap: '%s',
        inBody: true,
        tag: 'ul',
        className: 'ui-autocomplete ui-front ui-menu ui-widget ui-widget-content',
      };
    case 'suggesstion-box':
      return {
        markup: '<div id="suggesstion-box" style="display:none"></div>',
        id: 'suggesstion-box',
        wrap: '<ul id="brand-list">%s</ul>',
        inBody: false,
        tag: 'div',
        className: '',
      };
    case 'table':
      return {
        markup:
          '<table class="brand_suggest"><tr><td id="brand_autosuggest" style="display:none"></td></tr></table>',
        id: 'brand_autosuggest',
        wrap: '<ol>%s</ol>',
        inBody: false,
        tag: 'td',
        className: '',
      };
  }
}

/** A field's server-side error, keyed by the form field it belongs to. */
export type FieldErrors = Map<string, string>;

/** Field name → the id of the element the error is tied to. */
const ERROR_TARGET: Record<string, string> = {
  categ_level_0: 'categ_level_0',
  recipient_name: 'recipient_name',
  model_name: 'model_name',
  price: 'price',
  year: 'year',
  processing_time: 'processing_time',
  local_pickup: 'local_pickup',
  'shipping_fees_fee[]': 'shipping_fee_0',
  photos: 'dropzone',
};

interface ErrorRendering {
  /** Attributes (other than class) added to the field itself. */
  attrs(field: string): string;
  /** Classes added to the field itself. */
  fieldClass(field: string): string;
  /** Markup right after the field. */
  after(field: string): string;
  /** Markup at the start of the field's row. */
  rowStart(field: string): string;
  /** Extra class on the field's row. */
  rowClass(field: string): string;
  /** Markup above the form. */
  top(): string;
}

function errorRendering(kind: FieldErrorMarkup, errors: FieldErrors): ErrorRendering {
  const msg = (field: string) => errors.get(field);
  const id = (field: string) => ERROR_TARGET[field] ?? field;
  const none = () => '';
  switch (kind) {
    case 'validate-label':
      return {
        attrs: (f) => (msg(f) ? ' aria-invalid="true"' : ''),
        fieldClass: (f) => (msg(f) ? 'error' : ''),
        after: (f) =>
          msg(f)
            ? `<label id="${id(f)}-error" class="error" for="${id(f)}">${escapeHtml(msg(f)!)}</label>`
            : '',
        rowStart: none,
        rowClass: none,
        top: none,
      };
    case 'help-block':
      return {
        fieldClass: none,
        attrs: none,
        after: (f) => (msg(f) ? `<span class="help-block">${escapeHtml(msg(f)!)}</span>` : ''),
        rowStart: none,
        rowClass: (f) => (msg(f) ? ' has-error' : ''),
        top: none,
      };
    case 'aria-summary':
      return {
        fieldClass: none,
        attrs: (f) => (msg(f) ? ` aria-invalid="true" aria-describedby="err_${id(f)}"` : ''),
        after: none,
        rowStart: none,
        rowClass: none,
        top: () =>
          errors.size
            ? `<div class="form_errors" role="alert"><p>Please correct the following:</p><ul>${[...errors]
                .map(([f, m]) => `<li id="err_${id(f)}">${escapeHtml(m)}</li>`)
                .join('')}</ul></div>`
            : '',
      };
    case 'small-invalid':
      return {
        attrs: none,
        fieldClass: (f) => (msg(f) ? 'is-invalid' : ''),
        after: (f) => (msg(f) ? `<small class="text-danger">${escapeHtml(msg(f)!)}</small>` : ''),
        rowStart: none,
        rowClass: none,
        top: none,
      };
    case 'row-paragraph':
      return {
        fieldClass: none,
        attrs: none,
        after: none,
        rowStart: (f) => (msg(f) ? `<p class="err">${escapeHtml(msg(f)!)}</p>` : ''),
        rowClass: none,
        top: none,
      };
    case 'data-field-div':
      return {
        fieldClass: none,
        attrs: none,
        after: none,
        rowStart: (f) =>
          msg(f)
            ? `<div class="error_message" data-field="${escapeHtml(f)}">${escapeHtml(msg(f)!)}</div>`
            : '',
        rowClass: none,
        top: none,
      };
  }
}

/** The success message's markup, per variant (the text is what counts; the element is unknown). */
function successMarkup(v: Variant): { body: string; head: string } {
  switch (v.success) {
    case 'alert-div':
      return { body: `<div class="alert alert-success">${PUBLISHED_TEXT}</div>`, head: '' };
    case 'flash-p':
      return { body: `<p class="flash notice">${PUBLISHED_TEXT}.</p>`, head: '' };
    case 'toast':
      return { body: '', head: `<script>window.VR_TOAST = ${inlineJson(`${PUBLISHED_TEXT}!`)};</script>` };
    case 'heading':
      return { body: `<h3 class="green_text">Thank you! ${PUBLISHED_TEXT}</h3>`, head: '' };
    case 'table-cell':
      return {
        body: `<table class="msg_table" width="100%"><tr><td align="center">${PUBLISHED_TEXT}</td></tr></table>`,
        head: '',
      };
    case 'bare-div':
      return { body: `<div style="color:green;padding:10px">${PUBLISHED_TEXT}!</div>`, head: '' };
  }
}

export function categoryOptions(nodes: readonly CategoryNode[], selected?: number): string {
  return [
    '<option value="">Select</option>',
    ...nodes.map(
      (c) => `<option value="${c.id}"${c.id === selected ? ' selected' : ''}>${escapeHtml(c.name)}</option>`,
    ),
  ].join('');
}

/** `categ_level_0`, and for an edited listing each chosen level below it. */
function categorySelects(
  tree: readonly CategoryNode[],
  chosen: readonly number[],
  firstAttrs: string,
): string {
  const selects: string[] = [];
  let nodes: readonly CategoryNode[] = tree;
  for (let level = 0; level === 0 || (level <= chosen.length && nodes.length > 0); level++) {
    const attrs = level === 0 ? firstAttrs : ' class="categ_select required"';
    selects.push(
      `<select name="categ_level_${level}" id="categ_level_${level}"${attrs.startsWith(' ') ? attrs : ` ${attrs}`}>${categoryOptions(nodes, chosen[level])}</select>`,
    );
    nodes = nodes.find((n) => n.id === chosen[level])?.children ?? [];
  }
  return selects.join('');
}

/** An edited listing's values, by form field name (checkboxes as '1'). */
function editValues(l: Listing): Record<string, string> {
  const amount = l.processing_time.split(' ')[0] ?? '';
  const flag = (b: boolean) => (b ? '1' : '');
  return {
    recipient_name: l.brand_name,
    model_name: l.product_model_name,
    finish_color: l.product_finish,
    year: l.product_year,
    external_url: l.external_url,
    price: String(l.product_price),
    discounted_price: l.discounted_price,
    offer_discount: l.offer_discount,
    processing_time: amount,
    call_price: flag(l.call_price),
    show_vat: flag(l.show_vat),
    buy_now: flag(l.buy_now),
    local_pickup: flag(l.local_pickup),
    available_for_shipment: flag(l.available_for_shipment),
  };
}

/**
 * The photos a listing already has, as the edit page shows them: each carries its
 * `data-product_media_id` (what `delete_item_images[]` names to remove it).
 */
export function storedPhotos(l: Listing): string {
  return l.photos
    .map(
      (p, i) =>
        `<div class="dz-preview dz-complete dz-image-preview existing_media" data-product_media_id="${mediaId(l, i)}"><span class="dz-filename">${escapeHtml(p.name)}</span><a href="javascript:void(0)" class="dz-remove">Remove file</a></div>`,
    )
    .join('');
}

/** A stored photo's media id: the store's, else (a photo stored before ids were given) by position. */
export function mediaId(l: Listing, index: number): number {
  return l.photos[index]?.media_id ?? l.product_id * 100 + index + 1;
}

function decadeOptions(): string {
  const opts = ['<option value="">Select decade</option>'];
  for (let d = 2020; d >= 1800; d -= 10) opts.push(`<option value="${d}">${d}'s</option>`);
  return opts.join('');
}

export const SHIPPING_REGIONS = [
  { key: 'uk', label: 'UK', code: '1' },
  { key: 'europe', label: 'Europe', code: '2' },
  { key: 'usa', label: 'USA', code: '3' },
  { key: 'world', label: 'REST OF WORLD', code: '4' },
] as const;

export interface AddFormOptions {
  variant: Variant;
  tree: readonly CategoryNode[];
  uniqueId: string;
  /** Scales the variant's editor start-up (SimulatorOptions.timeScale). */
  timeScale: number;
  /** The listing being edited (`/instruments/add_edit_item/<id>`), or none for a new one. */
  editing?: Listing;
  dropped: ReadonlySet<DroppableElement>;
  /** "Published and live", shown once after a good Publish. */
  published?: boolean;
  /** Server-side errors tied to fields, after a refused Publish. */
  errors?: FieldErrors;
  /** An error tied to no field (a form the site didn't serve). */
  generalError?: string;
  /** A message above the form (an edit saved). */
  message?: string;
}

export function addItemPage(o: AddFormOptions): string {
  const v = o.variant;
  const errors = o.errors ?? new Map<string, string>();
  const e = errorRendering(v.fieldError, errors);
  const sugg = suggestionConfig(v);
  const success = o.published ? successMarkup(v) : { body: '', head: '' };
  const has = (el: DroppableElement) => !o.dropped.has(el);
  const row = (field: string, label: string, inner: string, rowId = `row_${field}`) =>
    `<div class="form_row${e.rowClass(field)}" id="${rowId}">${e.rowStart(field)}<label>${label}</label>${inner}${e.after(field)}</div>`;
  const cls = (field: string, ...base: string[]) => {
    const all = [...base, e.fieldClass(field)].filter(Boolean).join(' ');
    return all ? ` class="${all}"` : '';
  };
  const edited = o.editing ? editValues(o.editing) : undefined;
  const text = (name: string, extra = '', ...classes: string[]) => {
    const value = edited?.[name];
    const attrs =
      value === undefined ? extra : `${extra.replace(/ value="[^"]*"/, '')} value="${escapeHtml(value)}"`;
    return `<input type="text" name="${name}" id="${name}"${attrs}${cls(name, ...classes)}${e.attrs(name)}>`;
  };
  const fees = v.prefilledFees;
  const shippingRows = SHIPPING_REGIONS.map(
    (r, i) => `<div class="shipping_row">
<span class="destination_name">${r.label}</span>
<input type="text" name="shipping_fees_fee[]" id="shipping_fee_${i}"${i === 0 ? cls('shipping_fees_fee[]', 'shipping_fee') + e.attrs('shipping_fees_fee[]') : ' class="shipping_fee"'} value="${o.editing ? (o.editing.shipping_fees[r.key] ?? '') : fees ? fees[r.key] : ''}">
<input type="hidden" name="shipping_fees_destination[]" value="${v.destinationValues === 'numeric' ? r.code : r.label}">
<a href="javascript:void(0)" class="remove_shipping_row" title="Remove"><i class="fa fa-times"></i>&times;</a>
</div>`,
  ).join('\n');
  const config = {
    userId: USER_ID,
    tinymceInitMs: Math.round(v.tinymceInitMs * o.timeScale),
    tinymce: has('tinymce'),
    categories: has('categories'),
    suggestionsId: sugg.id,
    suggestionsWrap: sugg.wrap,
    suggestionsInBody: sugg.inBody,
    suggestionsTag: sugg.tag,
    suggestionsClass: sugg.className,
  };
  const checkbox = (name: string, label: string) =>
    `<label class="checkbox"><input type="checkbox" name="${name}" id="${name}" value="1"${edited?.[name] === '1' ? ' checked' : ''}${name === 'local_pickup' ? cls(name) + e.attrs(name) : ''}> ${label}</label>`;
  const body = `<h1>${o.editing ? 'Edit item' : 'Add a new item'}</h1>
${success.body}
${o.generalError ? `<div class="form_general_error">${escapeHtml(o.generalError)}</div>` : ''}${o.message ? `<div class="alert alert-success">${escapeHtml(o.message)}</div>` : ''}
${e.top()}
<form id="frm_step1" name="frm_step1" method="post" action="/instruments/add_edit_item${o.editing ? `/${o.editing.product_id}` : ''}" enctype="multipart/form-data">
<input type="hidden" name="unique_id" value="${o.uniqueId}">
<input type="hidden" name="version" value="2">
<input type="hidden" name="owner_id" value="${USER_ID}">
<input type="hidden" name="product_id" value="${o.editing?.product_id ?? ''}">
<input type="hidden" name="offer_id" value="">
<input type="hidden" name="added_completed" value="0">
<input type="hidden" name="section" value="instruments">
<input type="hidden" name="on_boost" value="0">
<input type="hidden" name="on_reseller_network" value="0">
<input type="hidden" name="has_media" value="0">
<input type="hidden" name="max_nr_of_files" id="max_nr_of_files" value="20">
<input type="hidden" name="total_files_size" id="total_files_size" value="10485760">
<input type="hidden" name="min_string_length_for_autosuggest" id="min_string_length_for_autosuggest" value="2">
${
  has('categories')
    ? row(
        'categ_level_0',
        'Category',
        `<div id="categories_wrap">${categorySelects(o.tree, o.editing?.category_ids ?? [], cls('categ_level_0', 'categ_select', 'required') + e.attrs('categ_level_0'))}</div>`,
        'row_category',
      )
    : ''
}
${row('recipient_name', 'Brand', `${text('recipient_name', ' autocomplete="off"', 'required')}<input type="hidden" name="brand_make_id" id="brand_make_id" value="">${sugg.markup}`)}
${row('model_name', 'Model', text('model_name', '', 'required'))}
${row('finish_color', 'Finish / colour', text('finish_color'))}
${row('year', 'Year', text('year', ' maxlength="4" onblur="check_decade()"'))}
${row('decade', 'Decade', `<select name="decade" id="decade">${decadeOptions()}</select>`)}
${row('external_url', 'Link to your own website (optional)', text('external_url'))}
${row('price', 'Price', `${text('price', '', 'required')} <span class="currency_note">in your account's currency</span>`)}
${row('call_price', '', checkbox('call_price', 'Call for price'))}
${row('show_vat', '', checkbox('show_vat', 'Show VAT'))}
${row('buy_now', '', checkbox('buy_now', 'Buy now'))}
${row('add_offer_discount', '', `${checkbox('add_offer_discount', 'Offer a discount')} ${text('offer_discount', ' size="3"')}%`)}
${row('discounted_price', 'Discounted price', text('discounted_price'))}
${row('on_dealers_collective', '', `${checkbox('on_dealers_collective', "Dealers' collective")} ${text('commission_price')}`)}
${row('local_pickup', 'Delivery', `${checkbox('local_pickup', 'Local pickup')} ${checkbox('available_for_shipment', 'Available for shipment')}`)}
${
  has('shipping')
    ? `<div class="form_row${e.rowClass('shipping_fees_fee[]')}" id="row_shipping">${e.rowStart('shipping_fees_fee[]')}<div class="ships_to" style="display:none">
<p>Shipping fees (in your account's currency)</p>
${shippingRows}
</div>${e.after('shipping_fees_fee[]')}</div>`
    : ''
}
${row('processing_time', 'Processing time', `${text('processing_time', ' value="3" size="3"')} <select name="hours_days_sel" id="hours_days_sel">${['Days', 'Weeks', 'Months'].map((u) => `<option value="${u}"${o.editing?.processing_time.endsWith(` ${u}`) ? ' selected' : ''}>${u}</option>`).join('')}</select>`)}
${row('item_desc', 'Description', `<textarea name="item_desc" id="item_desc" class="tinyMce" rows="12" cols="80">${escapeHtml(o.editing?.product_description ?? '')}</textarea>`)}
${
  has('dropzone')
    ? `<div class="form_row${e.rowClass('photos')}" id="row_photos">${e.rowStart('photos')}<label>Photos</label>
<div id="dropzone"${cls('photos', 'dropzone')}${e.attrs('photos')}><div class="dz-default dz-message"><span>Drop photos here or click to upload (JPEG, up to 20 photos, 10 MB in all)</span></div></div>${e.after('photos')}</div>`
    : ''
}
<div id="uploaded_media">${o.editing ? storedPhotos(o.editing) : ''}</div>
${has('publish') ? '<p class="publish_row"><a href="javascript:void(0)" id="submit_step_1" class="btn btn_publish">Publish item</a></p>' : ''}
</form>
<script src="/js/add_item.js"></script>`;
  return layout('Add an item', body, {
    loggedIn: true,
    head: `<script>var user_id = ${USER_ID}; window.VR_FORM = ${inlineJson(config)};</script>${success.head}`,
  });
}

export function exportPage(): string {
  return layout(
    'Export inventory',
    `<h1>Export inventory</h1>
<p>Download every item in your inventory as a CSV file. Large inventories can take a few minutes.</p>
<p><a href="/instruments/export_inventory/export_inventory" class="btn">Download current V&amp;R inventory</a></p>`,
    { loggedIn: true },
  );
}

export function notFoundPage(loggedIn: boolean): string {
  return layout('Page not found', '<h1>404</h1><p>The page you requested was not found.</p>', { loggedIn });
}

export function maintenancePage(): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Maintenance | Vintage &amp; Rare</title></head>
<body><h1>We&rsquo;ll be back soon</h1><p>Vintage &amp; Rare is undergoing scheduled maintenance.</p></body></html>
`;
}

export const INTERNAL_ERROR_PAGE = `<!DOCTYPE html>
<html><head><title>500 Internal Server Error</title></head>
<body><h1>Internal Server Error</h1><p>The server encountered an internal error.</p></body></html>
`;

export function challengePage(o: {
  host: string;
  token: string;
  interactive: boolean;
  after: string;
  /** How long the `auto` challenge "verifies" before passing. */
  passAfterMs: number;
}): string {
  return `<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta name="robots" content="noindex,nofollow">
<meta name="viewport" content="width=device-width,initial-scale=1">
</head><body>
<div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">${escapeHtml(o.host.replace(/:\d+$/, ''))}</h1>
<h2 class="h2" id="challenge-running">Verify you are human by completing the action below.</h2>
<div id="challenge-stage">${
    o.interactive
      ? '<label class="cb-lb"><input type="checkbox" id="challenge-checkbox"><span class="cb-lb-t">Verify you are human</span></label>'
      : '<div class="spinner" id="challenge-spinner">Verifying...</div>'
  }</div>
<div id="challenge-body-text" class="core-msg spacer">${escapeHtml(o.host.replace(/:\d+$/, ''))} needs to review the security of your connection before proceeding.</div>
</div></div>
<div class="footer" role="contentinfo"><div class="footer-inner">Performance &amp; security by Cloudflare</div></div>
<script>${challengeScript(o.token, o.interactive, o.after, o.passAfterMs)}</script>
</body></html>
`;
}

/** A 1x1 baseline JPEG. */
export const SAMPLE_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);
