import './globals.ts';

export interface LevelOption {
  value: string;
  name: string;
}

/** The options of category level `level`, if its select is there and showing. */
export function readLevel(level: number): LevelOption[] {
  const select = document.querySelector<HTMLSelectElement>(`select[name="categ_level_${level}"]`);
  if (!select) return [];
  const shown = select.checkVisibility
    ? select.checkVisibility({ visibilityProperty: true })
    : select.getClientRects().length > 0;
  if (!shown) return [];
  return [...select.options]
    .filter((o) => o.value !== '')
    .map((o) => ({ value: o.value, name: (o.textContent || '').replace(/\s+/g, ' ').trim() }));
}

/** Chooses `value` at level `level` as a person would (input, change); whether it took. */
export function chooseLevel(a: { level: number; value: string }): boolean {
  const select = document.querySelector<HTMLSelectElement>(`select[name="categ_level_${a.level}"]`);
  if (!select) return false;
  select.value = a.value;
  select.dispatchEvent(new Event('input', { bubbles: true }));
  select.dispatchEvent(new Event('change', { bubbles: true }));
  return select.value === a.value;
}

/** The first level of the cascade, as category nodes (ids > 0 only). */
export function topLevel(): Array<{ id: number; name: string; children: [] }> {
  const select = document.querySelector<HTMLSelectElement>('select[name="categ_level_0"]');
  if (!select) return [];
  return [...select.options]
    .filter((o) => /^\d+$/.test(o.value) && Number(o.value) > 0)
    .map((o) => ({ id: Number(o.value), name: (o.textContent || '').trim(), children: [] }));
}

/** TinyMCE's editor on the add form's `item_desc` is ready. */
export function tinymceReady(): boolean {
  const ed = window.tinymce?.get?.('item_desc');
  return Boolean(ed?.initialized);
}
