/** The `/__sim/*` test routes: outside the gate, never on the real site. */
import { type CategoryNode, resolveCategory } from 'vr-lister/site-data';
import { REGIONS, type Region, type Source } from './catalog.ts';
import type { SiteContext } from './context.ts';
import { HttpError, type Req, type Res, readJson, send, sendJson } from './http.ts';
import { SAMPLE_JPEG } from './pages.ts';
import type { NewListing } from './state.ts';

export async function handleTestRoute(ctx: SiteContext, req: Req, res: Res, url: URL): Promise<void> {
  const { store, gate, variant: v } = ctx;
  const route = `${req.method} ${url.pathname}`;
  const byHand = /^POST \/__sim\/listings\/(\d+)\/(sold|delete|price)$/.exec(route);
  if (byHand) {
    await actByHand(ctx, req, res, Number(byHand[1]), byHand[2] as HandAction);
    return;
  }
  switch (route) {
    case 'GET /__sim/state': {
      const source = url.searchParams.get('source');
      const known: Source[] = ['form', 'catalog', 'hand'];
      sendJson(
        res,
        200,
        store.state(v.id, gate.mode, known.includes(source as Source) ? (source as Source) : undefined),
      );
      return;
    }
    case 'GET /__sim/faults':
      sendJson(res, 200, { ...store.faults });
      return;
    case 'POST /__sim/faults':
      sendJson(res, 200, store.setFaults(await readJson(req)));
      return;
    case 'POST /__sim/expire-sessions':
      sendJson(res, 200, { expired: store.expireAll() });
      return;
    case 'GET /__sim/sample-image.jpg':
      send(res, 200, 'image/jpeg', SAMPLE_JPEG);
      return;
    case 'POST /__sim/listings': {
      const listing = handListing(await readJson(req), ctx.tree);
      sendJson(res, 200, { product_id: store.addListing(listing).product_id });
      return;
    }
    case 'POST /__sim/cloudflare/clearance': {
      const body = await readJson(req);
      if (typeof body.userAgent !== 'string' || body.userAgent === '') {
        throw new HttpError(400, 'userAgent must be a non-empty string');
      }
      sendJson(res, 200, gate.issueForUserAgent(body.userAgent, req.headers.host ?? '127.0.0.1'));
      return;
    }
    case 'POST /__sim/cloudflare/revoke':
      sendJson(res, 200, { revoked: gate.revokeAll() });
      return;
    default:
      sendJson(res, 404, { error: 'not found' });
  }
}

type HandAction = 'sold' | 'delete' | 'price';

/**
 * `POST /__sim/listings/{id}/sold|delete|price`: a person acting on a listing on V&R, outside
 * vr-lister (price takes JSON `{price}`). Answers the listing's new stock state; 404 for an id that
 * is unknown or already deleted.
 */
async function actByHand(
  ctx: SiteContext,
  req: Req,
  res: Res,
  id: number,
  action: HandAction,
): Promise<void> {
  let patch: { sold?: boolean; deleted?: boolean; product_price?: number };
  if (action === 'price') {
    const price = (await readJson(req)).price;
    if (typeof price !== 'number' || !Number.isFinite(price) || price <= 0) {
      throw new HttpError(400, 'price must be a number above 0');
    }
    patch = { product_price: Math.round(price) };
  } else {
    patch = action === 'sold' ? { sold: true } : { deleted: true };
  }
  const listing = ctx.store.updateListing(id, patch);
  if (!listing) throw new HttpError(404, `no listing ${id}`);
  sendJson(res, 200, {
    product_id: listing.product_id,
    product_price: listing.product_price,
    sold: listing.sold === true,
    deleted: listing.deleted === true,
  });
}

/** The category of a hand-made listing that names none. */
const DEFAULT_HAND_CATEGORY = 'Guitars>Electric solid body';

/** `POST /__sim/listings`: a listing made by hand on V&R, checked as strictly as the form would. */
function handListing(body: Record<string, unknown>, tree: readonly CategoryNode[]): NewListing {
  const str = (name: string, required: boolean): string => {
    const v = body[name];
    if (v === undefined || v === null) {
      if (required) throw new HttpError(400, `${name} is required`);
      return '';
    }
    if (typeof v !== 'string' && typeof v !== 'number') throw new HttpError(400, `${name} must be a string`);
    const s = String(v);
    if (required && !s.trim()) throw new HttpError(400, `${name} must not be empty`);
    return s;
  };
  const price = Math.round(Number(str('product_price', true).trim()));
  if (!Number.isFinite(price) || price <= 0)
    throw new HttpError(400, 'product_price must be a number above 0');
  const year = str('product_year', false).trim();
  if (year && !/^\d{4}$/.test(year)) throw new HttpError(400, 'product_year must have 4 digits');
  const category = resolveCategory(tree, str('category_name', false).trim() || DEFAULT_HAND_CATEGORY);
  if (!category.ok) throw new HttpError(400, `category_name ${category.message}`);
  const fees: Partial<Record<Region, number>> = {};
  const givenFees = body.shipping_fees ?? {};
  if (typeof givenFees !== 'object' || givenFees === null || Array.isArray(givenFees))
    throw new HttpError(400, 'shipping_fees must be an object of fees per region');
  for (const [region, fee] of Object.entries(givenFees)) {
    if (!REGIONS.includes(region as Region))
      throw new HttpError(400, `shipping_fees.${region}: unknown region`);
    if (typeof fee !== 'number' || !Number.isInteger(fee) || fee < 0)
      throw new HttpError(400, `shipping_fees.${region} must be a whole number, 0 or more`);
    fees[region as Region] = fee;
  }
  const photoCount = Number(body.photo_count ?? 0);
  if (!Number.isInteger(photoCount) || photoCount < 0 || photoCount > 20)
    throw new HttpError(400, 'photo_count must be a whole number from 0 to 20');
  const processing = str('processing_time', false).trim() || '3 Days';
  if (!/^\d{1,3} (Days|Weeks|Months)$/.test(processing))
    throw new HttpError(400, 'processing_time must be like "3 Days" (Days, Weeks or Months)');
  if (body.local_pickup !== undefined && typeof body.local_pickup !== 'boolean')
    throw new HttpError(400, 'local_pickup must be true or false');
  return {
    brand_name: str('brand_name', true),
    category_name: category.path,
    category_ids: category.nodes.map((n) => n.id),
    product_model_name: str('product_model_name', true),
    product_price: price,
    product_description: str('product_description', false),
    product_year: year,
    product_finish: str('product_finish', false),
    decade: year ? `${year.slice(0, 3)}0` : '',
    call_price: false,
    buy_now: true,
    show_vat: false,
    local_pickup: body.local_pickup === true,
    available_for_shipment: true,
    shipping_fees: fees,
    processing_time: processing,
    offer_discount: '0',
    discounted_price: '',
    external_url: '',
    product_order: '0',
    photos: Array.from({ length: photoCount }, (_, i) => ({
      file_unique_id: `hand${i}`,
      name: `photo-${i + 1}.jpg`,
      stored_name: `hand${i}.jpg`,
      bytes: SAMPLE_JPEG.length,
      type: 'image/jpeg',
    })),
    video_url: '',
    external_link: '',
    source: 'hand' as const,
  };
}
