import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { loadConfig, requireVrSite } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { listSiteFacts } from '../db/site-facts.ts';
import { createLogger } from '../logger.ts';
import { downloadAndScan, normalizeHeaderName, REQUIRED_COLUMNS } from '../resolution/export-stream.ts';
import { checkBrand } from '../vr/brand-check.ts';
import type { BrowserSession } from '../vr/browser-session.ts';
import { type CategoryNode, categoryKey, resolveCategory, shippedCategoryTree } from '../vr/categories.ts';
import { openBrowserSession } from '../vr/open-session.ts';
import { tinymceReady, topLevel } from '../vr/page-scripts/cascade.ts';
import { readPageSession } from '../vr/page-session.ts';
import { out, positiveInt, UsageError } from './common.ts';
import { checkRunner, fail, formatCheck, type SiteCheck } from './site-checks.ts';

export type { SiteCheck } from './site-checks.ts';

import {
  factsLearnedLines,
  ROUND_TRIP_DEFAULTS,
  type RoundTripReport,
  roundTrip,
  suggestedFlushSettleMs,
} from './round-trip.ts';

export interface SiteCheckReport {
  ok: boolean;
  checks: SiteCheck[];
}

const FORM_PATH = '/instruments/add_edit_item';
const NONSENSE_BRAND = 'Zqxj Nonexistent Brand 7731';
const FORM_WAIT_MS = 15_000;

/** Differences between two trees, by path: what the live form lacks, and what it has that we don't. */
export function compareCategoryTrees(
  shipped: readonly CategoryNode[],
  live: readonly CategoryNode[],
  depth = Number.POSITIVE_INFINITY,
): string[] {
  const differences: string[] = [];
  const walk = (a: readonly CategoryNode[], b: readonly CategoryNode[], prefix: string, level: number) => {
    const live = new Map(b.map((n) => [categoryKey(n.name), n]));
    const ours = new Map(a.map((n) => [categoryKey(n.name), n]));
    for (const node of a) {
      const other = live.get(categoryKey(node.name));
      const path = `${prefix}${node.name}`;
      if (!other) differences.push(`missing on V&R: ${path}`);
      else {
        if (other.id !== node.id) differences.push(`${path}: id ${other.id} on V&R, ${node.id} shipped`);
        if (level + 1 < depth) walk(node.children, other.children, `${path}>`, level + 1);
      }
    }
    for (const node of b)
      if (!ours.has(categoryKey(node.name))) differences.push(`new on V&R: ${prefix}${node.name}`);
  };
  walk(shipped, live, '', 0);
  return differences;
}

/** The first level of the live cascade (the rest needs the cascade walked, one level at a time). */
async function liveTopLevel(page: Page): Promise<CategoryNode[]> {
  return page.evaluate(topLevel);
}

/** Chooses a shipped leaf level by level, waiting for each sub-level as a person would. */
async function walkCascade(page: Page, tree: readonly CategoryNode[]): Promise<string> {
  let nodes = tree;
  const path: string[] = [];
  for (let level = 0; nodes.length; level += 1) {
    const node = nodes[0]!;
    const select = page.locator(`select[name="categ_level_${level}"]`);
    try {
      await select
        .locator('option', { hasText: node.name })
        .first()
        .waitFor({ state: 'attached', timeout: FORM_WAIT_MS });
    } catch {
      const offered = (await select.count()) ? await select.locator('option').allTextContents() : undefined;
      fail(
        offered
          ? `level ${level} (categ_level_${level}) does not offer "${node.name}"; it offers ${offered
              .map((t) => t.trim())
              .filter(Boolean)
              .slice(0, 12)
              .join(', ')}`
          : `no select[name=categ_level_${level}] on the add form${level ? ` after choosing ${path.join('>')}` : ''}`,
      );
    }
    await select
      .selectOption({ value: String(node.id) })
      .catch(() => select.selectOption({ label: node.name }));
    path.push(node.name);
    nodes = node.children;
  }
  return path.join('>');
}

/** Runs every check in order; a check that others need stops them when it fails. */
export async function checkSite(
  session: BrowserSession,
  opts: {
    exportTimeoutMs: number;
    artifactsDir: string;
    /** Values the evidence must not hold (the V&R password). */
    secrets?: readonly string[];
    onCheck?: (check: SiteCheck) => void;
  },
): Promise<SiteCheckReport> {
  const { checks, run } = checkRunner(session, opts);

  await run(
    'site reachable',
    async () => {
      const page = await session.page();
      const response = await session.goto(page, '/');
      const status = response?.status() ?? 200;
      const state = await readPageSession(page);
      if (status >= 400) fail(`${page.url()} answered HTTP ${status} ("${state.title}")`);
      if (!state.loginForm && !state.loggedIn) {
        fail(
          `${page.url()} answered "${state.title}" but it is not V&R: no login form (form#loginForm) and no Logout link`,
        );
      }
      return `HTTP ${status}, "${state.title}", not blocked${session.challengesPassed ? ' (challenge passed)' : ''}`;
    },
    { stopsOthers: true },
  );
  await run(
    'logged in',
    async () => {
      const before = session.logins;
      await session.ensureLoggedIn();
      return `as ${session.site.username} (${session.logins > before ? 'logged in now' : 'stored session'})`;
    },
    { stopsOthers: true },
  );
  await run('brand check', async () => {
    const fender = await checkBrand(session, 'Fender');
    const nonsense = await checkBrand(session, NONSENSE_BRAND);
    if (!(fender > 0)) fail(`Fender answered ${fender}, expected an id`);
    if (nonsense !== 0) fail(`"${NONSENSE_BRAND}" answered ${nonsense}, expected 0`);
    return `Fender ${fender}, a nonsense brand 0`;
  });

  let formOpen = false;
  const openForm = async (): Promise<Page> => {
    const page = await session.page();
    if (formOpen) return page;
    const response = await session.goto(page, FORM_PATH);
    const status = response?.status() ?? 200;
    if (status >= 400) fail(`the add form answered HTTP ${status}`);
    if ((await page.locator('form#frm_step1').count()) === 0) {
      fail(`no form#frm_step1 at ${page.url()} ("${await page.title()}")`);
    }
    formOpen = true;
    return page;
  };
  await run('category cascade', async () => {
    const page = await openForm();
    return `reached the leaf ${await walkCascade(page, shippedCategoryTree())}`;
  });
  await run('TinyMCE', async () => {
    const page = await openForm();
    try {
      await page.waitForFunction(tinymceReady, undefined, { timeout: FORM_WAIT_MS });
    } catch {
      fail(`TinyMCE did not get ready on textarea#item_desc within ${FORM_WAIT_MS / 1000} s`);
    }
    return 'the editor on item_desc is ready';
  });
  await run('Dropzone input', async () => {
    const page = await openForm();
    const input = page.locator('input[type="file"].dz-hidden-input');
    await input
      .first()
      .waitFor({ state: 'attached', timeout: FORM_WAIT_MS })
      .catch(() => fail('no Dropzone file input (input[type=file].dz-hidden-input) on the add form'));
    return `${await input.count()} hidden file input(s)`;
  });
  await run('shipping rows', async () => {
    const page = await openForm();
    const fees = page.locator('div.ships_to input[name="shipping_fees_fee[]"]');
    const count = await fees.count();
    if (!count) fail('no shipping rows (div.ships_to with shipping_fees_fee[] inputs) on the add form');
    return `${count} row(s)`;
  });
  await run('Publish link', async () => {
    const page = await openForm();
    // Looked at, never clicked: check-site changes nothing on V&R.
    if ((await page.locator('a#submit_step_1').count()) === 0)
      fail('no Publish link (a#submit_step_1) on the add form');
    return `"${((await page.locator('a#submit_step_1').first().textContent()) ?? '').trim()}"`;
  });
  await run('category tree', async () => {
    const page = await openForm();
    await page.reload({ waitUntil: 'domcontentloaded' });
    const live = await liveTopLevel(page);
    if (!live.length) fail('the add form offers no categories (select[name=categ_level_0])');
    const differences = compareCategoryTrees(shippedCategoryTree(), live, 1);
    if (differences.length) fail(`the live tree differs from the shipped one: ${differences.join('; ')}`);
    return `${live.length} top-level categories, as shipped`;
  });
  await run('export', async () => {
    const started = Date.now();
    const stats = await downloadAndScan(session, opts.exportTimeoutMs, () => {}, {
      checkHeader(header) {
        const names = new Set(header.map(normalizeHeaderName));
        const missing = REQUIRED_COLUMNS.filter((c) => !names.has(c));
        if (missing.length)
          fail(`the export's header lacks ${missing.join(', ')} (it has ${header.join(', ')})`);
      },
    });
    return `downloaded in two steps in ${((Date.now() - started) / 1000).toFixed(1)} s: ${stats.rows} rows, highest id ${stats.maxProductId}, ${(stats.bytes / 1024).toFixed(0)} KB, header has ${REQUIRED_COLUMNS.join(', ')}`;
  });
  return { ok: checks.every((c) => c.ok), checks };
}

/** A price from --price: a positive number with at most two decimals. */
function priceOption(value: string): number {
  if (!/^\d+(\.\d{1,2})?$/.test(value) || !(Number(value) > 0))
    throw new UsageError(`--price must be a positive amount such as 99999, got "${value}"`);
  return Number(value);
}

/**
 * `vr-lister check-site [--json]`: exit 0 only when every check passes. With `--round-trip`, the
 * opt-in run that publishes one test listing and deletes it (see round-trip.ts).
 */
export async function commandCheckSite(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      'round-trip': { type: 'boolean', default: false },
      price: { type: 'string' },
      category: { type: 'string' },
      brand: { type: 'string' },
      'wait-ms': { type: 'string' },
    },
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  const roundTripOnly = (['price', 'category', 'brand', 'wait-ms'] as const).filter(
    (o) => values[o] !== undefined,
  );
  if (!values['round-trip'] && roundTripOnly.length)
    throw new UsageError(`--${roundTripOnly[0]} goes with --round-trip`);
  const price = values.price === undefined ? ROUND_TRIP_DEFAULTS.price : priceOption(values.price);
  const waitMs =
    values['wait-ms'] === undefined
      ? ROUND_TRIP_DEFAULTS.waitMs
      : positiveInt(values['wait-ms'], '--wait-ms');
  const category = values.category ?? ROUND_TRIP_DEFAULTS.category;
  const resolved = resolveCategory(shippedCategoryTree(), category);
  if (!resolved.ok) throw new UsageError(`--category: ${resolved.message}`);
  const brand = values.brand?.trim() || ROUND_TRIP_DEFAULTS.brand;
  const config = loadConfig();
  const site = requireVrSite(config);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const database = connectDatabase(config.databaseUrl, { max: 2 });
  const session = openBrowserSession({ config, site, database, logger });
  const artifactsDir = resolve(
    config.artifactsDir,
    `check-site-${values['round-trip'] ? 'round-trip-' : ''}${new Date().toISOString().replace(/[:.]/g, '-')}`,
  );
  const onCheck = values.json ? undefined : (check: SiteCheck) => out(formatCheck(check, 16));
  let report: SiteCheckReport | RoundTripReport;
  let facts: Awaited<ReturnType<typeof listSiteFacts>> = [];
  try {
    report = values['round-trip']
      ? await roundTrip(session, database.db, {
          price,
          category: resolved.path,
          brand,
          shippingFees: config.listingDefaults.shippingFees ?? ROUND_TRIP_DEFAULTS.shippingFees,
          waitMs,
          exportTimeoutMs: config.exportTimeoutMs,
          pageTimeoutMs: config.pageTimeoutMs,
          submitTimeoutMs: config.submitTimeoutMs,
          artifactsDir,
          secrets: [site.password],
          onCheck,
        })
      : await checkSite(session, {
          exportTimeoutMs: config.exportTimeoutMs,
          artifactsDir,
          secrets: [site.password],
          onCheck,
        });
    if (!values.json) facts = await listSiteFacts(database.db);
  } finally {
    await session.close();
    await database.close();
  }
  if (values.json) out(JSON.stringify(report));
  else {
    out(
      report.ok ? '\nAll checks passed.' : `\n${report.checks.filter((c) => !c.ok).length} check(s) failed.`,
    );
    const delay = 'facts' in report ? (report as RoundTripReport).facts.indexingDelayMs : null;
    if (delay !== null)
      out(
        `V&R showed the listing in its export ${(delay / 1000).toFixed(1)} s after Publish: suggested FLUSH_SETTLE_MS=${suggestedFlushSettleMs(delay)} (now ${config.flushSettleMs}).`,
      );
    const lines = factsLearnedLines(facts);
    if (lines.length) out(`\n${lines.join('\n')}`);
  }
  if (!report.ok) process.exitCode = 1;
}
