/** The simulator's state: listings, sessions, uploads, counters and the faults a test has set. */
import { randomBytes } from 'node:crypto';
import { generateCatalog, type Listing, type Photo, type Region, type Source } from './catalog.ts';
import type { GateCounters } from './gate.ts';
import { HttpError, nonNegativeNumber } from './http.ts';
import { mulberry32, randInt } from './prng.ts';

export interface SimCounters extends GateCounters {
  logins: number;
  /** Logins refused for wrong credentials. */
  failedLogins: number;
  brandChecks: number;
  formLoads: number;
  /** Publish POSTs that reached the site (client-side validation sends none). */
  submissions: number;
  /** Publish POSTs refused by the server's validation (nothing created). */
  rejectedSubmissions: number;
  exports: number;
  failedSubmissions: number;
  hungSubmissions: number;
  /** Photos stored by `POST /ajax/dropzone_upload/<user id>`. */
  uploads: number;
  /** Uploads refused (WebP, not an image, too large). */
  refusedUploads: number;
  /** POSTs to an existing listing's edit form. */
  edits: number;
}

export interface SimPhoto {
  file_unique_id: string;
  name: string;
  bytes: number;
  type: string;
  /** Its `data-product_media_id` on the edit page. */
  media_id: number | null;
}

export interface SimListing {
  product_id: number;
  brand_name: string;
  product_model_name: string;
  product_description: string;
  product_price: number;
  product_year: string;
  product_finish: string;
  created_at: string;
  visible_in_export: boolean;
  source: Source;
  sold: boolean;
  deleted: boolean;
  category_name: string;
  /** Names from the top level down to the leaf. */
  category_path: string[];
  category_ids: number[];
  decade: string;
  discounted_price: string;
  external_url: string;
  call_price: boolean;
  buy_now: boolean;
  show_vat: boolean;
  local_pickup: boolean;
  available_for_shipment: boolean;
  /** Fees per region (uk, europe, usa, world) as submitted; a removed region is absent. */
  shipping_fees: Partial<Record<Region, number>>;
  processing_time: string;
  photos: SimPhoto[];
  photo_count: number;
  photo_bytes: number;
  /** The stored names of the photos (older tests read these). */
  image_names: string[];
}

export interface SimState {
  variant: number;
  cloudflare: string;
  listings: SimListing[];
  counters: SimCounters;
}

export interface FaultSettings {
  failNextSubmits: number;
  hangNextSubmits: number;
  truncateNextExports: number;
  /** Serve only the newest tenth of the rows, as a well-formed file: a partial export V&R won't flag. */
  shrinkNextExports: number;
  failNextExports: number;
  neverIndexNext: number;
  /** The next N Publish POSTs store the listing yet answer with field-error markup (a wrong verdict). */
  fieldErrorsAfterStoreNext: number;
  /** The next N Publish POSTs are refused server-side with a field error, nothing stored. */
  rejectNextSubmits: number;
  /** The next N published listings are stored without their shipping fees (as the origin saw). */
  dropShippingFeesNext: number;
  indexDelayMs: number;
  submitFailRate: number;
  /** Also adjustable while running, so a test can make one download slow. */
  exportLatencyMs: number;
  /** The whole site is down for maintenance (V&R's nightly window): every page answers 503. */
  down: boolean;
  /** Down until this time (ms since the epoch); 0 = not scheduled. */
  downUntil: number;
}

export interface Session {
  id: string;
  username?: string;
  loggedInAt?: number;
  expired: boolean;
  exportPageAt?: number;
  /** "Published and live" waits here for the next add-form view (variants that redirect). */
  flashPublished?: boolean;
  /** A login error waiting for the next page (the home-page landing). */
  flashLoginError?: string;
}

export interface StoredUpload extends Photo {
  sessionId: string;
}

/** The fields of a listing as the add form (or a hand-made listing) gives them. */
export type NewListing = Omit<Listing, 'product_id' | 'created_at' | 'visible_from' | 'image_urls'>;

export interface Store {
  readonly faults: FaultSettings;
  readonly counters: SimCounters;
  readonly sessions: Map<string, Session>;
  readonly uploads: Map<string, StoredUpload>;
  /** unique_id values of the add forms served. */
  readonly issuedForms: Set<string>;
  listings(): readonly Listing[];
  state(variant: number, cloudflare: string, source?: Source): SimState;
  setFaults(patch: Record<string, unknown>): FaultSettings;
  isDown(): boolean;
  /** Draws the Publish faults (failNextSubmits, submitFailRate): true = answer 500. */
  drawSubmitFailure(): boolean;
  newSession(): Session;
  isLoggedIn(s: Session | undefined, now?: number): s is Session & { username: string };
  expireAll(): number;
  addListing(fields: NewListing): Listing;
  /** Replaces a listing with a changed copy (so cached export lines are not reused); undefined when unknown. */
  updateListing(
    id: number,
    patch: Partial<NewListing> & { sold?: boolean; deleted?: boolean },
  ): Listing | undefined;
  newUniqueId(): string;
}

export interface StoreOptions {
  catalogRows: number;
  seed: number;
  sessionTtlMs: number;
  indexDelayMs: number;
  submitFailRate: number;
  exportLatencyMs: number;
  /** SimulatorOptions.timeScale: scales the index delay (the faults keep the value as set). */
  timeScale: number;
}

const MAX_ISSUED_FORMS = 100_000;

export function createStore(o: StoreOptions): Store {
  const faults: FaultSettings = {
    failNextSubmits: 0,
    hangNextSubmits: 0,
    truncateNextExports: 0,
    shrinkNextExports: 0,
    failNextExports: 0,
    neverIndexNext: 0,
    fieldErrorsAfterStoreNext: 0,
    rejectNextSubmits: 0,
    dropShippingFeesNext: 0,
    indexDelayMs: o.indexDelayMs,
    submitFailRate: o.submitFailRate,
    exportLatencyMs: o.exportLatencyMs,
    down: false,
    downUntil: 0,
  };
  const counters: SimCounters = {
    logins: 0,
    failedLogins: 0,
    brandChecks: 0,
    formLoads: 0,
    submissions: 0,
    rejectedSubmissions: 0,
    exports: 0,
    failedSubmissions: 0,
    hungSubmissions: 0,
    uploads: 0,
    refusedUploads: 0,
    edits: 0,
    refusedRequests: 0,
    challenges: 0,
    clearances: 0,
    headlessBlocked: 0,
  };
  const listings: Listing[] = generateCatalog(o.catalogRows, o.seed);
  let maxId = listings.at(-1)?.product_id ?? 49999;
  const idRng = mulberry32(o.seed * 31 + 7);
  const failRng = mulberry32(o.seed * 17 + 3);
  const sessions = new Map<string, Session>();
  const uploads = new Map<string, StoredUpload>();
  const issuedForms = new Set<string>();
  let lastMediaId = 700_000;
  /** Each photo stored gets its media id once (kept by later edits). */
  const withMediaIds = (photos: readonly Photo[]): Photo[] =>
    photos.map((p) => (p.media_id === undefined ? { ...p, media_id: ++lastMediaId } : p));
  const imageUrls = (id: number, photos: readonly Photo[]) =>
    photos.map((p) => `https://www.vintageandrare.com/uploads/products/${id}/${p.media_id}/original.jpg`);

  function isLoggedIn(s: Session | undefined, now = Date.now()): s is Session & { username: string } {
    if (!s?.username || s.expired || s.loggedInAt === undefined) return false;
    if (o.sessionTtlMs > 0 && now - s.loggedInAt >= o.sessionTtlMs) return false;
    return true;
  }

  function view(l: Listing, now: number): SimListing {
    const photos = l.photos.map((p) => ({
      file_unique_id: p.file_unique_id,
      name: p.name,
      bytes: p.bytes,
      type: p.type,
      media_id: p.media_id ?? null,
    }));
    return {
      product_id: l.product_id,
      brand_name: l.brand_name,
      product_model_name: l.product_model_name,
      product_description: l.product_description,
      product_price: l.product_price,
      product_year: l.product_year,
      product_finish: l.product_finish,
      created_at: l.created_at,
      visible_in_export: l.visible_from <= now && !l.deleted,
      source: l.source,
      sold: l.sold === true,
      deleted: l.deleted === true,
      category_name: l.category_name,
      category_path: l.category_name ? l.category_name.split('>') : [],
      category_ids: [...l.category_ids],
      decade: l.decade,
      discounted_price: l.discounted_price,
      external_url: l.external_url,
      call_price: l.call_price,
      buy_now: l.buy_now,
      show_vat: l.show_vat,
      local_pickup: l.local_pickup,
      available_for_shipment: l.available_for_shipment,
      shipping_fees: { ...l.shipping_fees },
      processing_time: l.processing_time,
      photos,
      photo_count: photos.length,
      photo_bytes: photos.reduce((n, p) => n + p.bytes, 0),
      image_names: l.photos.map((p) => p.stored_name),
    };
  }

  return {
    faults,
    counters,
    sessions,
    uploads,
    issuedForms,
    listings: () => listings,
    state(variant, cloudflare, source) {
      const now = Date.now();
      const rows = source ? listings.filter((l) => l.source === source) : listings;
      return { variant, cloudflare, listings: rows.map((l) => view(l, now)), counters: { ...counters } };
    },
    setFaults(patch) {
      const next = { ...faults };
      for (const [key, value] of Object.entries(patch ?? {})) {
        switch (key) {
          case 'failNextSubmits':
          case 'hangNextSubmits':
          case 'truncateNextExports':
          case 'shrinkNextExports':
          case 'failNextExports':
          case 'neverIndexNext':
          case 'fieldErrorsAfterStoreNext':
          case 'rejectNextSubmits':
          case 'dropShippingFeesNext':
          case 'indexDelayMs':
          case 'exportLatencyMs':
            next[key] = Math.floor(nonNegativeNumber(value, key));
            break;
          case 'submitFailRate':
            next.submitFailRate = nonNegativeNumber(value, key, 1);
            break;
          case 'down':
            if (typeof value !== 'boolean') throw new HttpError(400, 'down must be true or false');
            next.down = value;
            break;
          case 'downUntil':
            next.downUntil = Math.floor(nonNegativeNumber(value, key));
            break;
          default:
            throw new HttpError(400, `Unknown fault setting: ${key}`);
        }
      }
      Object.assign(faults, next);
      return { ...faults };
    },
    isDown: () => faults.down || faults.downUntil > Date.now(),
    drawSubmitFailure() {
      if (faults.failNextSubmits > 0) {
        faults.failNextSubmits--;
        return true;
      }
      return faults.submitFailRate > 0 && failRng() < faults.submitFailRate;
    },
    newSession() {
      const s: Session = { id: randomBytes(16).toString('hex'), expired: false };
      sessions.set(s.id, s);
      return s;
    },
    isLoggedIn,
    expireAll() {
      const now = Date.now();
      let expired = 0;
      for (const s of sessions.values()) {
        if (isLoggedIn(s, now)) expired++;
        s.expired = true;
      }
      return expired;
    },
    addListing(fields) {
      const now = Date.now();
      const id = maxId + 1 + randInt(idRng, 0, 2);
      maxId = id;
      let visibleFrom = now + faults.indexDelayMs * o.timeScale;
      if (faults.neverIndexNext > 0) {
        faults.neverIndexNext--;
        visibleFrom = Number.POSITIVE_INFINITY;
      }
      const photos = withMediaIds(fields.photos);
      const listing: Listing = {
        ...fields,
        photos,
        product_id: id,
        image_urls: imageUrls(id, photos),
        created_at: new Date(now).toISOString(),
        visible_from: visibleFrom,
      };
      listings.push(listing);
      return listing;
    },
    updateListing(id, patch) {
      const at = listings.findIndex((l) => l.product_id === id && !l.deleted);
      if (at < 0) return undefined;
      const current = listings[at]!;
      const next = { ...current, ...patch };
      if (patch.photos && patch.photos !== current.photos) {
        next.photos = withMediaIds(patch.photos);
        next.image_urls = imageUrls(id, next.photos);
      }
      listings[at] = next;
      return next;
    },
    newUniqueId() {
      const id = randomBytes(10).toString('hex');
      issuedForms.add(id);
      // A long run serves many forms: forget the oldest (a form that old is stale on V&R too).
      if (issuedForms.size > MAX_ISSUED_FORMS) issuedForms.delete(issuedForms.values().next().value!);
      return id;
    },
  };
}
