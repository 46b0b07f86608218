import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One node of V&R's category tree, as the add form's cascading selects offer it. */
export interface CategoryNode {
  id: number;
  name: string;
  children: CategoryNode[];
}

/** The path separator in a listing's category and in the export's `category_name`. */
export const CATEGORY_SEPARATOR = '>';

// src/vr → ../../data, and dist/vr → ../../data: the same path from source and build.
export const SHIPPED_CATEGORIES_PATH = fileURLToPath(
  new URL('../../data/vr-categories.json', import.meta.url),
);

let shipped: CategoryNode[] | undefined;

/** The tree shipped with the project (refreshed from the live form by `vr-lister categories --refresh`). */
export function shippedCategoryTree(): CategoryNode[] {
  shipped ??= parseCategoryTree(JSON.parse(readFileSync(SHIPPED_CATEGORIES_PATH, 'utf8')));
  return shipped;
}

/** Checks the shape of a tree read from a file or the live form; throws naming the first bad node. */
export function parseCategoryTree(value: unknown, where = 'categories'): CategoryNode[] {
  if (!Array.isArray(value)) throw new Error(`${where}: expected an array of categories`);
  return value.map((node, i) => {
    const at = `${where}[${i}]`;
    if (typeof node !== 'object' || node === null) throw new Error(`${at}: expected an object`);
    const { id, name, children } = node as Record<string, unknown>;
    if (!Number.isInteger(id) || (id as number) <= 0)
      throw new Error(`${at}.id: expected a positive integer`);
    if (typeof name !== 'string' || name.trim() === '') throw new Error(`${at}.name: expected a name`);
    return { id: id as number, name, children: parseCategoryTree(children ?? [], `${at}.children`) };
  });
}

/** Case- and space-insensitive: `guitars > Electric Solid Body` is `Guitars>Electric solid body`. */
export function categoryKey(name: string): string {
  return name.toLowerCase().replace(/\s+/g, '');
}

/** Every leaf below `nodes`, as full paths (`Guitars>Archtop>Acoustic`), prefixed with `prefix`. */
export function leafPaths(nodes: readonly CategoryNode[], prefix: readonly string[] = []): string[] {
  return nodes.flatMap((node) => {
    const path = [...prefix, node.name];
    return node.children.length === 0 ? [path.join(CATEGORY_SEPARATOR)] : leafPaths(node.children, path);
  });
}

export type CategoryResolution =
  | { ok: true /** The nodes from the top level down to the leaf. */; nodes: CategoryNode[]; path: string }
  | { ok: false; message: string };

const MAX_CHOICES_SHOWN = 12;

function choicesBelow(nodes: readonly CategoryNode[], prefix: readonly string[]): string {
  const all = leafPaths(nodes, prefix);
  const shown = all.slice(0, MAX_CHOICES_SHOWN).join(', ');
  return all.length > MAX_CHOICES_SHOWN ? `${shown}, … (${all.length} in all)` : shown;
}

/**
 * Finds a listing's category in the tree. Only a leaf will do: V&R refuses a listing whose
 * category stops at a level that has sub-levels. A miss names the valid choices below the deepest
 * level that matched.
 */
export function resolveCategory(tree: readonly CategoryNode[], input: string): CategoryResolution {
  const parts = input.split(CATEGORY_SEPARATOR).map(categoryKey);
  const nodes: CategoryNode[] = [];
  let level: readonly CategoryNode[] = tree;
  for (const part of parts) {
    const node = level.find((n) => categoryKey(n.name) === part);
    if (!node) {
      const where = nodes.length
        ? `under ${nodes.map((n) => n.name).join(CATEGORY_SEPARATOR)}`
        : 'at the top level';
      return {
        ok: false,
        message: `is not a V&R category (nothing called "${input.split(CATEGORY_SEPARATOR)[nodes.length]?.trim()}" ${where}): choose one of ${choicesBelow(
          level,
          nodes.map((n) => n.name),
        )}`,
      };
    }
    nodes.push(node);
    level = node.children;
  }
  if (level.length > 0) {
    return {
      ok: false,
      message: `is not a leaf category: choose one of ${choicesBelow(
        level,
        nodes.map((n) => n.name),
      )}`,
    };
  }
  return { ok: true, nodes, path: nodes.map((n) => n.name).join(CATEGORY_SEPARATOR) };
}

export interface CategoryTreeDiff {
  /** Leaf paths only in the new tree. */
  added: string[];
  /** Leaf paths only in the old tree (listings on them would now be refused by V&R). */
  removed: string[];
  /** Paths whose id changed (the form is chosen by id first). */
  renumbered: Array<{ path: string; from: number; to: number }>;
}

function nodesByPath(
  nodes: readonly CategoryNode[],
  prefix: readonly string[] = [],
): Map<string, CategoryNode> {
  const out = new Map<string, CategoryNode>();
  for (const node of nodes) {
    const path = [...prefix, node.name];
    out.set(path.join(CATEGORY_SEPARATOR), node);
    for (const [k, v] of nodesByPath(node.children, path)) out.set(k, v);
  }
  return out;
}

/** What changed between two trees (the shipped one and the live one), by leaf path and id. */
export function diffCategoryTrees(
  from: readonly CategoryNode[],
  to: readonly CategoryNode[],
): CategoryTreeDiff {
  const a = new Set(leafPaths(from));
  const b = new Set(leafPaths(to));
  const before = nodesByPath(from);
  const renumbered: CategoryTreeDiff['renumbered'] = [];
  for (const [path, node] of nodesByPath(to)) {
    const old = before.get(path);
    if (old && old.id !== node.id) renumbered.push({ path, from: old.id, to: node.id });
  }
  return {
    added: [...b].filter((p) => !a.has(p)),
    removed: [...a].filter((p) => !b.has(p)),
    renumbered,
  };
}
