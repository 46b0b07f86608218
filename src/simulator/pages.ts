import type { Brand } from './brands.ts';
import { CATEGORIES } from './catalog.ts';

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

export const USER_ID = 4242;

/** Served from /css/site.css, so that pages only name message classes where they are used. */
export const SITE_CSS = `body { font-family: sans-serif; margin: 1em 2em; }
.error_message { color: #b00; border: 1px solid #b00; padding: .5em; margin: 1em 0; }
.success_message { color: #070; border: 1px solid #070; padding: .5em; margin: 1em 0; }
label { display: block; margin-top: .6em; }
#item_desc { display: none; }
#uploaded_images { min-height: 1.5em; }
.dz-preview { display: inline-block; margin-right: .5em; }
#item_desc_ifr { border: 1px solid #999; min-height: 6em; padding: .3em; }
#brand_suggestions ul { list-style: none; padding: 0; margin: 0; border: 1px solid #ccc; }
#brand_suggestions li { cursor: pointer; padding: 2px 4px; }
`;

function layout(title: string, body: string, loggedIn: boolean): string {
  const nav = loggedIn
    ? '<a href="/account">My account</a> | <a href="/instruments/add_edit_item">Add item</a> | <a href="/instruments/export_inventory">Export inventory</a> | <a href="/logout" id="logout">Logout</a>'
    : '<a href="/login">Login</a>';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)} | Vintage &amp; Rare</title>
<link rel="stylesheet" href="/css/site.css">
</head>
<body>
<header><a href="/">Vintage &amp; Rare</a> &mdash; ${nav}</header>
<main>
${body}
</main>
</body>
</html>
`;
}

function loginForm(): string {
  return `<form id="login_form" method="post" action="/do_login">
<label>Username <input type="text" name="username" id="username" autocomplete="username"></label>
<label>Password <input type="password" name="pass" id="pass" autocomplete="current-password"></label>
<input type="hidden" name="open_where" value="header">
<button type="submit" id="login_submit">Sign in</button>
</form>`;
}

export function homePage(loggedIn: boolean): string {
  return layout(
    'Home',
    `<h1>Vintage &amp; Rare</h1>
<p>The marketplace for vintage and rare instruments.</p>
${loggedIn ? '<p>You are signed in.</p>' : loginForm()}`,
    loggedIn,
  );
}

export function loginPage(error?: string): string {
  return layout(
    'Login',
    `<h1>Sign in</h1>
${error ? `<div class="error_message">${escapeHtml(error)}</div>` : ''}
${loginForm()}`,
    false,
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
    true,
  );
}

export function loggedOutPage(): string {
  return layout('Logged out', `<p>You have been logged out.</p>${loginForm()}`, false);
}

export function suggestionsHtml(brands: Brand[]): string {
  const items = brands.map(
    (b) =>
      `<li onclick="${escapeHtml(`set_autosuggest_brands('${escapeJsString(b.name)}', ${b.id})`)}">${escapeHtml(b.name)}</li>`,
  );
  return `<ul id="suggested_brands">${items.join('')}</ul>`;
}

function decadeOptions(): string {
  const opts = ['<option value=""></option>'];
  for (let d = 1900; d <= 2020; d += 10) opts.push(`<option value="${d}">${d}</option>`);
  return opts.join('');
}

const FORM_SCRIPT = `
(function () {
  var CATS = __CATS__;
  var sels = [0, 1, 2, 3].map(function (i) { return document.getElementById('categ_level_' + i); });
  function findChildren(level) {
    var nodes = CATS;
    for (var i = 0; i <= level; i++) {
      var v = sels[i].value;
      if (!v) return [];
      var node = null;
      for (var k = 0; k < nodes.length; k++) if (String(nodes[k].id) === v) node = nodes[k];
      if (!node) return [];
      nodes = node.children;
    }
    return nodes;
  }
  sels.forEach(function (sel, level) {
    sel.addEventListener('change', function () {
      for (var j = level + 1; j < sels.length; j++) {
        sels[j].innerHTML = '<option value=""></option>';
      }
      var next = sels[level + 1];
      if (!next) return;
      findChildren(level).forEach(function (c) {
        var o = document.createElement('option');
        o.value = String(c.id);
        o.textContent = c.name;
        next.appendChild(o);
      });
    });
  });

  var brandInput = document.getElementById('recipient_name');
  var brandId = document.getElementById('brand_make_id');
  var suggestions = document.getElementById('brand_suggestions');
  var seq = 0;
  brandInput.addEventListener('input', function () {
    var my = ++seq;
    brandId.value = '';
    var str = brandInput.value;
    if (!str.trim()) { suggestions.innerHTML = ''; return; }
    fetch('/ajax/get_suggested_brands_name', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-Requested-With': 'XMLHttpRequest', 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' },
      body: new URLSearchParams({ str: str }).toString()
    }).then(function (r) { return r.ok && !r.redirected ? r.text() : ''; })
      .then(function (html) { if (my === seq) suggestions.innerHTML = html; })
      .catch(function () { if (my === seq) suggestions.innerHTML = ''; });
  });
  window.set_autosuggest_brands = function (name, id) {
    seq++;
    brandInput.value = name;
    brandId.value = String(id);
    suggestions.innerHTML = '';
  };

  function Editor(id) {
    this.id = id;
    this.textarea = document.getElementById(id);
    this.body = document.getElementById(id + '_ifr');
  }
  Editor.prototype.setContent = function (html) { this.body.innerHTML = html; return html; };
  Editor.prototype.getContent = function () { return this.body.innerHTML; };
  Editor.prototype.save = function () { var c = this.getContent(); this.textarea.value = c; return c; };
  var editor = new Editor('item_desc');
  editor.body.innerHTML = editor.textarea.value;
  var editors = { item_desc: editor };
  window.tinymce = {
    editors: [editor],
    activeEditor: editor,
    get: function (id) { return editors[id] || null; },
    triggerSave: function () { Object.keys(editors).forEach(function (k) { editors[k].save(); }); }
  };

  var fileInput = document.getElementById('dropzone_input');
  var uploaded = document.getElementById('uploaded_images');
  fileInput.addEventListener('change', function () {
    var files = Array.prototype.slice.call(fileInput.files || []);
    uploaded.setAttribute('data-busy', '1');
    var chain = Promise.resolve();
    files.forEach(function (file) {
      chain = chain.then(function () {
        var fd = new FormData();
        fd.append('file', file, file.name);
        return fetch('/ajax/dropzone_upload/__USER_ID__', {
          method: 'POST', credentials: 'same-origin', headers: { 'X-Requested-With': 'XMLHttpRequest' }, body: fd
        }).then(function (r) {
          if (!r.ok || r.redirected) throw new Error('upload failed: HTTP ' + r.status);
          return r.text();
        }).then(function (name) {
          var input = document.createElement('input');
          input.type = 'hidden';
          input.name = 'uploaded_images[]';
          input.value = name;
          uploaded.appendChild(input);
          var preview = document.createElement('span');
          preview.className = 'dz-preview';
          preview.textContent = name;
          uploaded.appendChild(preview);
          uploaded.setAttribute('data-count', String(Number(uploaded.getAttribute('data-count') || '0') + 1));
        });
      });
    });
    chain.catch(function (e) { uploaded.setAttribute('data-error', String(e && e.message || e)); })
      .then(function () { uploaded.removeAttribute('data-busy'); fileInput.value = ''; });
  });

  document.getElementById('submit_step_1').addEventListener('click', function (ev) {
    ev.preventDefault();
    window.tinymce.triggerSave();
    document.getElementById('frm_step1').submit();
  });
})();
`;

export function addItemPage(error?: string): string {
  const top = CATEGORIES.map((c) => `<option value="${c.id}">${escapeHtml(c.name)}</option>`).join('');
  const script = FORM_SCRIPT.replace(
    '__CATS__',
    JSON.stringify(CATEGORIES).replaceAll('<', '\\u003c'),
  ).replace('__USER_ID__', String(USER_ID));
  return layout(
    'Add item',
    `<h1>Add a new item</h1>
${error ? `<div class="error_message">${escapeHtml(error)}</div>` : ''}
<form id="frm_step1" method="post" action="/instruments/add_edit_item" enctype="multipart/form-data">
<fieldset id="categories">
<label>Category <select name="categ_level_0" id="categ_level_0"><option value=""></option>${top}</select></label>
<label>Subcategory <select name="categ_level_1" id="categ_level_1"><option value=""></option></select></label>
<label>Subcategory <select name="categ_level_2" id="categ_level_2"><option value=""></option></select></label>
<label>Subcategory <select name="categ_level_3" id="categ_level_3"><option value=""></option></select></label>
</fieldset>
<label>Brand <input type="text" name="recipient_name" id="recipient_name" autocomplete="off"></label>
<div id="brand_suggestions"></div>
<input type="hidden" name="brand_make_id" id="brand_make_id" value="">
<label>Model <input type="text" name="model_name" id="model_name"></label>
<label>Finish <input type="text" name="finish_color" id="finish_color"></label>
<label>Year <input type="text" name="year" id="year" maxlength="4"></label>
<label>Decade <select name="decade" id="decade">${decadeOptions()}</select></label>
<label for="item_desc">Description</label>
<textarea name="item_desc" id="item_desc"></textarea>
<div id="item_desc_ifr" contenteditable="true"></div>
<label>Price <input type="number" name="price" id="price" min="0" step="1"></label>
<label>Discounted price <input type="number" name="discounted_price" id="discounted_price" min="0" step="1"></label>
<label><input type="checkbox" name="buy_now" id="buy_now" value="1"> Buy now</label>
<label><input type="checkbox" name="show_vat" id="show_vat" value="1"> Show VAT</label>
<label><input type="checkbox" name="local_pickup" id="local_pickup" value="1"> Local pickup</label>
<label><input type="checkbox" name="available_for_shipment" id="available_for_shipment" value="1"> Available for shipment</label>
<label>Processing time <input type="text" name="processing_time" id="processing_time">
<select name="hours_days_sel" id="hours_days_sel"><option value="Days">Days</option><option value="Weeks">Weeks</option><option value="Months">Months</option></select></label>
<label>Photos <input type="file" id="dropzone_input" multiple accept="image/*"></label>
<div id="uploaded_images" data-count="0"></div>
<p><a id="submit_step_1" href="javascript:void(0)">Publish item</a></p>
</form>
<script>${script}</script>`,
    true,
  );
}

export function publishedPage(): string {
  return layout(
    'Item published',
    `<div class="success_message">Your item is now published and live.</div>
<p><a href="/instruments/add_edit_item">Add another item</a></p>`,
    true,
  );
}

export function exportPage(): string {
  return layout(
    'Export inventory',
    `<h1>Export inventory</h1>
<p>Download every item in your inventory as a CSV file.</p>
<p><a id="export_inventory_link" href="/instruments/export_inventory/export_inventory">Export inventory (CSV)</a></p>`,
    true,
  );
}

export function notFoundPage(): string {
  return layout('Page not found', '<h1>404</h1><p>The page you requested was not found.</p>', false);
}

export function maintenancePage(): string {
  return layout(
    'Maintenance',
    '<h1>We&rsquo;ll be back soon</h1><p>Vintage &amp; Rare is undergoing scheduled maintenance.</p>',
    false,
  );
}

export const INTERNAL_ERROR_PAGE = `<!DOCTYPE html>
<html><head><title>500 Internal Server Error</title></head>
<body><h1>Internal Server Error</h1><p>The server encountered an internal error.</p></body></html>
`;

/** A 1x1 baseline JPEG. */
export const SAMPLE_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);
