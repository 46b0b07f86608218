/**
 * The scripts the simulated pages run in the browser, served from /js/*.js. They imitate what the
 * real site's jQuery plugins do (jQuery Validate, TermsFeed's consent banner, TinyMCE, Dropzone),
 * with the same DOM results, in plain ES5 so that any Chromium runs them.
 */

/**
 * Every page: the consent banner, the header login pop-up and its validation. `timeScale` scales
 * the banner's and the toast's appearance (SimulatorOptions.timeScale), not how long a toast stays.
 */
export const siteScript = (timeScale: number): string => `
(function () {
  function hasCookie(name) {
    return document.cookie.split(';').some(function (c) { return c.trim().indexOf(name + '=') === 0; });
  }

  // TermsFeed's interstitial banner: injected after load, overlays the page until "I agree".
  function showConsent() {
    if (hasCookie('cookie_consent_level')) return;
    var overlay = document.createElement('div');
    overlay.className = 'termsfeed-com---nb-interstitial-overlay';
    overlay.innerHTML =
      '<div class="termsfeed-com---nb termsfeed-com---nb-interstitial termsfeed-com---palette-dark" id="termsfeed-com---nb" role="dialog" aria-modal="true" aria-labelledby="cc-nb-title">' +
      '<div class="cc-nb-main-container">' +
      '<div class="cc-nb-title-container"><h2 class="cc-nb-title" id="cc-nb-title">We use cookies</h2></div>' +
      '<div class="cc-nb-text-container"><p class="cc-nb-text">We use cookies and other tracking technologies to improve your browsing experience on our website, to show you personalized content and targeted ads, to analyze our website traffic, and to understand where our visitors are coming from.</p></div>' +
      '<div class="cc-nb-buttons-container">' +
      '<button class="cc-nb-okagree" role="button">I agree</button>' +
      '<button class="cc-nb-reject" role="button">I decline</button>' +
      '<button class="cc-nb-changep" role="button">Change my preferences</button>' +
      '</div></div></div>';
    document.body.appendChild(overlay);
    function close(level) {
      document.cookie = 'cookie_consent_level=' + encodeURIComponent(JSON.stringify(level)) + '; path=/; max-age=31536000';
      if (overlay.parentNode) overlay.parentNode.removeChild(overlay);
    }
    overlay.querySelector('.cc-nb-okagree').addEventListener('click', function () {
      close({ 'strictly-necessary': true, functionality: true, tracking: true, targeting: true });
    });
    overlay.querySelector('.cc-nb-reject').addEventListener('click', function () {
      close({ 'strictly-necessary': true, functionality: false, tracking: false, targeting: false });
    });
  }

  // jQuery Validate, as the login form's "Login" link runs it before submitting.
  function markError(input, message) {
    input.classList.add('error');
    input.setAttribute('aria-invalid', 'true');
    var id = (input.id || input.name) + '-error';
    var label = document.getElementById(id);
    if (!label) {
      label = document.createElement('label');
      label.id = id;
      label.className = 'error';
      label.setAttribute('for', input.id || input.name);
      input.parentNode.insertBefore(label, input.nextSibling);
    }
    label.textContent = message;
    label.style.display = '';
  }
  function clearError(input) {
    input.classList.remove('error');
    input.removeAttribute('aria-invalid');
    var label = document.getElementById((input.id || input.name) + '-error');
    if (label) label.parentNode.removeChild(label);
  }
  window.vrMarkError = markError;
  window.vrClearError = clearError;

  window.submit_login_form = function () {
    var form = document.getElementById('loginForm');
    if (!form) return false;
    var user = form.elements.username;
    var pass = form.elements.pass;
    var ok = true;
    [user, pass].forEach(clearError);
    if (!user.value.trim()) { markError(user, 'This field is required.'); ok = false; }
    if (!pass.value) { markError(pass, 'This field is required.'); ok = false; }
    else if (pass.value.length > 48) { markError(pass, 'Please enter no more than 48 characters.'); ok = false; }
    if (ok) form.submit();
    return false;
  };

  function openPopup() {
    var popup = document.getElementById('login_popup');
    if (popup) popup.style.display = 'block';
    var user = document.getElementById('login_username');
    if (user) user.focus();
  }
  function closePopup() {
    var popup = document.getElementById('login_popup');
    if (popup) popup.style.display = 'none';
  }

  document.addEventListener('DOMContentLoaded', function () {
    var links = document.querySelectorAll('.open_login_popup');
    for (var i = 0; i < links.length; i++) {
      links[i].addEventListener('click', function (ev) { ev.preventDefault(); openPopup(); });
    }
    var close = document.querySelector('#login_popup .close_popup');
    if (close) close.addEventListener('click', function (ev) { ev.preventDefault(); closePopup(); });
    var form = document.getElementById('loginForm');
    if (form) {
      form.addEventListener('keydown', function (ev) {
        if (ev.key === 'Enter') { ev.preventDefault(); window.submit_login_form(); }
      });
    }
    setTimeout(showConsent, ${Math.round(150 * timeScale)});
    // toastr-like messages (one variant announces a published item this way)
    if (window.VR_TOAST) {
      setTimeout(function () {
        var box = document.createElement('div');
        box.id = 'toast-container';
        box.className = 'toast-top-right';
        box.innerHTML = '<div class="toast toast-success" aria-live="polite"><div class="toast-message"></div></div>';
        box.querySelector('.toast-message').textContent = window.VR_TOAST;
        document.body.appendChild(box);
        setTimeout(function () { if (box.parentNode) box.parentNode.removeChild(box); }, 15000);
      }, ${Math.round(300 * timeScale)});
    }
  });
})();
`;

/**
 * The add form: the category cascade, brand suggestions, check_decade(), shipping rows, a
 * TinyMCE stand-in that gets ready late, a Dropzone stand-in with V&R's upload protocol, and
 * jQuery Validate on "Publish item".
 */
export const ADD_ITEM_JS = `
(function () {
  var cfg = window.VR_FORM;
  var form = document.getElementById('frm_step1');
  if (!form) return;

  function post(url, fields) {
    var body = Object.keys(fields).map(function (k) {
      return encodeURIComponent(k) + '=' + encodeURIComponent(fields[k]);
    }).join('&');
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-Requested-With': 'XMLHttpRequest', 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' },
      body: body
    }).then(function (r) {
      if (!r.ok || r.redirected) throw new Error('HTTP ' + r.status);
      return r.text();
    });
  }

  // ---- categories: each choice loads the next level -------------------------------------
  var catWrap = document.getElementById('categories_wrap');
  function removeLevelsBelow(level) {
    for (var j = level + 1; j < 8; j++) {
      var s = document.getElementById('categ_level_' + j);
      if (s) s.parentNode.removeChild(s);
    }
  }
  function onCategoryChange(ev) {
    var sel = ev.target;
    var level = Number(sel.name.replace('categ_level_', ''));
    removeLevelsBelow(level);
    if (window.vrClearError) window.vrClearError(sel);
    if (!sel.value) return;
    var asked = sel.value;
    sel.vrLoading = true;
    post('/ajax/get_sub_categories', { parent_id: asked, level: String(level + 1) }).then(function (html) {
      // An answer for a choice since changed is stale: the newer request draws the next level.
      if (sel.value !== asked) return;
      sel.vrLoading = false;
      if (!html.trim()) return;
      removeLevelsBelow(level);
      var next = document.createElement('select');
      next.name = 'categ_level_' + (level + 1);
      next.id = 'categ_level_' + (level + 1);
      next.className = 'categ_select required';
      next.innerHTML = html;
      next.addEventListener('change', onCategoryChange);
      catWrap.appendChild(next);
    }).catch(function () { sel.vrLoading = false; });
  }
  var levels = form.querySelectorAll('select[name^=categ_level_]');
  for (var li = 0; li < levels.length; li++) levels[li].addEventListener('change', onCategoryChange);

  // ---- brand: suggestions as the seller types ------------------------------------------
  var brand = document.getElementById('recipient_name');
  var brandId = document.getElementById('brand_make_id');
  var minLen = Number((document.getElementById('min_string_length_for_autosuggest') || {}).value || 2);
  var seq = 0;
  function suggestionBox() {
    var box = document.getElementById(cfg.suggestionsId);
    if (!box && cfg.suggestionsInBody) {
      box = document.createElement(cfg.suggestionsTag);
      box.id = cfg.suggestionsId;
      box.className = cfg.suggestionsClass;
      box.style.display = 'none';
      document.body.appendChild(box);
    }
    return box;
  }
  function hideSuggestions() {
    var box = suggestionBox();
    if (box) { box.innerHTML = ''; box.style.display = 'none'; }
  }
  if (brand) {
    brand.addEventListener('input', function () {
      var my = ++seq;
      brandId.value = '';
      var str = brand.value;
      if (str.trim().length < minLen) { hideSuggestions(); return; }
      post('/ajax/get_suggested_brands_name', { str: str }).then(function (html) {
        if (my !== seq) return;
        var box = suggestionBox();
        if (!html.trim()) { hideSuggestions(); return; }
        if (cfg.suggestionsInBody) {
          var r = brand.getBoundingClientRect();
          box.style.position = 'absolute';
          box.style.left = (r.left + window.scrollX) + 'px';
          box.style.top = (r.bottom + window.scrollY) + 'px';
        }
        box.innerHTML = cfg.suggestionsWrap.replace('%s', html);
        box.style.display = 'block';
      }).catch(function () { if (my === seq) hideSuggestions(); });
    });
    brand.addEventListener('blur', function () {
      var str = brand.value.trim();
      if (!str || brandId.value) return;
      post('/ajax/check_brand_exists', { brand_name: str }).then(function (text) {
        if (/^\\d+$/.test(text.trim()) && text.trim() !== '0' && brand.value.trim() === str) brandId.value = text.trim();
      }).catch(function () {});
    });
  }
  window.set_autosuggest_brands = function (name, id) {
    seq++;
    brand.value = name;
    brandId.value = String(id);
    hideSuggestions();
    if (window.vrClearError) window.vrClearError(brand);
  };

  // ---- year: check_decade() on blur --------------------------------------------------
  window.check_decade = function () {
    var year = document.getElementById('year');
    var decade = document.getElementById('decade');
    if (!year || !decade) return;
    var y = year.value.trim();
    if (/^\\d{4}$/.test(y)) {
      var d = y.slice(0, 3) + '0';
      for (var i = 0; i < decade.options.length; i++) if (decade.options[i].value === d) decade.value = d;
    }
  };

  // ---- shipping ---------------------------------------------------------------------
  var ship = document.getElementById('available_for_shipment');
  var shipsTo = document.querySelector('div.ships_to');
  function toggleShipping() { if (shipsTo) shipsTo.style.display = ship && ship.checked ? 'block' : 'none'; }
  if (ship) ship.addEventListener('change', toggleShipping);
  toggleShipping();
  var removers = document.querySelectorAll('div.ships_to .remove_shipping_row');
  for (var r = 0; r < removers.length; r++) {
    removers[r].addEventListener('click', function (ev) {
      ev.preventDefault();
      var row = ev.currentTarget.closest('.shipping_row');
      if (row) row.parentNode.removeChild(row);
    });
  }

  // ---- TinyMCE stand-in: ready only after cfg.tinymceInitMs --------------------------
  var NAMED = { '\\u2019': '&rsquo;', '\\u2018': '&lsquo;', '\\u201c': '&ldquo;', '\\u201d': '&rdquo;',
    '\\u2013': '&ndash;', '\\u2014': '&mdash;', '\\u2026': '&hellip;', '\\u00a3': '&pound;', '\\u20ac': '&euro;',
    '\\u00e9': '&eacute;', '\\u00e8': '&egrave;', '\\u00e0': '&agrave;', '\\u00fc': '&uuml;', '\\u00f6': '&ouml;',
    '\\u00e4': '&auml;', '\\u00a9': '&copy;', '\\u00ae': '&reg;', '\\u00b0': '&deg;', '\\u00bd': '&frac12;',
    '\\u00a0': '&nbsp;' };
  function normalise(html) {
    var doc = document.implementation.createHTMLDocument('');
    var body = doc.body;
    body.innerHTML = html;
    // bare text at the top becomes a paragraph
    var nodes = Array.prototype.slice.call(body.childNodes);
    nodes.forEach(function (n) {
      if (n.nodeType === 3 && n.textContent.trim()) {
        var p = doc.createElement('p');
        body.insertBefore(p, n);
        p.appendChild(n);
      }
    });
    var paras = body.querySelectorAll('p');
    for (var i = 0; i < paras.length; i++) if (!paras[i].innerHTML.trim()) paras[i].innerHTML = '&nbsp;';
    var out = body.innerHTML;
    return out.replace(/[\\u2019\\u2018\\u201c\\u201d\\u2013\\u2014\\u2026\\u00a3\\u20ac\\u00e9\\u00e8\\u00e0\\u00fc\\u00f6\\u00e4\\u00a9\\u00ae\\u00b0\\u00bd\\u00a0]/g, function (c) { return NAMED[c]; });
  }
  var editors = {};
  function Editor(id) {
    this.id = id;
    this.initialized = false;
    this.textarea = document.getElementById(id);
  }
  Editor.prototype.getBody = function () { return this.iframe.contentDocument.body; };
  Editor.prototype.setContent = function (html) { this.getBody().innerHTML = normalise(String(html)); return html; };
  Editor.prototype.getContent = function () { return normalise(this.getBody().innerHTML); };
  Editor.prototype.save = function () { var c = this.getContent(); this.textarea.value = c; return c; };
  Editor.prototype.isDirty = function () { return false; };
  Editor.prototype.focus = function () { this.getBody().focus(); };
  if (cfg.tinymce) {
    var pending = [];
    window.tinymce = {
      majorVersion: '4',
      minorVersion: '9.11',
      editors: [],
      activeEditor: null,
      get: function (id) { return editors[id] || null; },
      triggerSave: function () { Object.keys(editors).forEach(function (k) { editors[k].save(); }); },
      on: function (name, fn) { if (name === 'AddEditor' || name === 'init') pending.push(fn); }
    };
    setTimeout(function () {
      var ta = document.getElementById('item_desc');
      if (!ta) return;
      var ed = new Editor('item_desc');
      var container = document.createElement('div');
      container.className = 'mce-tinymce mce-container mce-panel';
      container.id = 'mceu_1';
      var iframe = document.createElement('iframe');
      iframe.id = 'item_desc_ifr';
      iframe.title = 'Rich Text Area. Press ALT-F9 for menu.';
      iframe.setAttribute('frameborder', '0');
      container.appendChild(iframe);
      ta.parentNode.insertBefore(container, ta.nextSibling);
      ta.style.display = 'none';
      ed.iframe = iframe;
      var doc = iframe.contentDocument;
      doc.open();
      doc.write('<!DOCTYPE html><html><head></head><body id="tinymce" class="mce-content-body" data-id="item_desc" contenteditable="true"></body></html>');
      doc.close();
      ed.setContent(ta.value || '');
      ed.initialized = true;
      editors.item_desc = ed;
      window.tinymce.editors.push(ed);
      window.tinymce.activeEditor = ed;
      pending.forEach(function (fn) { try { fn({ editor: ed }); } catch (e) {} });
    }, cfg.tinymceInitMs);
  }

  // ---- Dropzone stand-in ------------------------------------------------------------
  var zone = document.getElementById('dropzone');
  var media = document.getElementById('uploaded_media');
  var maxFiles = Number((document.getElementById('max_nr_of_files') || {}).value || 20);
  var maxTotal = Number((document.getElementById('total_files_size') || {}).value || 10485760);
  var accepted = [];
  var queue = [];
  var busy = false;
  var hiddenInput = null;
  var ACCEPT = ['image/jpeg', 'image/png', 'image/gif'];
  function human(n) { return (n / 1048576).toFixed(1) + ' MB'; }
  function setupHiddenFileInput() {
    if (hiddenInput && hiddenInput.parentNode) hiddenInput.parentNode.removeChild(hiddenInput);
    hiddenInput = document.createElement('input');
    hiddenInput.setAttribute('type', 'file');
    hiddenInput.setAttribute('multiple', 'multiple');
    hiddenInput.className = 'dz-hidden-input';
    hiddenInput.setAttribute('accept', '.jpeg,.jpg,.png,.gif');
    hiddenInput.style.visibility = 'hidden';
    hiddenInput.style.position = 'absolute';
    hiddenInput.style.top = '0';
    hiddenInput.style.left = '0';
    hiddenInput.style.height = '0';
    hiddenInput.style.width = '0';
    document.body.appendChild(hiddenInput);
    hiddenInput.addEventListener('change', function () {
      var files = Array.prototype.slice.call(hiddenInput.files || []);
      files.forEach(addFile);
      setupHiddenFileInput();
    });
  }
  function preview(file) {
    var el = document.createElement('div');
    el.className = 'dz-preview dz-file-preview';
    el.innerHTML = '<div class="dz-details"><div class="dz-size"><span data-dz-size></span></div><div class="dz-filename"><span data-dz-name></span></div></div>' +
      '<div class="dz-progress"><span class="dz-upload" data-dz-uploadprogress></span></div>' +
      '<div class="dz-error-message"><span data-dz-errormessage></span></div>' +
      '<a class="dz-remove" href="javascript:undefined;" data-dz-remove>Remove file</a>';
    el.querySelector('[data-dz-name]').textContent = file.name;
    el.querySelector('[data-dz-size]').textContent = human(file.size);
    zone.appendChild(el);
    zone.classList.add('dz-started');
    return el;
  }
  function fail(el, message) {
    el.classList.add('dz-error', 'dz-complete');
    el.querySelector('[data-dz-errormessage]').textContent = message;
  }
  function totalSize() { return accepted.reduce(function (n, f) { return n + f.size; }, 0); }
  function addFile(file) {
    var el = preview(file);
    var type = (file.type || '').toLowerCase();
    var ext = (file.name.split('.').pop() || '').toLowerCase();
    if (ACCEPT.indexOf(type) < 0 && ['jpg', 'jpeg', 'png', 'gif'].indexOf(ext) < 0 || type === 'image/webp' || ext === 'webp') {
      fail(el, "You can't upload files of this type.");
      return;
    }
    if (accepted.length >= maxFiles) { fail(el, 'You can not upload any more files.'); return; }
    if (totalSize() + file.size > maxTotal) { fail(el, 'The total size of your photos can not be more than ' + human(maxTotal) + '.'); return; }
    var entry = { file: file, el: el, size: file.size };
    accepted.push(entry);
    queue.push(entry);
    processQueue();
  }
  function addHidden(entry, name, value) {
    var input = document.createElement('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    entry.inputs.push(input);
    media.appendChild(input);
  }
  function processQueue() {
    if (busy || !queue.length) return;
    busy = true;
    var entry = queue.shift();
    entry.el.classList.add('dz-processing');
    var fd = new FormData();
    fd.append('filename[0]', entry.file, entry.file.name);
    var xhr = new XMLHttpRequest();
    xhr.open('POST', '/ajax/dropzone_upload/' + cfg.userId, true);
    xhr.setRequestHeader('X-Requested-With', 'XMLHttpRequest');
    xhr.setRequestHeader('Cache-Control', 'no-cache');
    xhr.onload = function () {
      var reply = null;
      try { reply = JSON.parse(xhr.responseText); } catch (e) {}
      var item = reply && reply[0];
      if (xhr.status === 200 && item && item.success) {
        entry.inputs = [];
        addHidden(entry, 'thumb_name[]', item.thumbnailName);
        addHidden(entry, 'file_unique_id[]', item.file_unique_id);
        addHidden(entry, 'product_media_id[]', '0');
        addHidden(entry, 'original_name[]', entry.file.name);
        addHidden(entry, 'media_type[]', 'photo');
        addHidden(entry, 'size[]', String(item.size));
        addHidden(entry, 'new_upload[]', '1');
        addHidden(entry, 'video_file_name[]', '');
        addHidden(entry, 'description_name[]', '');
        document.querySelector('input[name=has_media]').value = '1';
        entry.el.classList.add('dz-success', 'dz-complete');
      } else {
        accepted.splice(accepted.indexOf(entry), 1);
        fail(entry.el, (item && item.error) || 'Upload failed (HTTP ' + xhr.status + ')');
      }
      busy = false;
      processQueue();
    };
    xhr.onerror = function () {
      accepted.splice(accepted.indexOf(entry), 1);
      fail(entry.el, 'Upload failed');
      busy = false;
      processQueue();
    };
    xhr.send(fd);
  }
  if (zone && media) {
    setupHiddenFileInput();
    zone.classList.add('dz-clickable');
    zone.addEventListener('click', function (ev) {
      var remove = ev.target.closest && ev.target.closest('[data-dz-remove]');
      if (remove) {
        ev.preventDefault();
        var el = remove.closest('.dz-preview');
        accepted = accepted.filter(function (e) {
          if (e.el !== el) return true;
          (e.inputs || []).forEach(function (i) { i.parentNode.removeChild(i); });
          return false;
        });
        el.parentNode.removeChild(el);
        return;
      }
      if (!ev.target.closest('.dz-preview')) hiddenInput.click();
    });
  }

  // ---- Publish: jQuery Validate first, no POST when anything is wrong -----------------
  function visibleCategorySelects() {
    return Array.prototype.slice.call(form.querySelectorAll('select[name^=categ_level_]'));
  }
  function validate() {
    var errors = [];
    var mark = window.vrMarkError;
    var all = form.querySelectorAll('.error');
    for (var i = all.length - 1; i >= 0; i--) if (all[i].tagName !== 'LABEL') window.vrClearError(all[i]);
    var sels = visibleCategorySelects();
    if (!sels.length && cfg.categories) errors.push(['categ_level_0', null, 'Please choose a category.']);
    sels.forEach(function (s) {
      if (!s.value) errors.push([s.name, s, s.name === 'categ_level_0' ? 'Please choose a category.' : 'Please choose a subcategory.']);
      else if (s.vrLoading) errors.push([s.name, s, 'Please choose a subcategory.']);
    });
    function required(id, message) {
      var el = document.getElementById(id);
      if (el && !el.value.trim()) errors.push([id, el, message || 'This field is required.']);
      return el;
    }
    required('recipient_name');
    required('model_name');
    var price = required('price');
    if (price && price.value.trim() && !/^\\d+(\\.0+)?$/.test(price.value.trim())) errors.push(['price', price, 'Please enter a valid number.']);
    if (price && /^0+(\\.0+)?$/.test(price.value.trim())) errors.push(['price', price, 'Please enter a value greater than 0.']);
    var year = document.getElementById('year');
    if (year && year.value.trim() && !/^\\d{4}$/.test(year.value.trim())) errors.push(['year', year, 'Please enter a valid year.']);
    var pt = required('processing_time');
    if (pt && pt.value.trim() && !/^\\d+$/.test(pt.value.trim())) errors.push(['processing_time', pt, 'Please enter a valid number.']);
    var pickup = document.getElementById('local_pickup');
    if (pickup && ship && !pickup.checked && !ship.checked) errors.push(['local_pickup', pickup, 'Please choose local pickup, shipping, or both.']);
    if (ship && ship.checked) {
      var fees = Array.prototype.slice.call(form.querySelectorAll('input[name="shipping_fees_fee[]"]'));
      var filled = fees.filter(function (f) { return f.value.trim() !== ''; });
      if (!filled.length) errors.push(['shipping_fees_fee[]', fees[0] || ship, 'Please enter at least one shipping fee.']);
      filled.forEach(function (f) { if (!/^\\d+(\\.\\d{1,2})?$/.test(f.value.trim())) errors.push(['shipping_fees_fee[]', f, 'Please enter a valid number.']); });
    }
    errors.forEach(function (e) { if (e[1]) mark(e[1], e[2]); });
    return errors;
  }
  var publish = document.getElementById('submit_step_1');
  if (publish) {
    publish.addEventListener('click', function (ev) {
      ev.preventDefault();
      var errors = validate();
      if (errors.length) {
        var firstBad = form.querySelector('.error');
        if (firstBad && firstBad.scrollIntoView) firstBad.scrollIntoView();
        return;
      }
      if (window.tinymce && window.tinymce.triggerSave) window.tinymce.triggerSave();
      form.submit();
    });
  }
})();
`;

/** The "Just a moment..." page's script: passes the challenge from the page, then reloads. */
export function challengeScript(
  token: string,
  interactive: boolean,
  after: string,
  passAfterMs: number,
): string {
  const target = JSON.stringify(after).replaceAll('<', '\\u003c');
  return `
(function () {
  var token = ${JSON.stringify(token)};
  var after = ${target};
  function pass(byPerson) {
    var text = document.getElementById('challenge-body-text');
    fetch('/cdn-cgi/challenge-platform/h/b/flow/ov1/' + token, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ webdriver: navigator.webdriver === true, interactive: byPerson })
    }).then(function (r) {
      if (r.ok) {
        if (text) text.textContent = 'Verification successful. Waiting for ' + location.host + ' to respond';
        if (after === location.pathname + location.search) location.reload();
        else location.replace(after);
      } else {
        return r.json().then(function (j) { if (text) text.textContent = j.error || 'Verification failed'; });
      }
    }).catch(function () { if (text) text.textContent = 'Verification failed'; });
  }
  ${
    interactive
      ? `var box = document.getElementById('challenge-checkbox');
  box.addEventListener('change', function (ev) { if (box.checked && ev.isTrusted) pass(true); });`
      : `setTimeout(function () { pass(false); }, ${passAfterMs});`
  }
})();
`;
}
