/**
 * A `replace_photos` action: the new photos downloaded and converted as creation does
 * (prepare-photos.ts), then, on the listing's edit page, uploaded one at a time through its
 * Dropzone as on the add form (listing-form.ts's uploadPhotos), every photo the page shows named in
 * a hidden `delete_item_images[]` (its `data-product_media_id`), and the form submitted without
 * `item_desc`. Done only when the edit page, read back, shows exactly as many photos as asked and
 * none of those it showed before.
 *
 * Before the submit, the photos the page showed are written to the action's `evidence`
 * ("photos before: …"): a retry after an unclear outcome reads the edit page first and, if it
 * already shows the asked count and none of those, is done without sending anything. Otherwise it
 * replaces again whatever the page shows: the end state is the same however often it runs.
 */
import type { Page } from 'playwright-core';
import { noteActionEvidence } from '../db/actions.ts';
import type { VrAction } from '../db/schema.ts';
import { NeverRetryError } from '../errors.ts';
import { PHOTOS_MAX_TOTAL_BYTES, type PreparedPhoto, preparePhotos } from '../images/prepare-photos.ts';
import { openEditPage, type StoredListing } from '../vr/edit-page.ts';
import type { ActionAttempt, ActionResult } from './action-result.ts';
import { ActionUnclearError } from './action-result.ts';
import { submitEditForm } from './action-update.ts';
import type { CreationDeps } from './create-listing.ts';
import { uploadPhotos } from './listing-form.ts';
import { dropDescription, markPhotosDeleted } from './page-scripts/edit.ts';

const BEFORE = 'photos before: ';

/** The `evidence` an attempt writes before its submit: the media ids the edit page showed. */
export function photosBeforeEvidence(ids: readonly string[]): string {
  return `${BEFORE}${ids.length ? ids.join(',') : '(none)'}`;
}

/** The media ids an earlier attempt saw before its submit, or undefined when none got that far. */
export function photosBefore(evidence: string | null): string[] | undefined {
  if (!evidence?.startsWith(BEFORE)) return undefined;
  const list = evidence.slice(BEFORE.length).trim();
  if (list === '(none)' || list === '') return [];
  return list
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
}

/** How the edit page differs from the asked photos: empty when it shows exactly `count`, none of `old`. */
export function photoDifferences(stored: StoredListing, count: number, old: readonly string[]): string[] {
  const out: string[] = [];
  if (stored.photoCount !== count) out.push(`${stored.photoCount} photo(s), asked ${count}`);
  const kept = stored.photoMediaIds.filter((id) => old.includes(id));
  if (kept.length) out.push(`old photo(s) still there (${kept.join(', ')})`);
  return out;
}

/** A photo's error names it as the action's field (`changes.photos.N`), not a listing's (`images.N`). */
function asActionField(message: string): string {
  return message.replace(/^images\b/, 'changes.photos');
}

const union = (a: readonly string[], b: readonly string[]) => [...new Set([...a, ...b])];

export async function replacePhotosOnEditPage(
  deps: CreationDeps,
  action: VrAction,
  vrListingId: number,
  attempt: ActionAttempt = { sent: false },
): Promise<ActionResult> {
  const urls = action.changes?.photos ?? [];
  if (urls.length === 0) return { outcome: 'failed', reason: 'changes.photos is empty' };
  const before = await openEditPage(deps.browser, String(vrListingId));
  if (before.kind !== 'found') return { outcome: 'failed', reason: before.detail };
  const earlier = photosBefore(action.evidence);
  // An earlier attempt may have landed: looked at first, never sent again blind.
  if (earlier && photoDifferences(before.listing, urls.length, earlier).length === 0) {
    return {
      outcome: 'done',
      evidence: `edit page already shows ${urls.length} new photo(s) (${before.listing.photoMediaIds.join(', ')}), none of the ${earlier.length} before`,
    };
  }
  let old = union(earlier ?? [], before.listing.photoMediaIds);
  try {
    const images: PreparedPhoto[] = await preparePhotos(urls, {
      allowHosts: deps.config.imageAllowHosts,
      budgetMs: deps.config.imageBudgetMs,
      maxTotalBytes: PHOTOS_MAX_TOTAL_BYTES,
    });
    await submitEditForm(deps, vrListingId, attempt, async (page: Page, stored) => {
      old = union(old, stored.photoMediaIds);
      // Written before the submit: a retry must know which photos were there before.
      await noteActionEvidence(deps.db, action.id, photosBeforeEvidence(old));
      await uploadPhotos(page, images, { stepMs: deps.config.pageTimeoutMs });
      await page.evaluate(markPhotosDeleted, stored.photoMediaIds);
      await page.evaluate(dropDescription);
    });
  } catch (error) {
    // A photo that can never be used, or V&R refusing one: nothing was submitted.
    if (error instanceof NeverRetryError && !attempt.sent)
      return { outcome: 'failed', reason: asActionField(error.message) };
    throw error;
  }
  const after = await openEditPage(deps.browser, String(vrListingId));
  if (after.kind !== 'found') return { outcome: 'failed', reason: after.detail };
  const left = photoDifferences(after.listing, urls.length, old);
  if (left.length === 0) {
    return {
      outcome: 'done',
      evidence: `edit page shows ${urls.length} new photo(s) (${after.listing.photoMediaIds.join(', ')}), none of the ${old.length} before`,
    };
  }
  throw new ActionUnclearError(`after the edit, the edit page shows ${left.join('; ')}`);
}
