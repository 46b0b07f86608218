/** The simulated site's routes, and the `/__sim/*` test routes beside them. */
import { randomBytes } from 'node:crypto';
import { type CategoryNode, resolveCategory } from '../vr/categories.ts';
import { findBrand, suggestBrands } from './brands.ts';
import type { Source } from './catalog.ts';
import { type ExportWriter, exportChunks, streamExport } from './export.ts';
import { checkPublish, MAX_PHOTO_BYTES_TOTAL, sniffImageType } from './form-rules.ts';
import type { Gate } from './gate.ts';
import {
  HTML,
  HttpError,
  MAX_UPLOAD_BYTES,
  parseCookies,
  type Req,
  type Res,
  readForm,
  readJson,
  readUrlEncoded,
  redirect,
  send,
  sendJson,
} from './http.ts';
import {
  accountPage,
  addItemPage,
  categoryOptions,
  escapeHtml,
  exportPage,
  type FieldErrors,
  homePage,
  INTERNAL_ERROR_PAGE,
  layout,
  loginPage,
  maintenancePage,
  notFoundPage,
  SAMPLE_JPEG,
  SITE_CSS,
  suggestionsHtml,
  USER_ID,
} from './pages.ts';
import { ADD_ITEM_JS, SITE_JS } from './scripts.ts';
import type { Session, Store } from './state.ts';
import type { DroppableElement, Variant } from './variants.ts';

export interface SiteOptions {
  username: string;
  password: string;
  pageLatencyMs: number;
  submitLatencyMs: number;
  ajaxLatencyMs: number;
}

export interface SiteContext {
  options: SiteOptions;
  store: Store;
  gate: Gate;
  variant: Variant;
  tree: readonly CategoryNode[];
  dropped: ReadonlySet<DroppableElement>;
  writer: ExportWriter;
  delay(ms: number): Promise<void>;
  aborted(): boolean;
  /** Records time spent waiting for a slow client, so onRequestServed can leave it out. */
  noteClientWait(res: Res, ms: number): void;
}

const EXPORT_VISIT_WINDOW_MS = 10 * 60 * 1000;
const LOGIN_FAILED_TEXT = 'Invalid username or password.';
const STATIC_CACHE = { 'cache-control': 'public, max-age=3600' };

function sessionCookie(s: Session, keep: boolean): string {
  return `PHPSESSID=${s.id}; Path=/; HttpOnly${keep ? `; Max-Age=${30 * 86_400}` : ''}`;
}

/** Same-origin path of the Referer, or undefined. */
function refererPath(req: Req): URL | undefined {
  const referer = req.headers.referer;
  if (!referer) return undefined;
  try {
    const u = new URL(referer);
    return u.host === req.headers.host ? u : undefined;
  } catch {
    return undefined;
  }
}

const PROTECTED_PREFIXES = ['/account', '/instruments', '/ajax'];

export function createSite(ctx: SiteContext): (req: Req, res: Res) => Promise<void> {
  const { store, gate, variant: v, options: o } = ctx;

  function sendMaintenance(res: Res): void {
    const until = store.faults.downUntil;
    const retryAfter = until > Date.now() ? Math.ceil((until - Date.now()) / 1000) : 60;
    send(res, 503, HTML, maintenancePage(), { 'retry-after': String(retryAfter) });
  }

  /** What a request gets without a live session, per variant. */
  function expiredLanding(req: Req, res: Res, url: URL): void {
    switch (v.expiredSession) {
      case 'home':
        redirect(res, '/');
        return;
      case 'login-page':
        redirect(res, `/login?redirect=${encodeURIComponent(url.pathname + url.search)}`);
        return;
      case 'same-url-popup':
        send(
          res,
          200,
          HTML,
          layout(
            'Please sign in',
            '<h1>Please sign in</h1><p>You need to be signed in to see this page.</p>',
            {
              loggedIn: false,
              popupOpen: true,
            },
          ),
        );
        return;
    }
    void req;
  }

  async function doLogin(req: Req, res: Res, session: Session | undefined, sid: string | undefined) {
    const body = await readUrlEncoded(req);
    await ctx.delay(o.pageLatencyMs);
    const user = body.get('username') ?? '';
    if ((user === o.username || user === `${o.username}@example.com`) && body.get('pass') === o.password) {
      if (sid) store.sessions.delete(sid);
      const s = store.newSession();
      s.username = o.username;
      s.loggedInAt = Date.now();
      store.counters.logins++;
      redirect(res, '/account', { 'set-cookie': sessionCookie(s, body.get('keep_me_signed') === '1') });
      return;
    }
    store.counters.failedLogins++;
    switch (v.failedLogin) {
      case 'same-url-login-failed': {
        const from = refererPath(req);
        const protectedPath = from && PROTECTED_PREFIXES.some((p) => from.pathname.startsWith(p));
        const target = from && !protectedPath ? new URL(from) : new URL('/', 'http://x');
        target.searchParams.set('login_failed', '1');
        redirect(res, target.pathname + target.search);
        return;
      }
      case 'login-page':
        send(res, 200, HTML, loginPage(LOGIN_FAILED_TEXT));
        return;
      case 'home-popup': {
        const s = session ?? store.newSession();
        s.flashLoginError = LOGIN_FAILED_TEXT;
        redirect(res, '/', session ? {} : { 'set-cookie': sessionCookie(s, false) });
        return;
      }
    }
  }

  async function publish(req: Req, res: Res, session: Session): Promise<void> {
    store.counters.submissions++;
    const form = await readForm(req);
    await ctx.delay(o.submitLatencyMs);
    if (store.isDown()) {
      // The site went down while the submit was in flight: the seller can't tell what happened.
      store.counters.failedSubmissions++;
      sendMaintenance(res);
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
      send(res, 200, HTML, formPage({ errors: checked.errors, generalError: checked.generalError }));
      return;
    }
    store.addListing(checked.listing);
    if (store.faults.hangNextSubmits > 0) {
      store.faults.hangNextSubmits--;
      store.counters.hungSubmissions++;
      return; // never answer; close() destroys the socket
    }
    if (v.publishAnswer === 'redirect') {
      session.flashPublished = true;
      redirect(res, '/instruments/add_edit_item');
    } else {
      send(res, 200, HTML, formPage({ published: true }));
    }
  }

  function formPage(extra: { published?: boolean; errors?: FieldErrors; generalError?: string | undefined }) {
    return addItemPage({
      variant: v,
      tree: ctx.tree,
      uniqueId: store.newUniqueId(),
      dropped: ctx.dropped,
      ...(extra.published ? { published: true } : {}),
      ...(extra.errors ? { errors: extra.errors } : {}),
      ...(extra.generalError ? { generalError: extra.generalError } : {}),
    });
  }

  async function upload(req: Req, res: Res, session: Session, userId: string): Promise<void> {
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

  async function download(req: Req, res: Res, session: Session): Promise<void> {
    const now = Date.now();
    const referer = req.headers.referer ?? '';
    const visited =
      session.exportPageAt !== undefined && now - session.exportPageAt <= EXPORT_VISIT_WINDOW_MS;
    if (!visited || !referer.includes('/instruments/export_inventory')) {
      send(res, 404, HTML, notFoundPage(true));
      return;
    }
    const f = store.faults;
    if (f.failNextExports > 0) {
      f.failNextExports--;
      send(res, 503, HTML, maintenancePage(), { 'retry-after': '60' });
      return;
    }
    store.counters.exports++;
    const rows = store
      .listings()
      .filter((l) => l.visible_from <= now)
      .sort((a, b) => a.product_id - b.product_id);
    const shrink = f.shrinkNextExports > 0;
    if (shrink) f.shrinkNextExports--;
    const truncate = f.truncateNextExports > 0;
    if (truncate) f.truncateNextExports--;
    const chunks = exportChunks(ctx.writer, rows, { shrink, truncate });
    const waited = await streamExport(res, v.export, chunks, f.exportLatencyMs, ctx.delay, ctx.aborted);
    ctx.noteClientWait(res, waited);
  }

  async function handleSim(req: Req, res: Res, url: URL): Promise<void> {
    const route = `${req.method} ${url.pathname}`;
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

  return async function handle(req: Req, res: Res): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/__sim/')) {
      await handleSim(req, res, url);
      return;
    }
    if (gate.isChallengeRoute(method, path)) {
      await gate.passChallenge(req, res, url);
      return;
    }
    if (!gate.admit(req, res, url)) return;
    if (store.isDown()) {
      // Maintenance: every route, login and export included, before any other logic.
      if (method === 'POST' && path === '/instruments/add_edit_item') store.counters.submissions++;
      sendMaintenance(res);
      return;
    }
    const now = Date.now();
    const sid = parseCookies(req.headers.cookie).get('PHPSESSID');
    let session = sid ? store.sessions.get(sid) : undefined;
    const loggedIn = store.isLoggedIn(session, now);

    // Static files and public pages.
    switch (`${method} ${path}`) {
      case 'GET /css/site.css':
        send(res, 200, 'text/css; charset=utf-8', SITE_CSS, STATIC_CACHE);
        return;
      case 'GET /js/site.js':
        send(res, 200, 'application/javascript; charset=utf-8', SITE_JS, STATIC_CACHE);
        return;
      case 'GET /js/add_item.js':
        send(res, 200, 'application/javascript; charset=utf-8', ADD_ITEM_JS, STATIC_CACHE);
        return;
      case 'GET /favicon.ico':
        res.writeHead(204).end();
        return;
      case 'GET /':
      case 'GET /login': {
        await ctx.delay(o.pageLatencyMs);
        const headers: string[] = [];
        if (!session) {
          session = store.newSession();
          headers.push(sessionCookie(session, false), 'vr_currency=GBP; Path=/');
        }
        const failed = url.searchParams.has('login_failed') ? LOGIN_FAILED_TEXT : session.flashLoginError;
        session.flashLoginError = undefined;
        const html =
          path === '/login' && !loggedIn
            ? loginPage(failed)
            : homePage({
                loggedIn,
                ...(failed && !loggedIn ? { popupOpen: true, loginError: failed } : {}),
              });
        send(res, 200, HTML, html, headers.length ? { 'set-cookie': headers } : {});
        return;
      }
      case 'POST /do_login':
        await doLogin(req, res, session, sid);
        return;
      case 'GET /logout':
        if (sid) store.sessions.delete(sid);
        redirect(res, '/', { 'set-cookie': 'PHPSESSID=deleted; Path=/; Max-Age=0; HttpOnly' });
        return;
    }
    if (method === 'GET' && /^\/product\/\d+$/.test(path)) {
      await ctx.delay(o.pageLatencyMs);
      const id = Number(path.slice('/product/'.length));
      const l = store.listings().find((x) => x.product_id === id && x.visible_from <= now);
      if (!l) send(res, 404, HTML, notFoundPage(loggedIn));
      else
        send(
          res,
          200,
          HTML,
          layout(
            `${l.brand_name} ${l.product_model_name}`,
            `<h1>${escapeHtml(`${l.brand_name} ${l.product_model_name}`)}</h1>`,
            {
              loggedIn,
            },
          ),
        );
      return;
    }

    // Everything else needs a live session.
    if (!loggedIn || !session) {
      await ctx.delay(o.pageLatencyMs);
      expiredLanding(req, res, url);
      return;
    }
    switch (`${method} ${path}`) {
      case 'GET /account':
        await ctx.delay(o.pageLatencyMs);
        send(res, 200, HTML, accountPage(session.username ?? o.username));
        return;
      case 'GET /instruments/add_edit_item': {
        store.counters.formLoads++;
        await ctx.delay(o.pageLatencyMs);
        const published = session.flashPublished === true;
        session.flashPublished = false;
        send(res, 200, HTML, formPage({ published }));
        return;
      }
      case 'POST /instruments/add_edit_item':
        await publish(req, res, session);
        return;
      case 'POST /ajax/check_brand_exists': {
        const body = await readUrlEncoded(req);
        store.counters.brandChecks++;
        await ctx.delay(o.ajaxLatencyMs);
        send(res, 200, 'text/plain; charset=utf-8', String(findBrand(body.get('brand_name') ?? '')?.id ?? 0));
        return;
      }
      case 'POST /ajax/get_suggested_brands_name': {
        const body = await readUrlEncoded(req);
        await ctx.delay(o.ajaxLatencyMs);
        send(res, 200, HTML, suggestionsHtml(suggestBrands(body.get('str') ?? ''), v));
        return;
      }
      case 'POST /ajax/get_sub_categories': {
        const body = await readUrlEncoded(req);
        await ctx.delay(o.ajaxLatencyMs);
        const node = findNode(ctx.tree, Number(body.get('parent_id')));
        send(res, 200, HTML, node && node.children.length > 0 ? categoryOptions(node.children) : '');
        return;
      }
      case 'GET /instruments/export_inventory':
        session.exportPageAt = Date.now();
        await ctx.delay(o.pageLatencyMs);
        send(res, 200, HTML, exportPage());
        return;
      case 'GET /instruments/export_inventory/export_inventory':
        await download(req, res, session);
        return;
    }
    const uploadMatch = method === 'POST' ? /^\/ajax\/dropzone_upload\/(\d+)$/.exec(path) : null;
    if (uploadMatch) {
      await upload(req, res, session, uploadMatch[1]!);
      return;
    }
    await ctx.delay(o.pageLatencyMs);
    send(res, 404, HTML, notFoundPage(true));
  };
}

function findNode(nodes: readonly CategoryNode[], id: number): CategoryNode | undefined {
  for (const n of nodes) {
    if (n.id === id) return n;
    const below = findNode(n.children, id);
    if (below) return below;
  }
  return undefined;
}

/** `POST /__sim/listings`: a listing made by hand on V&R, checked as strictly as the form would. */
function handListing(body: Record<string, unknown>, tree: readonly CategoryNode[]) {
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
  const price = Number(str('product_price', true).trim());
  if (!Number.isInteger(price) || price <= 0)
    throw new HttpError(400, 'product_price must be a whole number above 0');
  const year = str('product_year', false).trim();
  if (year && !/^\d{4}$/.test(year)) throw new HttpError(400, 'product_year must have 4 digits');
  const category = resolveCategory(tree, str('category_name', true));
  if (!category.ok) throw new HttpError(400, `category_name ${category.message}`);
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
    local_pickup: false,
    available_for_shipment: true,
    shipping_fees: {},
    processing_time: '3 Days',
    offer_discount: '0',
    discounted_price: '',
    external_url: '',
    product_order: '0',
    photos: [],
    video_url: '',
    external_link: '',
    source: 'hand' as const,
  };
}
