import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { FORM_PATH, openForm, PUBLISHED_TEXT } from '../creation/form-page.ts';
import { fillForm } from '../creation/listing-form.ts';
import { describeFieldErrors, publish } from '../creation/publish.ts';
import type { Executor } from '../db/jobs.ts';
import {
  ROUND_TRIP_FACT_PREFIX,
  recordSiteFact,
  type SiteFactRow,
  siteProvenByRoundTrip,
} from '../db/site-facts.ts';
import { SHIPPING_REGIONS, type ShippingFees } from '../listing/listing.ts';
import { htmlToText } from '../listing/normalize.ts';
import { downloadAndScan, type ExportRow } from '../resolution/export-stream.ts';
import { checkBrand } from '../vr/brand-check.ts';
import { type BrowserSession, SESSION_EXPIRED } from '../vr/browser-session.ts';
import { resolveCategory, shippedCategoryTree } from '../vr/categories.ts';
import { openEditPage } from '../vr/edit-page.ts';
import { ITEMS_PAGE, postFromItemsPage } from '../vr/items-page.ts';
import { checkRunner, fail, type SiteCheck } from './site-checks.ts';

/**
 * `check-site --round-trip`: the one command that publishes (and then deletes) a listing, to learn
 * what nobody knows of the real site before the first real listing: the text after Publish, how
 * long the export takes to show a new listing, whether the marker and the fees survive.
 */

export interface RoundTripFacts {
  publishedText: string | null;
  indexingDelayMs: number | null;
  markerSurvives: boolean | null;
  exportContentType: string | null;
  feesStored: boolean | null;
  deleted: boolean;
}

export interface RoundTripReport {
  ok: boolean;
  checks: SiteCheck[];
  facts: RoundTripFacts;
}

export interface RoundTripOptions {
  price: number;
  /** A leaf of the shipped tree, e.g. "Guitars>Electric solid body". */
  category: string;
  brand: string;
  shippingFees: ShippingFees;
  /** How long the export may take to show the listing (and to drop it once deleted). */
  waitMs: number;
  exportTimeoutMs: number;
  pageTimeoutMs: number;
  submitTimeoutMs: number;
  artifactsDir: string;
  secrets?: readonly string[];
  onCheck?: (check: SiteCheck) => void;
  /** First wait between two exports; doubles up to maxPollMs. */
  firstPollMs?: number;
  maxPollMs?: number;
}

export const ROUND_TRIP_DEFAULTS = {
  price: 99_999,
  category: 'Guitars>Electric solid body',
  brand: 'Fender',
  shippingFees: { uk: 11, europe: 22, usa: 33, world: 44 } as ShippingFees,
  waitMs: 10 * 60_000,
};

export const TEST_TITLE = 'TEST LISTING by vr-lister check-site --round-trip — will be deleted';

/** The test listing's own texts: a model and a marker no other listing has. */
export function testListingTexts(nonce: string): { model: string; marker: string; descriptionHtml: string } {
  const marker = `Ref: vr-lister-round-trip-${nonce}`;
  return {
    model: `${TEST_TITLE} ${nonce}`,
    marker,
    descriptionHtml: `<p>${TEST_TITLE}. Please do not buy: this listing checks that vr-lister can list on this account, and is deleted within minutes.</p>\n<p><small>${marker}</small></p>`,
  };
}

/** Suggested FLUSH_SETTLE_MS: the measured delay with half again as margin, rounded up to 5 s. */
export function suggestedFlushSettleMs(indexingDelayMs: number): number {
  return Math.max(5_000, Math.ceil((indexingDelayMs * 1.5) / 5_000) * 5_000);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One export, scanned: the rows `pick` keeps, the highest id, and the Content-Type it came with. */
async function exportRows(
  session: BrowserSession,
  opts: RoundTripOptions,
  pick: (row: ExportRow) => boolean,
): Promise<{ rows: ExportRow[]; maxProductId: number; contentType: string | null; startedAt: number }> {
  const startedAt = Date.now();
  const context = await session.context();
  let contentType: string | null = null;
  const onResponse = (response: { url(): string; headers(): Record<string, string> }) => {
    if (/export_inventory\/export_inventory/.test(response.url()))
      contentType = response.headers()['content-type'] ?? null;
  };
  context.on('response', onResponse);
  try {
    const rows: ExportRow[] = [];
    const stats = await downloadAndScan(session, opts.exportTimeoutMs, (row) => {
      if (pick(row)) rows.push(row);
    });
    return { rows, maxProductId: stats.maxProductId, contentType, startedAt };
  } finally {
    context.off('response', onResponse);
  }
}

/** Polls the export with backoff until `done` says so or waitMs runs out; the last look is returned. */
async function pollExport<T>(
  session: BrowserSession,
  opts: RoundTripOptions,
  pick: (row: ExportRow) => boolean,
  done: (look: Awaited<ReturnType<typeof exportRows>>) => T | undefined,
): Promise<{ result: T | undefined; exports: number }> {
  const deadline = Date.now() + opts.waitMs;
  let wait = opts.firstPollMs ?? 2_000;
  for (let exports = 1; ; exports += 1) {
    const result = done(await exportRows(session, opts, pick));
    if (result !== undefined || Date.now() + wait > deadline) return { result, exports };
    await sleep(wait);
    wait = Math.min(wait * 2, opts.maxPollMs ?? 60_000);
  }
}

/** The publish → export → read back → delete → gone round trip. Every step a check; cleanup always. */
export async function roundTrip(
  session: BrowserSession,
  db: Executor,
  opts: RoundTripOptions,
): Promise<RoundTripReport> {
  const facts: RoundTripFacts = {
    publishedText: null,
    indexingDelayMs: null,
    markerSurvives: null,
    exportContentType: null,
    feesStored: null,
    deleted: false,
  };
  const { checks, run } = checkRunner(session, { ...opts, everyFailureStops: true });

  const nonce = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const texts = testListingTexts(nonce);
  const category = resolveCategory(shippedCategoryTree(), opts.category);
  if (!category.ok) throw new Error(`--category: ${category.message}`);
  const ours = (row: ExportRow) => row.modelName.includes(nonce) || row.description.includes(texts.marker);
  let baselineId = 0;
  let publishedAt = 0;
  let published = false;
  let vrListingId: number | undefined;

  await run('logged in', async () => {
    await session.ensureLoggedIn();
    return `as ${session.site.username}`;
  });
  await run('baseline export', async () => {
    const look = await exportRows(session, opts, ours);
    if (look.rows.length) fail(`the export already holds a listing with our nonce ${nonce}`);
    baselineId = look.maxProductId;
    facts.exportContentType = look.contentType;
    return `highest id ${baselineId}; Content-Type ${look.contentType ?? 'not seen'}`;
  });
  await run('publish', async () => {
    const brandId = await checkBrand(session, opts.brand);
    if (!(brandId > 0)) fail(`V&R does not know the brand "${opts.brand}" (--brand)`);
    const page = await session.withLogin(async (p) => {
      const opened = await openForm(p, session.url(FORM_PATH));
      return opened === SESSION_EXPIRED ? SESSION_EXPIRED : p;
    });
    await fillForm(
      page,
      {
        brandName: opts.brand,
        brandId,
        model: texts.model,
        finish: undefined,
        year: undefined,
        descriptionHtml: texts.descriptionHtml,
        mustKeepText: texts.marker,
        price: opts.price,
        category: category.nodes.map((n) => ({ id: n.id, name: n.name })),
        shippingFees: opts.shippingFees,
        localPickup: false,
        processingTime: undefined,
        flags: { buy_now: false },
        images: [],
      },
      { stepMs: opts.pageTimeoutMs },
    );
    const outcome = await publish(page, { submitMs: opts.submitTimeoutMs, settleMs: 3_000 });
    publishedAt = Date.now();
    if (outcome.kind === 'rejected' && !outcome.posted)
      fail(`V&R's form refused it before sending: ${describeFieldErrors(outcome.errors)}`);
    published = true; // a POST left: the listing may exist from here on
    if (outcome.kind === 'rejected')
      fail(
        `field errors after the POST (the listing may exist all the same): ${describeFieldErrors(outcome.errors)}`,
      );
    if (outcome.kind === 'unknown') fail(outcome.reason);
    facts.publishedText = await publishedTextOf(page);
    return `"${facts.publishedText}" (model "${texts.model}", price ${opts.price}, ${opts.category})`;
  });
  await run(
    'found in export',
    async () => {
      const { result, exports } = await pollExport(session, opts, ours, (look) => {
        const candidates = look.rows.filter((r) => r.productId > baselineId);
        if (candidates.length > 1)
          fail(
            `${candidates.length} rows carry our nonce (${candidates.map((r) => r.productId).join(', ')}): not guessing`,
          );
        if (look.contentType) facts.exportContentType = look.contentType;
        return candidates[0] ? { row: candidates[0], at: look.startedAt } : undefined;
      });
      if (!result) fail(`not in the export after ${exports} export(s) over ${opts.waitMs} ms (--wait-ms)`);
      vrListingId = result.row.productId;
      facts.indexingDelayMs = Math.max(0, result.at - publishedAt);
      facts.markerSurvives = htmlToText(result.row.description).includes(texts.marker);
      return `id ${vrListingId} after ${facts.indexingDelayMs} ms (${exports} export(s)); marker ${facts.markerSurvives ? 'survives' : 'LOST'} in product_description`;
    },
    { always: published },
  ); // a POST left: looked for even after a failed verdict, so that it can be deleted
  await run('read back', async () => {
    const read = await openEditPage(session, String(vrListingId));
    if (read.kind !== 'found') fail(`the edit page of ${vrListingId}: ${read.detail}`);
    const stored = read.listing;
    const asked = SHIPPING_REGIONS.filter((r) => opts.shippingFees[r] !== undefined);
    const wrong = asked.filter((r) => stored.shippingFees[r] !== opts.shippingFees[r]);
    facts.feesStored = wrong.length === 0;
    const differences = [
      ...wrong.map(
        (r) => `fee ${r}: asked ${opts.shippingFees[r]}, stored ${stored.shippingFees[r] ?? 'none'}`,
      ),
      ...(Number(stored.price) === opts.price ? [] : [`price: asked ${opts.price}, stored ${stored.price}`]),
      ...(stored.model === texts.model ? [] : [`model: stored "${stored.model}"`]),
      ...(htmlToText(stored.descriptionHtml).includes(texts.marker)
        ? []
        : ['the marker is not in item_desc']),
    ];
    if (differences.length) fail(`V&R stored something else: ${differences.join('; ')}`);
    return `price, model, marker and fees (${asked.join(', ')}) stored as asked`;
  });

  // Cleanup runs whatever failed above, once the listing is known.
  if (vrListingId !== undefined) {
    const id = vrListingId;
    await run(
      'delete',
      async () => {
        const reply = await postFromItemsPage(session, '/ajax/delete_item', id, opts.pageTimeoutMs);
        const read = await openEditPage(session, String(id));
        if (read.kind === 'found')
          fail(
            `the edit page of ${id} still shows the listing after /ajax/delete_item (reply HTTP ${reply.status} "${reply.text.trim().slice(0, 40)}")`,
          );
        return `deleted ${id}: the edit page says ${read.detail}`;
      },
      { always: true },
    );
    if (checks.at(-1)?.ok)
      await run(
        'gone from export',
        async () => {
          const { result, exports } = await pollExport(
            session,
            opts,
            (row) => row.productId === id,
            (look) => (look.rows.length ? undefined : true),
          );
          if (!result) fail(`${id} is still in the export after ${exports} export(s)`);
          facts.deleted = true;
          return `not in the export (${exports} export(s))`;
        },
        { always: true },
      );
  } else if (published) {
    checks.push({
      name: 'delete',
      ok: false,
      ms: 0,
      detail: `the test listing may exist but was not found: a person must look for model "${texts.model}" in ${ITEMS_PAGE} and delete it`,
    });
    opts.onCheck?.(checks.at(-1)!);
  }
  if (vrListingId !== undefined && !facts.deleted) {
    const last = checks.at(-1)!;
    last.detail += `; the test listing ${vrListingId} may still be on V&R: a person must delete it`;
  }

  const ok = checks.every((c) => c.ok) && facts.deleted;
  await recordFacts(db, facts, ok, vrListingId);
  if (ok)
    await siteProvenByRoundTrip(
      db,
      `check-site --round-trip: listing ${vrListingId} published, found, read back and deleted`,
    );
  return { ok, checks, facts };
}

/** The text that says published (the success message), as the page shows it. */
async function publishedTextOf(page: Page): Promise<string> {
  const text = await page
    .evaluate(`(() => (document.body && document.body.innerText) || '')()`)
    .then((t) => String(t))
    // The page may be navigating away: the verdict is already taken.
    .catch(() => '');
  const line = text.split('\n').find((l) => PUBLISHED_TEXT.test(l));
  return (line ?? 'published and live').trim().slice(0, 200);
}

async function recordFacts(
  db: Executor,
  facts: RoundTripFacts,
  ok: boolean,
  vrListingId: number | undefined,
): Promise<void> {
  const evidence = `check-site --round-trip ${new Date().toISOString()} (${ok ? 'passed' : 'failed'}${vrListingId ? `, listing ${vrListingId}` : ''})`;
  for (const [key, value] of Object.entries(facts)) {
    if (value === null) continue;
    await recordSiteFact(db, `${ROUND_TRIP_FACT_PREFIX}${key}`, { value, evidence });
  }
}

/** The "facts learned" lines `check-site` and `status` show (none when nothing was learnt yet). */
export function factsLearnedLines(rows: readonly SiteFactRow[]): string[] {
  if (!rows.length) return [];
  const width = Math.max(...rows.map((r) => r.key.length));
  return [
    'facts learned about V&R:',
    ...rows.map(
      (r) =>
        `  ${r.key.padEnd(width)}  ${JSON.stringify(r.value)}  (${r.observedAt.toISOString()}${r.evidence ? `; ${r.evidence}` : ''})`,
    ),
  ];
}
