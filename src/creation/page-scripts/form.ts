import '../../vr/page-scripts/globals.ts';

/**
 * The add form's page scripts (functions run in V&R's page: see src/vr/page-scripts/globals.ts for
 * their rules). Where the real markup is unknown, elements are found by what they do or say.
 */

export type FoundOption = { found: string | null; offered: string[] } | null;

/**
 * The whole category path in one round trip: each level's option chosen as a person would (the select changes and says so: input, change), the
 * moment it shows (a sub-level appears once its parent is chosen: the real page loads it), waiting
 * on the page's own changes up to `waitMs` per level. `chosen`: the levels chosen; `found`, for the
 * level that stopped it: null when the level never appeared, `found: null` with what it offered.
 */
export async function choosePath(a: {
  levels: Array<{ id: number; name: string }>;
  waitMs: number;
  pollMs: number;
}): Promise<{ chosen: number; found: FoundOption }> {
  const h = {
    key(s: unknown) {
      return String(s || '')
        .toLowerCase()
        .replace(/\s+/g, '');
    },
    changed(ms: number) {
      return new Promise<void>((resolve) => {
        const observer = new MutationObserver(() => {
          observer.disconnect();
          clearTimeout(timer);
          resolve();
        });
        const timer = setTimeout(() => {
          observer.disconnect();
          resolve();
        }, ms);
        observer.observe(document.body, { subtree: true, childList: true, attributes: true });
      });
    },
    choose(level: number, node: { id: number; name: string }, onlyFound: boolean): FoundOption {
      const select = document.querySelector<HTMLSelectElement>(`select[name="categ_level_${level}"]`);
      if (!select) return null;
      const options = [...select.options].filter((o) => o.value !== '');
      const option =
        options.find((o) => o.value === String(node.id)) ||
        options.find((o) => h.key(o.textContent) === h.key(node.name));
      if (!option)
        return onlyFound ? null : { found: null, offered: options.map((o) => (o.textContent || '').trim()) };
      select.focus();
      select.value = option.value;
      select.dispatchEvent(new Event('input', { bubbles: true }));
      select.dispatchEvent(new Event('change', { bubbles: true }));
      return { found: option.value, offered: [] };
    },
  };
  for (const [level, node] of a.levels.entries()) {
    let found = h.choose(level, node, level > 0);
    if (level > 0) {
      const deadline = performance.now() + a.waitMs;
      while (!found && performance.now() < deadline) {
        await h.changed(Math.min(a.pollMs, Math.max(1, deadline - performance.now())));
        found = h.choose(level, node, true);
      }
      if (!found) found = h.choose(level, node, false);
    }
    if (!found?.found) return { chosen: level, found };
  }
  return { chosen: a.levels.length, found: null };
}

export interface PickedBrand {
  picked: boolean;
  offered: number;
  value: string | null;
}

/**
 * Focuses the brand field and sets all of the name but its last character, quietly (the last one is
 * typed); false when the form has no brand field.
 */
export function startBrand(head: string): boolean {
  const input = document.querySelector<HTMLInputElement>('input[name="recipient_name"]');
  if (!input) return false;
  input.focus();
  input.value = head;
  return true;
}

/**
 * Picks the suggestion for our brand wherever the page put the list: any element whose onclick
 * calls `set_autosuggest_brands('Name', id)` (whitespace varies), matched by id, else by name.
 * Without it: null (still waiting) until the page has settled for `quietMs` (page-settle's rule),
 * then the brand id is set as picking it would have. With `waitMs`, waits in the page that long
 * for either (on the page's changes, else every `pollMs`); null after it.
 */
export async function pickSuggestion(a: {
  id: number;
  name: string;
  quietMs: number;
  waitMs?: number;
  pollMs?: number;
}): Promise<PickedBrand | null> {
  const h = {
    key(s: unknown) {
      return String(s || '')
        .toLowerCase()
        .replace(/\s+/g, '');
    },
    changed(ms: number) {
      return new Promise<void>((resolve) => {
        const observer = new MutationObserver(() => {
          observer.disconnect();
          clearTimeout(timer);
          resolve();
        });
        const timer = setTimeout(() => {
          observer.disconnect();
          resolve();
        }, ms);
        observer.observe(document.body, { subtree: true, childList: true, attributes: true });
      });
    },
    pick(): PickedBrand | null {
      const call = /set_autosuggest_brands\(\s*(['"])((?:\\.|(?!\1).)*)\1\s*,\s*(\d+)\s*\)/;
      const items = [...document.querySelectorAll<HTMLElement>('[onclick*="set_autosuggest_brands"]')]
        .map((el) => ({ el, m: call.exec(el.getAttribute('onclick') || '') }))
        .filter((x): x is { el: HTMLElement; m: RegExpExecArray } => x.m !== null);
      const item =
        items.find((x) => Number(x.m[3]) === a.id) || items.find((x) => h.key(x.m[2]) === h.key(a.name));
      if (!item) {
        // Waiting for the suggestions, or for the page to settle without them.
        const p = window.__vrProbe;
        if (!(!p || (p.pending === 0 && performance.now() - p.last >= a.quietMs))) return null;
      }
      if (item) item.el.click();
      const brandId = document.querySelector<HTMLInputElement>('input[name="brand_make_id"]');
      // What picking the suggestion would have set, when the list didn't offer it.
      if (brandId && !brandId.value) brandId.value = String(a.id);
      const input = document.querySelector<HTMLInputElement>('input[name="recipient_name"]');
      return { picked: Boolean(item), offered: items.length, value: input ? input.value : null };
    },
  };
  const deadline = performance.now() + (a.waitMs ?? 0);
  let picked = h.pick();
  while (!picked && performance.now() < deadline) {
    await h.changed(Math.min(a.pollMs ?? 15, Math.max(1, deadline - performance.now())));
    picked = h.pick();
  }
  return picked;
}

export interface InPageFields {
  texts: Array<[name: string, value: string]>;
  year: string | null;
  decade: string | null;
  flags: Array<[name: string, checked: boolean]>;
  unit: string | null;
}

/** Text fields set as typing would leave them; the year blurred so that check_decade() runs. The fields missing. */
export function fillFields(v: InPageFields): string[] {
  const missing: string[] = [];
  const h = {
    field(name: string) {
      return document.querySelector<HTMLInputElement & HTMLSelectElement>(`form#frm_step1 [name="${name}"]`);
    },
    fire(el: Element, ...types: string[]) {
      for (const type of types) el.dispatchEvent(new Event(type, { bubbles: true }));
    },
    key(s: unknown) {
      return String(s || '')
        .trim()
        .toLowerCase();
    },
  };
  for (const [name, value] of v.texts) {
    const input = h.field(name);
    if (!input) {
      missing.push(name);
      continue;
    }
    input.focus();
    input.value = value;
    h.fire(input, 'input', 'change');
    input.blur();
  }
  if (v.year !== null) {
    const year = h.field('year');
    if (!year) missing.push('year');
    else {
      year.focus();
      year.value = v.year;
      h.fire(year, 'input', 'change');
      year.blur();
      // A page without focus gets no blur from blur(): say it ourselves.
      if (document.activeElement === year || !document.hasFocus()) year.dispatchEvent(new FocusEvent('blur'));
      const decade = h.field('decade');
      const wanted = v.decade;
      if (decade && !decade.value && wanted !== null) {
        // check_decade() didn't set it: choose the decade as a person would.
        const option =
          [...decade.options].find((o) => o.value === wanted) ||
          [...decade.options].find((o) => (o.textContent || '').trim().startsWith(wanted));
        if (option) {
          decade.value = option.value;
          h.fire(decade, 'input', 'change');
        }
      }
    }
  }
  for (const [name, checked] of v.flags) {
    const box = document.querySelector<HTMLInputElement>(
      `form#frm_step1 input[type="checkbox"][name="${name}"]`,
    );
    if (!box) {
      if (checked) missing.push(name);
      continue;
    }
    if (box.checked !== checked) box.click();
    if (box.checked !== checked) {
      box.checked = checked;
      h.fire(box, 'change');
    }
  }
  if (v.unit !== null) {
    const unit = h.field('hours_days_sel');
    const option =
      unit &&
      [...unit.options].find(
        (o) => h.key(o.value) === h.key(v.unit) || h.key(o.textContent) === h.key(v.unit),
      );
    if (!unit || !option) missing.push('hours_days_sel');
    else {
      unit.value = option.value;
      h.fire(unit, 'input', 'change');
    }
  }
  return missing;
}

/**
 * The shipping rows of `div.ships_to`: each holds one `shipping_fees_fee[]` and a hidden
 * `shipping_fees_destination[]`; its region is read from what the row says (UK, Europe, USA,
 * REST OF WORLD) or its destination value. Offered regions get their fee; the others are emptied
 * and removed with the row's × control.
 */
export function fillShipping(v: { fees: Record<string, number | undefined> }): {
  error?: string;
  removed?: string[];
  regions?: string[];
} {
  const container =
    document.querySelector('form#frm_step1 div.ships_to') || document.querySelector('div.ships_to');
  if (!container) return { error: 'the add form has no shipping rows (div.ships_to)' };
  const fees = [...container.querySelectorAll<HTMLInputElement>('input[name="shipping_fees_fee[]"]')];
  const h = {
    regionOf(text: string): string | null {
      const t = ` ${text.toLowerCase().replace(/[^a-z]+/g, ' ')} `;
      const found: string[] = [];
      if (/ rest of (the )?world | worldwide | world | international | other /.test(t)) found.push('world');
      if (/ uk | united kingdom | great britain | gb /.test(t)) found.push('uk');
      if (/ europe | eu /.test(t)) found.push('europe');
      if (/ usa | us | united states | america /.test(t)) found.push('usa');
      return found.length === 1 ? found[0]! : null;
    },
    fire(el: Element, ...types: string[]) {
      for (const type of types) el.dispatchEvent(new Event(type, { bubbles: true }));
    },
    says(el: Element) {
      return /^[\u00d7xX\u2715\u2716\u2717]$/.test(
        (el.textContent || (el as HTMLInputElement).value || '').trim(),
      );
    },
    named(el: Element) {
      return /remove|delete|close/i.test(
        [el.getAttribute('title'), el.getAttribute('aria-label'), el.getAttribute('alt')].join(' '),
      );
    },
    classed(el: Element) {
      return /remove|delete|close|times/i.test(el.getAttribute('class') || '');
    },
    removeControl(row: Element): HTMLElement | null {
      const all = [
        ...row.querySelectorAll<HTMLElement>(
          'a, button, span, i, img, div, input[type="button"], input[type="image"]',
        ),
      ];
      for (const test of [h.says, h.named, h.classed]) {
        const hits = all.filter(test);
        // The outermost hit: the link, not the icon inside it.
        const outer = hits.find((el) => !hits.some((other) => other !== el && other.contains(el)));
        if (outer) return outer;
      }
      return null;
    },
  };
  const rows = fees.map((fee) => {
    let row: Element = fee;
    while (
      row.parentElement &&
      row.parentElement !== container &&
      row.parentElement.querySelectorAll('input[name="shipping_fees_fee[]"]').length === 1
    )
      row = row.parentElement;
    const destination = row.querySelector<HTMLInputElement>('input[name="shipping_fees_destination[]"]');
    const region =
      h.regionOf(row.textContent || '') ||
      h.regionOf(destination?.value || '') ||
      h.regionOf(fee.placeholder || fee.title || '');
    return { row, fee, region };
  });
  const unknown = rows.filter((r) => !r.region);
  if (unknown.length) {
    return {
      error: `a shipping row names no region we know: "${unknown.map((r) => (r.row.textContent || '').trim()).join('", "')}"`,
    };
  }
  const regions = rows.map((r) => r.region as string);
  const missing = Object.keys(v.fees).filter((r) => !regions.includes(r));
  if (missing.length)
    return {
      error: `the add form has no shipping row for ${missing.join(', ')} (rows: ${regions.join(', ')})`,
    };
  const removed: string[] = [];
  for (const r of rows) {
    const region = r.region as string;
    if (v.fees[region] !== undefined) {
      r.fee.focus();
      r.fee.value = String(v.fees[region]);
      h.fire(r.fee, 'input', 'change');
      r.fee.blur();
      continue;
    }
    // Emptied first: even a row only hidden, not removed, then sends no fee.
    r.fee.value = '';
    h.fire(r.fee, 'input', 'change');
    const control = h.removeControl(r.row);
    if (!control) return { error: `the shipping row for ${region} has no remove (\u00d7) control` };
    control.click();
    removed.push(region);
  }
  window.__vrRemovedRows = rows.filter((r) => removed.includes(r.region as string)).map((r) => r.row);
  return { removed, regions };
}

/** Every removed shipping row is gone (or hidden, its fee empty or out of the form). */
export function rowsGone(): boolean {
  return (window.__vrRemovedRows || []).every(
    (row) =>
      !row.isConnected ||
      !(row.checkVisibility
        ? row.checkVisibility({ visibilityProperty: true })
        : row.getClientRects().length > 0),
  );
}

/**
 * The shipping rows are there, showing, and nothing of the page's is loading; else the page has
 * settled for `quietMs` (page-settle's rule) without them.
 */
export function rowsShownOrSettled(quietMs: number): boolean {
  const rows =
    document.querySelector('form#frm_step1 div.ships_to') || document.querySelector('div.ships_to');
  const shown =
    rows &&
    (rows.checkVisibility
      ? rows.checkVisibility({ visibilityProperty: true })
      : rows.getClientRects().length > 0);
  const p = window.__vrProbe;
  if (shown && rows.querySelector('input[name="shipping_fees_fee[]"]') && !p?.pending) return true;
  return !p || (p.pending === 0 && performance.now() - p.last >= quietMs);
}

/** The form holds the uploaded photo `id` (a `file_unique_id[]` input). */
export function hasUpload(id: string): boolean {
  return [...document.querySelectorAll<HTMLInputElement>('input[name="file_unique_id[]"]')].some(
    (i) => i.value === id,
  );
}

/** Sets the description in TinyMCE (and its textarea); what the editor kept. */
export function setDescription(html: string): string {
  const ed = window.tinymce!.get!('item_desc')!;
  ed.setContent(html);
  if (typeof ed.save === 'function') ed.save();
  return ed.getContent();
}
