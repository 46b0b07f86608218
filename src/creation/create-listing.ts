import { eq, sql } from 'drizzle-orm';
import type { BrowserContext, Page } from 'playwright-core';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import {
  claimJob,
  clearSubmitStarted,
  completeFromLink,
  failJob,
  markFieldErrorsAfterPost,
  markOutcomeUnknown,
  markSubmitStarted,
  markSubmitted,
  releaseClaim,
} from '../db/jobs.ts';
import { type MatchCriteria, vrJobs, vrProductLinks, vrResolutionRuns } from '../db/schema.ts';
import { NeverRetryError } from '../errors.ts';
import { PHOTOS_MAX_TOTAL_BYTES, preparePhotos } from '../images/prepare-photos.ts';
import { sanitizeDescription } from '../listing/description.ts';
import { completeListing, type Listing, parseProcessingTime, ValidationError } from '../listing/listing.ts';
import { brandKey, descriptionHash, finishKey, markerFor, modelKey } from '../listing/normalize.ts';
import type { Logger } from '../logger.ts';
import { ensureBaseline } from '../resolution/baseline.ts';
import { checkBrand } from '../vr/brand-check.ts';
import { type BrowserSession, SESSION_EXPIRED } from '../vr/browser-session.ts';
import { resolveCategory, shippedCategoryTree } from '../vr/categories.ts';
import { VrLoginError, VrRejectedError } from '../vr/errors.ts';
import {
  beginListingTrace,
  captureEvidence,
  continueListingTrace,
  describeArtifacts,
  endListingTrace,
  jobArtifactsDir,
  recordArtifacts,
} from './artifacts.ts';
import {
  FORM_PATH,
  FormMarkupError,
  type FormValues,
  keepAnsweredForm,
  openForm,
  takeAnsweredForm,
} from './form-page.ts';
import { fillForm } from './listing-form.ts';
import { describeFieldErrors, publish } from './publish.ts';

export interface CreationDeps {
  db: Db;
  browser: BrowserSession;
  config: Config;
  logger: Logger;
  /**
   * Opens V&R's inventory export, for the baseline an install takes before its first submit (see
   * resolution/baseline.ts). Without it no baseline is taken: nothing goes wrong, but look-alikes
   * made before the first run can't be told from ours.
   */
  openExport?: () => Promise<AsyncIterable<Uint8Array>>;
}

/** Creation steps logged with LOG_EVENT.jobStep: the form is filled (Publish is next), V&R accepted it. */
export const FORM_FILLED_STEP = 'form filled';
export const PUBLISHED_STEP = 'published';

/** What happened to one creation job; the worker turns it into Bull Board progress and logs. */
export type CreationResult =
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'already_listed'; vrListingId: number }
  | { outcome: 'submitted' }
  | { outcome: 'outcome_unknown'; reason: string }
  | { outcome: 'failed'; reason: string };

export interface StepReporter {
  step(name: string, progress: number): Promise<void>;
}

/** The highest V&R id we know of: every later listing, ours included, gets a larger one. */
export async function lastKnownVrId(db: Db): Promise<number> {
  const [row] = await db.execute<{ id: string }>(sql`select greatest(
    coalesce((select max(${vrResolutionRuns.maxProductId}) from ${vrResolutionRuns}), 0),
    coalesce((select max(${vrProductLinks.vrListingId}) from ${vrProductLinks}), 0)) as id`);
  return Number(row?.id ?? 0);
}

export function descriptionWithMarker(listing: Listing, marker: string | null): string {
  // Cleaned again, not trusted: the row may have been written by an older version, by hand, or by
  // anything else with the database; what reaches our logged-in editor is only ever clean HTML.
  const description = sanitizeDescription(listing.description ?? '').trim();
  if (!marker) return description;
  // Small and last, so that buyers barely notice it; the resolver finds it anywhere.
  return `${description}${description ? '\n' : ''}<p><small>${marker}</small></p>`;
}

export function buildMatchCriteria(
  listing: Listing,
  brandName: string,
  descriptionHtml: string,
  marker: string | null,
  lastKnownId: number,
): MatchCriteria {
  return {
    brand: brandName,
    brandKey: brandKey(brandName),
    model: listing.model,
    modelKey: modelKey(listing.model),
    year: listing.year ?? null,
    finish: listing.finish ?? null,
    finishKey: finishKey(listing.finish),
    price: listing.price,
    descriptionHash: descriptionHash(descriptionHtml),
    marker,
    lastKnownId,
    recordedAt: new Date().toISOString(),
  };
}

/**
 * After a retryable error: back to `queued` for BullMQ's next attempt, `failed` after the last one,
 * and to resolution when a submit may have gone out.
 */
export async function handBack(
  db: Db,
  rowId: number,
  reason: string,
  lastAttempt: boolean,
): Promise<'completed_pending_id' | 'failed' | 'queued' | undefined> {
  const [row] = await db.select().from(vrJobs).where(eq(vrJobs.id, rowId));
  if (row?.status !== 'in_progress') return undefined;
  // A submit may have gone out: resolution decides, never a second submit.
  const moved = row.submitStartedAt
    ? await markOutcomeUnknown(db, rowId, reason)
    : lastAttempt
      ? await failJob(db, rowId, reason)
      : await releaseClaim(db, rowId, reason);
  return moved?.status as 'completed_pending_id' | 'failed' | 'queued' | undefined;
}

/** V&R's brand id for the listing's brand, or the fallback brand's when the listing allows it. */
async function resolveBrand(deps: CreationDeps, listing: Listing): Promise<{ name: string; id: number }> {
  // A fetch inside a V&R page: Cloudflare refuses the same request from Node's own HTTP stack.
  const check = (name: string): Promise<number> => checkBrand(deps.browser, name);
  const id = await check(listing.brand);
  if (id > 0) return { name: listing.brand, id };
  if (!listing.allowFallbackBrand) {
    throw new VrRejectedError(
      `unknown brand on V&R: "${listing.brand}" (fix the brand, or allow the fallback brand)`,
    );
  }
  const fallbackId = await check(deps.config.fallbackBrand);
  if (fallbackId > 0) return { name: deps.config.fallbackBrand, id: fallbackId };
  throw new VrRejectedError(
    `unknown brand on V&R: "${listing.brand}", and the fallback brand "${deps.config.fallbackBrand}" (VR_FALLBACK_BRAND) is unknown too`,
  );
}

/** What the form needs from a stored listing: its leaf category (ids from the tree) and its shipping. */
function formPlan(
  deps: CreationDeps,
  listing: Listing,
): Pick<FormValues, 'category' | 'shippingFees' | 'localPickup' | 'processingTime' | 'flags'> {
  // Rows enqueued by an older version carry no resolved category or shipping: complete them now.
  const complete =
    listing.category && listing.shipping ? listing : completeListing(listing, deps.config.listingDefaults);
  const resolved = resolveCategory(shippedCategoryTree(), complete.category!);
  if (!resolved.ok) throw new ValidationError([{ field: 'category', message: resolved.message }]);
  const flags: Record<string, boolean> = { buy_now: listing.buyNow ?? true };
  if (listing.showVat !== undefined) flags.show_vat = listing.showVat;
  if (listing.callForPrice !== undefined) flags.call_price = listing.callForPrice;
  if (listing.onDealersCollective !== undefined) flags.on_dealers_collective = listing.onDealersCollective;
  return {
    category: resolved.nodes.map((n) => ({ id: n.id, name: n.name })),
    shippingFees: complete.shipping!.fees ?? {},
    localPickup: complete.shipping!.localPickup ?? false,
    processingTime: listing.processingTime ? parseProcessingTime(listing.processingTime) : undefined,
    flags,
  };
}

/**
 * Runs one step of the form inside the listing's trace (beginListingTrace). When the step meets a
 * page it doesn't expect (FormMarkupError), the screenshot, HTML and trace are saved, recorded on
 * the job, and named in the error; on any other error the trace is dropped.
 */
async function traced<T>(
  deps: CreationDeps,
  rowId: number,
  step: string,
  page: () => Promise<Page>,
  run: () => Promise<T>,
): Promise<T> {
  // A step runs untraced rather than not at all; a browser gone fails the step itself.
  await continueListingTrace((await page()).context(), rowId).catch(() => {});
  try {
    return await run();
  } catch (error) {
    // A refused login keeps its trace open: the worker saves it with the page (holdForPerson).
    if (error instanceof VrLoginError) throw error;
    if (!(error instanceof FormMarkupError)) {
      await page()
        .then((p) => endListingTrace(p.context()))
        .catch(() => {}); // the error below is the one to report
      throw error;
    }
    const evidence = await saveEvidence(deps, rowId, step, await page());
    throw new FormMarkupError(`${error.message} (${evidence})`, { cause: error });
  }
}

/** Saves and records the evidence of the page in hand; returns the words for the error. */
async function saveEvidence(deps: CreationDeps, rowId: number, step: string, page: Page): Promise<string> {
  const secrets = [deps.config.vrPassword, deps.browser.site.password].filter((s): s is string => Boolean(s));
  const saved = await captureEvidence({
    page,
    dir: jobArtifactsDir(deps.config.artifactsDir, rowId),
    step,
    secrets,
  });
  await recordArtifacts(deps.db, rowId, saved).catch((error) =>
    deps.logger.error({ err: error }, 'could not record the evidence on the job'),
  );
  const words = describeArtifacts(rowId, saved);
  deps.logger.warn(
    { step, artifacts: saved.map((a) => a.name), artifactsDir: deps.config.artifactsDir },
    `unexpected page at ${step}; ${words}`,
  );
  return words;
}

/**
 * One creation attempt for one row, in the order that keeps V&R free of duplicates: claim, check
 * the product has no V&R id, check the brand, prepare the photos, fill the form, record the submit
 * in Postgres, and only then click Publish.
 */
export async function createListing(
  deps: CreationDeps,
  rowId: number,
  report: StepReporter,
): Promise<CreationResult> {
  const { db, browser, config } = deps;
  const row = await claimJob(db, rowId);
  if (!row) return { outcome: 'skipped', reason: 'the row is already past creation (redelivered job)' };
  const listing = row.payload.listing;

  const [link] = await db.select().from(vrProductLinks).where(eq(vrProductLinks.productRef, row.productRef));
  if (link) {
    await completeFromLink(db, rowId, link.vrListingId);
    return { outcome: 'already_listed', vrListingId: link.vrListingId };
  }

  if (row.submitStartedAt) {
    const reason = 'a previous attempt stopped after it began submitting';
    await markOutcomeUnknown(db, rowId, reason);
    return { outcome: 'outcome_unknown', reason };
  }

  // The context this listing's trace records in, once it does: a listing that fails drops it.
  let tracing: BrowserContext | undefined;
  const fail = async (reason: string): Promise<CreationResult> => {
    if (tracing) await endListingTrace(tracing);
    await failJob(db, rowId, reason);
    return { outcome: 'failed', reason };
  };
  let plan: ReturnType<typeof formPlan>;
  try {
    plan = formPlan(deps, listing);
  } catch (error) {
    if (error instanceof NeverRetryError) return fail(error.message);
    throw error;
  }

  // The photos download while the brand is checked and the form loads; all before any submit.
  const photos = listing.images?.length
    ? preparePhotos(listing.images, {
        allowHosts: config.imageAllowHosts,
        budgetMs: config.imageBudgetMs,
        maxTotalBytes: PHOTOS_MAX_TOTAL_BYTES,
      })
    : Promise.resolve([]);
  photos.catch(() => {}); // awaited below; this only keeps an early rejection handled

  const openPage = () =>
    traced(
      deps,
      rowId,
      'open-form',
      () => browser.page(),
      () =>
        browser.withLogin(async (p) => {
          // The fresh form the last good Publish was answered with, when the page still holds it.
          if (await takeAnsweredForm(p)) return p;
          const opened = await openForm(p, browser.url(FORM_PATH));
          return opened === SESSION_EXPIRED ? SESSION_EXPIRED : p;
        }),
    );
  tracing = (await browser.page()).context();
  await beginListingTrace(tracing, rowId).catch(() => {}); // as in traced(): untraced rather than not at all
  // The brand check is an AJAX request beside the page: the form loads meanwhile. Logged in first,
  // so that the two never log in at the same time.
  await traced(
    deps,
    rowId,
    'login',
    () => browser.page(),
    () => browser.ensureLoggedIn(),
  );
  // A fresh install learns the highest V&R id before its first submit (one export, through this
  // browser, before the form is opened in it); lastKnownVrId below reads it.
  const { openExport } = deps;
  const baseline = openExport
    ? ensureBaseline({ db, databaseUrl: config.databaseUrl, openExport, logger: deps.logger })
    : Promise.resolve(undefined);
  // Both awaited below (formOpened, lastKnown); these only keep an early rejection handled.
  baseline.catch(() => {});
  const formOpened = baseline.then(() => openPage());
  formOpened.catch(() => {}); // as above

  let brand: { name: string; id: number };
  let images: Awaited<typeof photos>;
  try {
    brand = await resolveBrand(deps, listing);
    await report.step(`brand checked: ${brand.name} (${brand.id})`, 20);
    images = await photos;
    if (images.length) await report.step(`${images.length} photo(s) ready`, 30);
  } catch (error) {
    await formOpened.catch(() => {}); // settled only: the error above is the one to report
    if (error instanceof NeverRetryError) return fail(error.message);
    throw error;
  }

  const page = await formOpened;
  const marker = config.refMarker ? markerFor(config.refMarkerTemplate, row.productRef) : null;
  const descriptionHtml = descriptionWithMarker(listing, marker);
  // Read while the form is filled: V&R ids only grow, so a value read a moment before the click is
  // still below the new listing's id.
  const lastKnown = baseline.then(() => lastKnownVrId(db));
  lastKnown.catch(() => {}); // awaited below; this only keeps an early rejection handled
  try {
    await traced(
      deps,
      rowId,
      'fill-form',
      async () => page,
      () =>
        fillForm(
          page,
          {
            brandName: brand.name,
            brandId: brand.id,
            model: listing.model,
            finish: listing.finish,
            year: listing.year,
            descriptionHtml,
            mustKeepText: marker,
            price: listing.price,
            images,
            ...plan,
          },
          { stepMs: config.pageTimeoutMs },
        ),
    );
  } catch (error) {
    if (error instanceof NeverRetryError) return fail(error.message);
    throw error;
  }
  // Written before the click: a crash from here on must never lead to a second submit.
  const criteria = buildMatchCriteria(listing, brand.name, descriptionHtml, marker, await lastKnown);
  await Promise.all([
    report.step(FORM_FILLED_STEP, 50),
    markSubmitStarted(db, rowId, { ...row.payload, matchCriteria: criteria }),
  ]);

  await continueListingTrace(page.context(), rowId).catch(() => {}); // as in traced()
  let nothingSent: string | undefined;
  let outcome: Awaited<ReturnType<typeof publish>>;
  try {
    outcome = await publish(page, { submitMs: config.submitTimeoutMs, settleMs: 3_000 }, async () => {
      nothingSent = await saveEvidence(deps, rowId, 'publish', page);
    });
  } catch (error) {
    if (error instanceof FormMarkupError) {
      // Publish sent nothing (the page was closed to be sure): a later attempt may submit.
      await clearSubmitStarted(db, rowId);
      throw new FormMarkupError(`${error.message}${nothingSent ? ` (${nothingSent})` : ''}`, {
        cause: error,
      });
    }
    throw error;
  }
  switch (outcome.kind) {
    case 'published': {
      // V&R answered with a fresh form: the next listing is filled in it (takeAnsweredForm).
      keepAnsweredForm(page);
      await endListingTrace(page.context());
      await Promise.all([markSubmitted(db, rowId), report.step(PUBLISHED_STEP, 90)]);
      return { outcome: 'submitted' };
    }
    case 'rejected': {
      await endListingTrace(page.context());
      if (outcome.posted) {
        // A POST left: field errors beside it prove nothing until an export lacks the listing.
        const words = describeFieldErrors(outcome.errors);
        await markFieldErrorsAfterPost(db, rowId, { ...row.payload, matchCriteria: criteria }, words);
        return { outcome: 'outcome_unknown', reason: `field errors after the POST: ${words}` };
      }
      const reason = `V&R rejected the listing${outcome.posted ? '' : ' (its form sent nothing)'}: ${describeFieldErrors(outcome.errors)}`;
      return fail(reason);
    }
    case 'unknown': {
      const evidence = await saveEvidence(deps, rowId, 'publish', page);
      // Drop the page: it may still be waiting for V&R's answer.
      await browser.discardPage();
      const reason = `${outcome.reason} (${evidence})`;
      await markOutcomeUnknown(db, rowId, reason);
      return { outcome: 'outcome_unknown', reason };
    }
  }
}
