import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig, requireVrSite } from '../config.ts';
import { FORM_PATH, openForm } from '../creation/form-page.ts';
import { connectDatabase } from '../db/client.ts';
import { createLogger } from '../logger.ts';
import { SESSION_EXPIRED } from '../vr/browser-session.ts';
import {
  type CategoryNode,
  diffCategoryTrees,
  leafPaths,
  SHIPPED_CATEGORIES_PATH,
  shippedCategoryTree,
} from '../vr/categories.ts';
import { readCategoryCascade } from '../vr/category-cascade.ts';
import { openBrowserSession } from '../vr/open-session.ts';
import { err, out } from './common.ts';

/** The live tree, read from the add form's cascade in a logged-in Chromium. */
async function readLiveTree(quiet: boolean): Promise<CategoryNode[]> {
  const config = loadConfig();
  const site = requireVrSite(config);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  // The shared session (vr-lister login), as the workers use it.
  const database = connectDatabase(config.databaseUrl, { max: 2 });
  const browser = openBrowserSession({ config, site, database, logger });
  try {
    const page = await browser.withLogin(async (p) => {
      const opened = await openForm(p, browser.url(FORM_PATH));
      return opened === SESSION_EXPIRED ? SESSION_EXPIRED : p;
    });
    return await readCategoryCascade(page, {
      stepTimeoutMs: config.pageTimeoutMs,
      onTopLevel: quiet ? undefined : (name, done, of) => err(`read ${name} (${done}/${of})`),
    });
  } finally {
    await browser.close();
    await database.close();
  }
}

/**
 * `vr-lister categories [--refresh] [--json]`: V&R's category tree. Without --refresh, the shipped
 * copy (one leaf path per line, or the tree as JSON). With --refresh, the live form's: printed with
 * --json, otherwise written over the shipped copy with what changed.
 */
export async function commandCategories(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { refresh: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
  });
  if (!values.refresh) {
    const tree = shippedCategoryTree();
    out(values.json ? JSON.stringify(tree, null, 1) : leafPaths(tree).join('\n'));
    return;
  }
  const live = await readLiveTree(values.json);
  if (values.json) {
    out(JSON.stringify(live, null, 1));
    return;
  }
  const diff = diffCategoryTrees(shippedCategoryTree(), live);
  await writeFile(SHIPPED_CATEGORIES_PATH, `${JSON.stringify(live, null, 1)}\n`);
  out(`${live.length} top levels, ${leafPaths(live).length} leaves written to ${SHIPPED_CATEGORIES_PATH}`);
  for (const path of diff.added) out(`  added    ${path}`);
  for (const path of diff.removed) out(`  removed  ${path}`);
  for (const r of diff.renumbered) out(`  id       ${r.path}: ${r.from} -> ${r.to}`);
  if (!diff.added.length && !diff.removed.length && !diff.renumbered.length) out('  no change');
}
