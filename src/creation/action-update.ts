/**
 * An `update` action: the listing's edit page, only the asked fields changed, `a#submit_step_1`
 * clicked, then the edit page read back. Every field is set to a value (never incremented), so an
 * update repeated after an unclear outcome changes nothing twice. `item_desc` is left out of the
 * POST unless the description changes: re-sending it broke the description's HTML for the origin.
 */
import type { Page } from 'playwright-core';
import type { ActionChanges, VrAction } from '../db/schema.ts';
import { descriptionText } from '../listing/normalize.ts';
import { SESSION_EXPIRED } from '../vr/browser-session.ts';
import { editPagePath, openEditPage, readStoredListing, type StoredListing } from '../vr/edit-page.ts';
import { readPageSession } from '../vr/page-session.ts';
import { type ActionAttempt, type ActionResult, ActionUnclearError } from './action-result.ts';
import type { CreationDeps } from './create-listing.ts';
import { dropDescription, setDescription } from './page-scripts/edit.ts';

/** The asked fields the edit page does not show yet, as `field: found` (empty when all match). */
export function differences(changes: ActionChanges, stored: StoredListing): string[] {
  const out: string[] = [];
  if (changes.price !== undefined && Number(stored.price) !== changes.price)
    out.push(`price: asked ${changes.price}, found "${stored.price}"`);
  if (changes.processingTime !== undefined) {
    const found = `${stored.processingTime.amount} ${stored.processingTime.unit}`;
    if (found !== changes.processingTime)
      out.push(`processingTime: asked ${changes.processingTime}, found "${found}"`);
  }
  for (const [region, fee] of Object.entries(changes.shipping?.fees ?? {})) {
    const found = stored.shippingFees[region as keyof StoredListing['shippingFees']];
    if (found !== fee) out.push(`shipping.fees.${region}: asked ${fee}, found ${found ?? 'none'}`);
  }
  if (changes.shipping?.localPickup !== undefined && stored.localPickup !== changes.shipping.localPickup)
    out.push(`shipping.localPickup: asked ${changes.shipping.localPickup}, found ${stored.localPickup}`);
  if (
    changes.description !== undefined &&
    descriptionText(stored.descriptionHtml) !== descriptionText(changes.description)
  )
    out.push('description: differs');
  return out;
}

async function fillChanges(page: Page, changes: ActionChanges, stored: StoredListing): Promise<void> {
  if (changes.price !== undefined) await page.locator('#price').fill(String(changes.price));
  if (changes.processingTime !== undefined) {
    const [amount, unit] = changes.processingTime.split(' ');
    await page.locator('[name="processing_time"]').fill(amount!);
    await page.locator('#hours_days_sel').selectOption({ label: unit! });
  }
  const fees = changes.shipping?.fees ?? {};
  for (const [region, fee] of Object.entries(fees)) {
    const index = stored.shippingRows.findIndex((row) => row.region === region);
    if (index < 0) throw new Error(`the edit page has no shipping row for ${region}`);
    await page.locator('[name="shipping_fees_fee[]"]').nth(index).fill(String(fee));
  }
  if (changes.shipping?.localPickup !== undefined)
    await page.locator('[name="local_pickup"]').setChecked(changes.shipping.localPickup);
  if (changes.description !== undefined) await page.evaluate(setDescription, changes.description);
  else await page.evaluate(dropDescription);
}

/**
 * Opens the listing's edit page in the session's page, lets `fill` change it (given what the page
 * stored), then clicks `a#submit_step_1` and waits for V&R's answer: either is success, a 302 to the
 * account or the same page with a message; the caller reads the edit page back for the proof.
 * `attempt.sent` turns true just before the click. Returns what the page stored before the fill.
 */
export async function submitEditForm(
  deps: CreationDeps,
  vrListingId: number,
  attempt: ActionAttempt,
  fill: (page: Page, stored: StoredListing) => Promise<void>,
): Promise<StoredListing> {
  return deps.browser.withLogin(async (page: Page) => {
    await deps.browser.goto(page, editPagePath(vrListingId));
    if (!(await readPageSession(page)).loggedIn) return SESSION_EXPIRED;
    const stored = await readStoredListing(page);
    await fill(page, stored);
    attempt.sent = true;
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'domcontentloaded', timeout: deps.config.pageTimeoutMs }),
      page.locator('a#submit_step_1').click(),
    ]);
    return stored;
  });
}

export async function updateOnEditPage(
  deps: CreationDeps,
  action: VrAction,
  vrListingId: number,
  attempt: ActionAttempt = { sent: false },
): Promise<ActionResult> {
  const changes = action.changes ?? {};
  const before = await openEditPage(deps.browser, String(vrListingId));
  if (before.kind !== 'found') return { outcome: 'failed', reason: before.detail };
  // Already as asked (an earlier attempt landed): nothing is sent.
  if (differences(changes, before.listing).length === 0)
    return { outcome: 'done', evidence: 'edit page already shows the asked values' };
  await submitEditForm(deps, vrListingId, attempt, (page, stored) => fillChanges(page, changes, stored));
  const after = await openEditPage(deps.browser, String(vrListingId));
  if (after.kind !== 'found') return { outcome: 'failed', reason: after.detail };
  const left = differences(changes, after.listing);
  if (left.length === 0) return { outcome: 'done', evidence: 'edit page shows the asked values' };
  throw new ActionUnclearError(`after the edit, the edit page shows ${left.join('; ')}`);
}
