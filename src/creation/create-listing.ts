import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { Db } from '../db/client.ts';
import { type MatchCriteria, type VrJob, vrJobs, vrProductLinks, vrResolutionRuns } from '../db/schema.ts';
import type { Listing } from '../listing.ts';
import type { Logger } from '../logger.ts';
import { ensureBaseline } from '../resolution/baseline.ts';
import { brandKey, descriptionHash, finishKey, markerFor, modelKey } from '../resolution/normalize.ts';
import { safeErrorText } from '../safe-errors.ts';
import {
  ImageUnavailableError,
  isLoginUrl,
  isRetryableStatus,
  VrRejectedError,
  VrUnavailableError,
} from '../vr/errors.ts';
import { type BrowserSession, SESSION_EXPIRED } from './browser.ts';
import { FORM_PATH, fillForm, type ImageFile, openForm, publish } from './listing-form.ts';

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

/** Takes the row for this attempt; a row already past creation is left alone (a redelivery). */
export async function claimRow(db: Db, rowId: number): Promise<VrJob | undefined> {
  const [row] = await db
    .update(vrJobs)
    .set({ status: 'in_progress', attempts: sql`${vrJobs.attempts} + 1`, updatedAt: new Date() })
    .where(and(eq(vrJobs.id, rowId), inArray(vrJobs.status, ['queued', 'in_progress'])))
    .returning();
  return row;
}

/** The highest V&R id we know of: every later listing, ours included, gets a larger one. */
export async function lastKnownVrId(db: Db): Promise<number> {
  const [row] = await db.execute<{ id: string }>(sql`select greatest(
    coalesce((select max(${vrResolutionRuns.maxProductId}) from ${vrResolutionRuns}), 0),
    coalesce((select max(${vrProductLinks.vrListingId}) from ${vrProductLinks}), 0)) as id`);
  return Number(row?.id ?? 0);
}

export function descriptionWithMarker(listing: Listing, marker: string | null): string {
  const description = listing.description?.trim() ?? '';
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

async function setRow(db: Db, rowId: number, values: Partial<typeof vrJobs.$inferInsert>): Promise<void> {
  await db
    .update(vrJobs)
    .set({ ...values, updatedAt: new Date() })
    .where(eq(vrJobs.id, rowId));
}

export async function markFailed(db: Db, rowId: number, reason: string): Promise<void> {
  await setRow(db, rowId, { status: 'failed', error: safeErrorText(reason), submitStartedAt: null });
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
  if (row.submitStartedAt) {
    await markOutcomeUnknown(db, rowId, reason);
    return 'completed_pending_id';
  }
  if (lastAttempt) {
    await markFailed(db, rowId, reason);
    return 'failed';
  }
  await setRow(db, rowId, { status: 'queued', error: safeErrorText(reason) });
  return 'queued';
}

/** The submit went out and we don't know if it landed: resolution decides, never a second submit. */
export async function markOutcomeUnknown(db: Db, rowId: number, reason: string): Promise<void> {
  const now = new Date();
  await setRow(db, rowId, {
    status: 'completed_pending_id',
    submitOutcomeUnknown: true,
    submittedAt: now,
    nextResolutionAt: now,
    error: `submit outcome unknown: ${safeErrorText(reason)}`,
  });
}

/** V&R's brand id for the listing's brand, or the fallback brand's when the listing allows it. */
async function resolveBrand(deps: CreationDeps, listing: Listing): Promise<{ name: string; id: number }> {
  const check = async (name: string): Promise<number> =>
    deps.browser.withLogin(async () => {
      const response = await deps.browser.postForm('/ajax/check_brand_exists', { brand_name: name });
      if (isLoginUrl(response.url)) return SESSION_EXPIRED;
      if (isRetryableStatus(response.status)) {
        throw new VrUnavailableError(`brand check answered HTTP ${response.status}`);
      }
      const id = response.text.trim();
      if (!/^\d+$/.test(id)) throw new VrUnavailableError(`brand check answered "${id.slice(0, 80)}"`);
      return Number(id);
    });
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

const IMAGE_MAX_BYTES = 15 * 1024 * 1024;

async function downloadImages(urls: string[], timeoutMs: number): Promise<ImageFile[]> {
  const files: ImageFile[] = [];
  for (const [index, url] of urls.entries()) {
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new ImageUnavailableError(
        `image ${index} (${url}) could not be downloaded: ${(error as Error).message}`,
      );
    }
    if (response.status >= 500)
      throw new ImageUnavailableError(`image ${index} (${url}) answered HTTP ${response.status}`);
    if (!response.ok) throw new VrRejectedError(`images.${index} (${url}) answered HTTP ${response.status}`);
    const buffer = Buffer.from(await response.arrayBuffer());
    if (buffer.length > IMAGE_MAX_BYTES) throw new VrRejectedError(`images.${index} is larger than 15 MB`);
    const mimeType = response.headers.get('content-type')?.split(';')[0] ?? 'image/jpeg';
    const name = decodeURIComponent(new URL(url).pathname.split('/').pop() || `image-${index}.jpg`);
    files.push({ name, mimeType, buffer });
  }
  return files;
}

/**
 * One creation attempt for one row, in the order that keeps V&R free of duplicates: claim, check
 * the product has no V&R id, check the brand, fill the form, record the submit in Postgres, and
 * only then click Publish.
 */
export async function createListing(
  deps: CreationDeps,
  rowId: number,
  report: StepReporter,
): Promise<CreationResult> {
  const { db, browser, config } = deps;
  const row = await claimRow(db, rowId);
  if (!row) return { outcome: 'skipped', reason: 'the row is already past creation (redelivered job)' };
  const listing = row.payload.listing;

  const [link] = await db.select().from(vrProductLinks).where(eq(vrProductLinks.productRef, row.productRef));
  if (link) {
    const now = new Date();
    await setRow(db, rowId, {
      status: 'completed',
      vrListingId: link.vrListingId,
      completedAt: now,
      error: null,
    });
    return { outcome: 'already_listed', vrListingId: link.vrListingId };
  }

  if (row.submitStartedAt) {
    const reason = 'a previous attempt stopped after it began submitting';
    await markOutcomeUnknown(db, rowId, reason);
    return { outcome: 'outcome_unknown', reason };
  }

  const openPage = () =>
    browser.withLogin(async (p) => {
      const opened = await openForm(p, browser.url(FORM_PATH));
      return opened === SESSION_EXPIRED ? SESSION_EXPIRED : p;
    });
  // The brand check is an AJAX request beside the page: the form loads meanwhile. Logged in first,
  // so that the two never log in at the same time.
  await browser.ensureLoggedIn();
  let formOpened: Promise<Awaited<ReturnType<typeof openPage>>> | undefined = openPage();
  formOpened.catch(() => {});
  // A fresh install learns the highest V&R id before its first submit (one export, while the form
  // loads); lastKnownVrId below reads it.
  const { openExport } = deps;
  const baseline = openExport
    ? ensureBaseline({ db, databaseUrl: config.databaseUrl, openExport, logger: deps.logger })
    : Promise.resolve(undefined);
  baseline.catch(() => {});

  let brand: { name: string; id: number };
  try {
    brand = await resolveBrand(deps, listing);
  } catch (error) {
    await formOpened.catch(() => {});
    if (error instanceof VrRejectedError) {
      await markFailed(db, rowId, error.message);
      return { outcome: 'failed', reason: error.message };
    }
    throw error;
  }
  await report.step(`brand checked: ${brand.name} (${brand.id})`, 25);

  const images = listing.images?.length ? await downloadImages(listing.images, config.pageTimeoutMs) : [];
  const marker = config.refMarker ? markerFor(config.refMarkerTemplate, row.productRef) : null;
  const descriptionHtml = descriptionWithMarker(listing, marker);

  for (let expiredAtPublish = 0; ; expiredAtPublish += 1) {
    if (expiredAtPublish > 2) throw new VrUnavailableError('V&R kept expiring the session at Publish');
    const page = await (formOpened ?? openPage());
    formOpened = undefined;
    // Read while the form is filled: V&R ids only grow, so a value read a moment before the click is
    // still below the new listing's id.
    const lastKnown = baseline.then(() => lastKnownVrId(db));
    lastKnown.catch(() => {});
    try {
      await fillForm(
        page,
        {
          brandName: brand.name,
          brandId: brand.id,
          model: listing.model,
          finish: listing.finish,
          year: listing.year,
          descriptionHtml,
          price: listing.price,
          category: listing.category,
          images,
        },
        config.pageTimeoutMs,
      );
    } catch (error) {
      if (error instanceof VrRejectedError) {
        await markFailed(db, rowId, error.message);
        return { outcome: 'failed', reason: error.message };
      }
      throw error;
    }
    // Written before the click: a crash from here on must never lead to a second submit.
    const criteria = buildMatchCriteria(listing, brand.name, descriptionHtml, marker, await lastKnown);
    await Promise.all([
      report.step('form filled', 50),
      setRow(db, rowId, {
        submitStartedAt: new Date(),
        payload: { ...row.payload, matchCriteria: criteria },
      }),
    ]);

    const outcome = await publish(page, config.submitTimeoutMs);
    switch (outcome.kind) {
      case 'published': {
        const now = new Date();
        await Promise.all([
          setRow(db, rowId, {
            status: 'completed_pending_id',
            submittedAt: now,
            nextResolutionAt: now,
            submitOutcomeUnknown: false,
            error: null,
          }),
          report.step('published', 90),
        ]);
        return { outcome: 'submitted' };
      }
      case 'rejected':
        await markFailed(db, rowId, `V&R rejected the listing: ${outcome.message}`);
        return { outcome: 'failed', reason: outcome.message };
      case 'session_expired':
        // Redirected to the login page before the form was read: nothing was created.
        await setRow(db, rowId, { submitStartedAt: null });
        browser.expire();
        await report.step('session expired at Publish; logging in again', 50);
        continue;
      case 'unknown':
        // Drop the page: it may still be waiting for V&R's answer.
        await browser.discardPage();
        await markOutcomeUnknown(db, rowId, outcome.reason);
        return { outcome: 'outcome_unknown', reason: outcome.reason };
    }
  }
}
