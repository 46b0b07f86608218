import type { Page } from 'playwright-core';
import { type CategoryNode, parseCategoryTree } from './categories.ts';
import { chooseLevel, type LevelOption, readLevel as levelOptions } from './page-scripts/cascade.ts';
import { installSettleProbe, QUIET_MS, waitPageSettled } from './page-settle.ts';

/**
 * Reads V&R's category tree from the add form's cascade, as a person would see it: on load only
 * `categ_level_0` exists; choosing a value makes the next level appear (`categ_level_1`, then 2,
 * then 3), loaded by the page. Each option of each level is chosen in turn and the sub-level that
 * appears is read; a level after which nothing appears is a leaf.
 *
 * Nothing is waited for by the clock alone: after each choice the page's own requests are counted
 * until none is in flight and the form has stopped changing (QUIET_MS), and a sub-level counts as
 * new only when its options differ from what was showing before the choice.
 *
 * The page must show the add form (`form#frm_step1`) of a logged-in session. Used by
 * `vr-lister categories --refresh` and by the live site check.
 */

export interface CascadeOptions {
  /** Longest wait for the page to settle after one choice. */
  stepTimeoutMs: number;
  /** Called after each top-level category, for progress lines. */
  onTopLevel?: (name: string, done: number, of: number) => void;
}

type RawOption = LevelOption;

const signature = (options: RawOption[]) => options.map((o) => o.value).join(',');

/** A tree as deep as V&R's cascade goes: the real one has 4 levels; this is a guard against loops. */
const MAX_LEVELS = 8;

export async function readCategoryCascade(page: Page, options: CascadeOptions): Promise<CategoryNode[]> {
  if ((await page.locator('form#frm_step1').count()) === 0) {
    throw new Error(`the add form (form#frm_step1) is not on ${page.url()}`);
  }
  await installSettleProbe(page);
  const readLevel = async (level: number): Promise<RawOption[]> => page.evaluate(levelOptions, level);
  const settle = async (what: string) => {
    try {
      await waitPageSettled(page, QUIET_MS, options.stepTimeoutMs);
    } catch {
      throw new Error(
        `the category cascade was still loading ${options.stepTimeoutMs} ms after choosing ${what}`,
      );
    }
  };

  const walk = async (level: number, path: string[]): Promise<unknown[]> => {
    const own = await readLevel(level);
    if (level === 0 && own.length === 0) throw new Error('the add form has no categ_level_0 select');
    const nodes: unknown[] = [];
    for (const [index, option] of own.entries()) {
      const where = [...path, option.name].join('>');
      const before = signature(await readLevel(level + 1));
      const chosen = await page.evaluate(chooseLevel, { level, value: option.value });
      if (!chosen) throw new Error(`could not choose ${where} (categ_level_${level} = ${option.value})`);
      await settle(where);
      const below = await readLevel(level + 1);
      const opened = below.length > 0 && signature(below) !== before;
      if (opened && level + 1 >= MAX_LEVELS)
        throw new Error(`the cascade goes deeper than ${MAX_LEVELS} levels at ${where}`);
      const id = /^\d+$/.test(option.value) ? Number(option.value) : Number.NaN;
      nodes.push({
        id,
        name: option.name,
        children: opened ? await walk(level + 1, [...path, option.name]) : [],
      });
      if (level === 0) options.onTopLevel?.(option.name, index + 1, own.length);
    }
    return nodes;
  };
  // Checked like a file: ids must be positive integers, names non-empty.
  return parseCategoryTree(await walk(0, []), 'the live category cascade');
}
