/** The add form's routes: Publish, Dropzone uploads and the category cascade. */
import { randomBytes } from 'node:crypto';
import type { CategoryNode } from 'vr-lister/site-data';
import type { SiteContext } from './context.ts';
import { formPage, sendMaintenance } from './context.ts';
import { checkPublish, MAX_PHOTO_BYTES_TOTAL, MAX_PHOTOS, sniffImageType } from './form-rules.ts';
import {
  formStrings,
  HTML,
  MAX_UPLOAD_BYTES,
  type Req,
  type Res,
  readForm,
  readUrlEncoded,
  redirect,
  send,
  sendJson,
} from './http.ts';
import { categoryOptions, INTERNAL_ERROR_PAGE, mediaId, notFoundPage, USER_ID } from './pages.ts';
import type { Session } from './state.ts';

export async function publish(ctx: SiteContext, req: Req, res: Res, session: Session): Promise<void> {
  const { store, variant: v, options: o } = ctx;
  store.counters.submissions++;
  const form = await readForm(req);
  await ctx.delay(o.submitLatencyMs);
  if (store.isDown()) {
    // The site went down while the submit was in flight: the seller can't tell what happened.
    store.counters.failedSubmissions++;
    sendMaintenance(ctx, res);
    return;
  }
  if (store.drawSubmitFailure()) {
    store.counters.failedSubmissions++;
    send(res, 500, HTML, INTERNAL_ERROR_PAGE);
    return;
  }
  const checked = checkPublish(form, {
    tree: ctx.tree,
    issuedForms: store.issuedForms,
    uploads: store.uploads,
  });
  if (!checked.ok) {
    store.counters.rejectedSubmissions++;
    send(res, 200, HTML, formPage(ctx, { errors: checked.errors, generalError: checked.generalError }));
    return;
  }
  if (store.faults.rejectNextSubmits > 0) {
    store.faults.rejectNextSubmits--;
    store.counters.rejectedSubmissions++;
    send(res, 200, HTML, formPage(ctx, { errors: new Map([['price', 'Please enter a valid price.']]) }));
    return;
  }
  if (store.faults.dropShippingFeesNext > 0) {
    store.faults.dropShippingFeesNext--;
    // Stored without the fees that were sent: what V&R stores can differ from what was asked.
    store.addListing({ ...checked.listing, shipping_fees: {} });
  } else store.addListing(checked.listing);
  if (store.faults.fieldErrorsAfterStoreNext > 0) {
    store.faults.fieldErrorsAfterStoreNext--;
    // Stored, yet answered as if a field were wrong: vr-lister must not believe the page.
    const errors = new Map([['price', 'Please enter a valid price.']]);
    send(res, 200, HTML, formPage(ctx, { errors }));
    return;
  }
  if (store.faults.hangNextSubmits > 0) {
    store.faults.hangNextSubmits--;
    store.counters.hungSubmissions++;
    return; // never answer; close() destroys the socket
  }
  if (v.publishAnswer === 'redirect') {
    session.flashPublished = true;
    redirect(res, '/instruments/add_edit_item');
  } else {
    send(res, 200, HTML, formPage(ctx, { published: true }));
  }
}

export async function upload(
  ctx: SiteContext,
  req: Req,
  res: Res,
  session: Session,
  userId: string,
): Promise<void> {
  const { store, options: o } = ctx;
  if (userId !== String(USER_ID)) {
    sendJson(res, 403, [{ success: false, error: 'Not allowed' }]);
    return;
  }
  const form = await readForm(req, MAX_UPLOAD_BYTES);
  await ctx.delay(o.ajaxLatencyMs);
  const file = form.get('filename[0]');
  if (!(file instanceof Blob)) {
    sendJson(res, 400, [{ success: false, error: 'No file received (expected filename[0])' }]);
    return;
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  const type = sniffImageType(bytes);
  const refuse = (error: string) => {
    store.counters.refusedUploads++;
    sendJson(res, 200, [{ success: false, error }]);
  };
  if (type === 'image/webp' || type === 'application/octet-stream') {
    refuse("You can't upload files of this type. Please upload JPEG, PNG or GIF photos.");
    return;
  }
  if (bytes.length > MAX_PHOTO_BYTES_TOTAL) {
    refuse('File is too big. Max filesize: 10 MB.');
    return;
  }
  const id = randomBytes(12).toString('hex');
  const ext = type === 'image/png' ? 'png' : type === 'image/gif' ? 'gif' : 'jpg';
  const original = (file as File).name || `photo.${ext}`;
  const stored = `${id}.${ext}`;
  store.uploads.set(id, {
    file_unique_id: id,
    name: original,
    stored_name: stored,
    bytes: bytes.length,
    type,
    sessionId: session.id,
  });
  store.counters.uploads++;
  sendJson(res, 200, [
    {
      success: true,
      thumbnailName: `${id}_thumb.${ext}`,
      file_unique_id: id,
      fileName: stored,
      size: bytes.length,
    },
  ]);
}

/** `POST /ajax/get_sub_categories`: the options of the next level, nothing below a leaf. */
export async function subCategories(ctx: SiteContext, req: Req, res: Res): Promise<void> {
  const body = await readUrlEncoded(req);
  await ctx.delay(ctx.options.ajaxLatencyMs);
  const node = findNode(ctx.tree, Number(body.get('parent_id')));
  send(res, 200, HTML, node && node.children.length > 0 ? categoryOptions(node.children) : '');
}

function findNode(nodes: readonly CategoryNode[], id: number): CategoryNode | undefined {
  for (const n of nodes) {
    if (n.id === id) return n;
    const below = findNode(n.children, id);
    if (below) return below;
  }
  return undefined;
}

/** `GET /instruments/add_edit_item/<id>`: the form filled with the listing's values. */
export async function editForm(ctx: SiteContext, res: Res, id: number): Promise<void> {
  await ctx.delay(ctx.options.pageLatencyMs);
  const listing = ctx.store.listings().find((l) => l.product_id === id && !l.deleted);
  if (!listing) {
    send(res, 404, HTML, notFoundPage(true));
    return;
  }
  send(res, 200, HTML, formPage(ctx, { editing: listing }));
}

/**
 * `POST /instruments/add_edit_item/<id>`: the same checks as Publish; success answers 302 (or the
 * same page with a message, by variant). Photos: `delete_item_images[]` removes stored ones, new
 * uploads (`file_unique_id[]`) are added; at most 20 and 10 MB in all, as on the add form.
 */
export async function saveEdit(ctx: SiteContext, req: Req, res: Res, id: number): Promise<void> {
  const { store } = ctx;
  const form = await readForm(req);
  await ctx.delay(ctx.options.submitLatencyMs);
  const listing = store.listings().find((l) => l.product_id === id && !l.deleted);
  if (!listing) {
    send(res, 404, HTML, notFoundPage(true));
    return;
  }
  store.counters.edits++;
  const checked = checkPublish(form, {
    tree: ctx.tree,
    issuedForms: store.issuedForms,
    uploads: store.uploads,
  });
  if (!checked.ok) {
    send(
      res,
      200,
      HTML,
      formPage(ctx, { editing: listing, errors: checked.errors, generalError: checked.generalError }),
    );
    return;
  }
  const { source: _source, ...fields } = checked.listing;
  // The stored photos stay unless named in delete_item_images[] (their data-product_media_id); the
  // photos uploaded with the edit are added after them. The description stays unless item_desc is sent.
  const deleted = new Set(
    formStrings(form, 'delete_item_images[]')
      .map((v) => v.trim())
      .filter(Boolean),
  );
  const remaining = listing.photos.filter((_p, i) => !deleted.has(String(mediaId(listing, i))));
  const photos = [...remaining, ...fields.photos];
  const photoError =
    photos.length > MAX_PHOTOS
      ? `You can upload at most ${MAX_PHOTOS} photos.`
      : photos.reduce((n, p) => n + p.bytes, 0) > MAX_PHOTO_BYTES_TOTAL
        ? 'Your photos are larger than 10 MB in all.'
        : undefined;
  if (photoError) {
    send(res, 200, HTML, formPage(ctx, { editing: listing, errors: new Map([['photos', photoError]]) }));
    return;
  }
  const photosChanged = remaining.length < listing.photos.length || fields.photos.length > 0;
  const kept = {
    ...fields,
    photos: photosChanged ? photos : listing.photos,
    product_description: form.has('item_desc') ? fields.product_description : listing.product_description,
  };
  const saved = store.updateListing(id, kept)!;
  // Both answers are plausible for the real site: a 302 to the account, or the same page with a message.
  if (ctx.variant.publishAnswer === 'redirect') redirect(res, '/account');
  else send(res, 200, HTML, formPage(ctx, { editing: saved, message: 'Your item has been updated.' }));
}
