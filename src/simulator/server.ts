import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { findBrand, suggestBrands } from './brands.ts';
import {
  CATEGORIES,
  type Category,
  csvLine,
  descriptionMiddleOffset,
  EXPORT_HEADER,
  generateCatalog,
  type Listing,
  type Source,
} from './catalog.ts';
import {
  accountPage,
  addItemPage,
  exportPage,
  homePage,
  INTERNAL_ERROR_PAGE,
  loginPage,
  maintenancePage,
  notFoundPage,
  publishedPage,
  SAMPLE_JPEG,
  SITE_CSS,
  suggestionsHtml,
} from './pages.ts';
import { mulberry32, randInt } from './prng.ts';

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  catalogRows?: number;
  pageLatencyMs?: number;
  submitLatencyMs?: number;
  ajaxLatencyMs?: number;
  /** Total extra time spread over the export download. */
  exportLatencyMs?: number;
  /** Time after creation before a new listing shows in the export. */
  indexDelayMs?: number;
  /** Fraction (0..1) of Publish submits answered 500 without creating the listing. */
  submitFailRate?: number;
  seed?: number;
  username?: string;
  password?: string;
  /** Session lifetime since login; 0 = never expires. */
  sessionTtlMs?: number;
  /**
   * Called when a response has been sent, with how long the simulator took to answer it (from the
   * request's arrival to the last byte written). Benchmarks add these up: the site's own time.
   */
  onRequestServed?: (served: ServedRequest) => void;
}

export interface ServedRequest {
  method: string;
  path: string;
  status: number;
  startedAt: number;
  /** From the request's arrival to the last byte handed to the socket. */
  ms: number;
  /** Part of `ms` spent waiting for the client to read (backpressure): the client's time, not the site's. */
  clientWaitMs: number;
}

export interface SimCounters {
  logins: number;
  brandChecks: number;
  formLoads: number;
  submissions: number;
  exports: number;
  failedSubmissions: number;
  hungSubmissions: number;
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
  category_name: string;
  image_names: string[];
  decade: string;
  discounted_price: string;
  buy_now: boolean;
  show_vat: boolean;
  local_pickup: boolean;
  available_for_shipment: boolean;
  processing_time: string;
}

export interface SimState {
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
  indexDelayMs: number;
  submitFailRate: number;
  /** Also adjustable while running, so a test can make one download slow. */
  exportLatencyMs: number;
  /** The whole site is down for maintenance (V&R's nightly window): every page answers 503. */
  down: boolean;
  /** Down until this time (ms since the epoch); 0 = not scheduled. */
  downUntil: number;
}

export interface Simulator {
  /** Base URL, e.g. http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  state(source?: Source): SimState;
  /** Same as POST /__sim/faults. */
  setFaults(patch: Partial<FaultSettings>): FaultSettings;
  close(): Promise<void>;
}

interface Session {
  id: string;
  username?: string;
  loggedInAt?: number;
  expired: boolean;
  exportPageAt?: number;
}

type Res = http.ServerResponse;

const HTML = 'text/html; charset=utf-8';
const EXPORT_VISIT_WINDOW_MS = 10 * 60 * 1000;
const EXPORT_CHUNK_BYTES = 64 * 1024;
const MAX_FORM_BYTES = 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
}

async function readBody(req: http.IncomingMessage, limit = MAX_FORM_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'Request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function readUrlEncoded(req: http.IncomingMessage): Promise<URLSearchParams> {
  return new URLSearchParams((await readBody(req)).toString('utf8'));
}

async function readMultipart(req: http.IncomingMessage): Promise<FormData> {
  const contentType = req.headers['content-type'] ?? '';
  const request = new Request('http://simulator.invalid/', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: Readable.toWeb(req) as unknown as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  try {
    return await request.formData();
  } catch (err) {
    throw new HttpError(400, `Bad form body: ${(err as Error).message}`);
  }
}

function formString(form: FormData, name: string): string {
  const v = form.get(name);
  return typeof v === 'string' ? v : '';
}

function nonNegativeNumber(v: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) {
    throw new HttpError(400, `${name} must be a number between 0 and ${max}`);
  }
  return v;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const o = {
    port: opts.port ?? 0,
    host: opts.host ?? '127.0.0.1',
    catalogRows: opts.catalogRows ?? 1500,
    pageLatencyMs: opts.pageLatencyMs ?? 0,
    submitLatencyMs: opts.submitLatencyMs ?? 0,
    ajaxLatencyMs: opts.ajaxLatencyMs ?? 0,
    seed: opts.seed ?? 1,
    username: opts.username ?? 'demo',
    password: opts.password ?? 'demo',
    sessionTtlMs: opts.sessionTtlMs ?? 0,
  };
  const faults: FaultSettings = {
    failNextSubmits: 0,
    hangNextSubmits: 0,
    truncateNextExports: 0,
    shrinkNextExports: 0,
    failNextExports: 0,
    neverIndexNext: 0,
    indexDelayMs: opts.indexDelayMs ?? 0,
    submitFailRate: opts.submitFailRate ?? 0,
    exportLatencyMs: opts.exportLatencyMs ?? 0,
    down: false,
    downUntil: 0,
  };
  const counters: SimCounters = {
    logins: 0,
    brandChecks: 0,
    formLoads: 0,
    submissions: 0,
    exports: 0,
    failedSubmissions: 0,
    hungSubmissions: 0,
  };
  const listings: Listing[] = generateCatalog(o.catalogRows, o.seed);
  let maxId = listings.at(-1)?.product_id ?? 49999;
  const idRng = mulberry32(o.seed * 31 + 7);
  const failRng = mulberry32(o.seed * 17 + 3);
  const sessions = new Map<string, Session>();
  const sockets = new Set<Socket>();
  const clientWait = new WeakMap<Res, number>();
  const closing = new AbortController();
  let uploadSeq = 0;

  async function delay(ms: number): Promise<void> {
    if (ms <= 0 || closing.signal.aborted) return;
    try {
      await sleep(ms, undefined, { signal: closing.signal });
    } catch {
      // closing
    }
  }

  function send(
    res: Res,
    status: number,
    type: string,
    body: string | Buffer,
    headers: Record<string, string | string[]> = {},
  ) {
    if (res.headersSent || res.destroyed) return;
    const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    res.writeHead(status, { 'content-type': type, 'content-length': String(buf.length), ...headers });
    res.end(buf);
  }

  function redirect(res: Res, location: string, headers: Record<string, string | string[]> = {}) {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(302, { location, 'content-length': '0', ...headers });
    res.end();
  }

  function sendJson(res: Res, status: number, value: unknown) {
    send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
  }

  function isLoggedIn(s: Session | undefined, now: number): s is Session & { username: string } {
    if (!s?.username || s.expired || s.loggedInAt === undefined) return false;
    if (o.sessionTtlMs > 0 && now - s.loggedInAt >= o.sessionTtlMs) return false;
    return true;
  }

  function newSession(): Session {
    const s: Session = { id: randomBytes(16).toString('hex'), expired: false };
    sessions.set(s.id, s);
    return s;
  }

  function sessionCookie(s: Session): string {
    return `PHPSESSID=${s.id}; Path=/; HttpOnly`;
  }

  function view(l: Listing, now: number): SimListing {
    return {
      product_id: l.product_id,
      brand_name: l.brand_name,
      product_model_name: l.product_model_name,
      product_description: l.product_description,
      product_price: l.product_price,
      product_year: l.product_year,
      product_finish: l.product_finish,
      created_at: l.created_at,
      visible_in_export: l.visible_from <= now,
      source: l.source,
      category_name: l.category_name,
      image_names: [...l.image_names],
      decade: l.decade,
      discounted_price: l.discounted_price,
      buy_now: l.buy_now,
      show_vat: l.show_vat,
      local_pickup: l.local_pickup,
      available_for_shipment: l.available_for_shipment,
      processing_time: l.processing_time,
    };
  }

  function state(source?: Source): SimState {
    const now = Date.now();
    const rows = source ? listings.filter((l) => l.source === source) : listings;
    return { listings: rows.map((l) => view(l, now)), counters: { ...counters } };
  }

  function setFaults(patch: Partial<FaultSettings>): FaultSettings {
    const next = { ...faults };
    for (const [key, value] of Object.entries(patch ?? {})) {
      switch (key) {
        case 'failNextSubmits':
        case 'hangNextSubmits':
        case 'truncateNextExports':
        case 'shrinkNextExports':
        case 'failNextExports':
        case 'neverIndexNext':
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
  }

  function isDown(): boolean {
    return faults.down || faults.downUntil > Date.now();
  }

  function sendMaintenance(res: Res): void {
    const retryAfter = faults.downUntil > Date.now() ? Math.ceil((faults.downUntil - Date.now()) / 1000) : 60;
    send(res, 503, HTML, maintenancePage(), { 'retry-after': String(retryAfter) });
  }

  // ---- the add form -------------------------------------------------------

  function validate(form: FormData): { error: string } | { categoryName: string; brand: string } {
    const levels = [0, 1, 2, 3].map((i) => formString(form, `categ_level_${i}`).trim());
    if (!levels[0]) return { error: 'Please choose a category' };
    const names: string[] = [];
    let nodes: readonly Category[] = CATEGORIES;
    let ended = false;
    for (let i = 0; i < levels.length; i++) {
      const v = levels[i]!;
      if (!v) {
        ended = true;
        continue;
      }
      if (ended) return { error: `Please choose a subcategory at level ${i}` };
      const node = nodes.find((c) => String(c.id) === v);
      if (!node) return { error: i === 0 ? `Unknown category: ${v}` : `Invalid subcategory: ${v}` };
      names.push(node.name);
      nodes = node.children;
    }
    const brand = formString(form, 'recipient_name');
    if (!brand.trim()) return { error: 'Please enter a brand' };
    if (!findBrand(brand)) return { error: `Unknown brand: ${brand.trim()}` };
    if (!formString(form, 'model_name').trim()) return { error: 'Please enter a model name' };
    const price = formString(form, 'price').trim();
    if (!price) return { error: 'Please enter a price' };
    if (!/^\d+(\.0+)?$/.test(price) || Number(price) <= 0) {
      return { error: 'Please enter a valid price (a positive whole number)' };
    }
    const year = formString(form, 'year').trim();
    if (year && !/^\d{4}$/.test(year)) return { error: 'Please enter a valid year (4 digits)' };
    return { categoryName: names.join('>'), brand };
  }

  function createListing(form: FormData, categoryName: string, brand: string): Listing {
    const now = Date.now();
    const id = maxId + 1 + randInt(idRng, 0, 2);
    maxId = id;
    let visibleFrom = now + faults.indexDelayMs;
    if (faults.neverIndexNext > 0) {
      faults.neverIndexNext--;
      visibleFrom = Number.POSITIVE_INFINITY;
    }
    const images = form
      .getAll('uploaded_images[]')
      .filter((v): v is string => typeof v === 'string' && v !== '');
    const processing = formString(form, 'processing_time').trim();
    const unit = formString(form, 'hours_days_sel').trim() || 'Days';
    const flag = (name: string) => formString(form, name) !== '';
    const listing: Listing = {
      product_id: id,
      brand_name: brand,
      category_name: categoryName,
      product_model_name: formString(form, 'model_name'),
      product_price: Math.round(Number(formString(form, 'price').trim())),
      product_description: formString(form, 'item_desc'),
      product_year: formString(form, 'year').trim(),
      product_finish: formString(form, 'finish_color'),
      decade: formString(form, 'decade').trim(),
      buy_now: flag('buy_now'),
      show_vat: flag('show_vat'),
      local_pickup: flag('local_pickup'),
      available_for_shipment: flag('available_for_shipment'),
      processing_time: processing ? `${processing} ${unit}` : '',
      offer_discount: '0',
      discounted_price: formString(form, 'discounted_price').trim(),
      product_order: '0',
      image_names: images,
      image_urls: images.map((n) => `https://www.vintageandrare.com/uploads/products/${id}/${n}`),
      video_url: '',
      external_link: '',
      created_at: new Date(now).toISOString(),
      visible_from: visibleFrom,
      source: 'form',
    };
    listings.push(listing);
    return listing;
  }

  async function publish(req: http.IncomingMessage, res: Res): Promise<void> {
    counters.submissions++;
    const form = await readMultipart(req);
    await delay(o.submitLatencyMs);
    if (isDown()) {
      // The site went down while the submit was in flight: the seller can't tell what happened.
      counters.failedSubmissions++;
      sendMaintenance(res);
      return;
    }
    let fail = false;
    if (faults.failNextSubmits > 0) {
      faults.failNextSubmits--;
      fail = true;
    } else if (faults.submitFailRate > 0 && failRng() < faults.submitFailRate) {
      fail = true;
    }
    if (fail) {
      counters.failedSubmissions++;
      send(res, 500, HTML, INTERNAL_ERROR_PAGE);
      return;
    }
    const checked = validate(form);
    if ('error' in checked) {
      send(res, 200, HTML, addItemPage(checked.error));
      return;
    }
    createListing(form, checked.categoryName, checked.brand);
    if (faults.hangNextSubmits > 0) {
      faults.hangNextSubmits--;
      counters.hungSubmissions++;
      return; // never answer; close() destroys the socket
    }
    send(res, 200, HTML, publishedPage());
  }

  // ---- the export ---------------------------------------------------------

  async function download(res: Res): Promise<void> {
    if (faults.failNextExports > 0) {
      faults.failNextExports--;
      send(res, 503, HTML, maintenancePage(), { 'retry-after': '60' });
      return;
    }
    counters.exports++;
    const now = Date.now();
    let rows = listings.filter((l) => l.visible_from <= now).sort((a, b) => a.product_id - b.product_id);
    if (faults.shrinkNextExports > 0) {
      faults.shrinkNextExports--;
      rows = rows.slice(Math.floor(rows.length * 0.9));
    }
    let truncateAt = -1;
    if (faults.truncateNextExports > 0) {
      faults.truncateNextExports--;
      truncateAt = Math.floor(rows.length / 2);
    }
    const chunks: Buffer[] = [];
    let pending: Buffer[] = [EXPORT_HEADER];
    let pendingSize = EXPORT_HEADER.length;
    const flush = () => {
      if (pending.length > 0) chunks.push(Buffer.concat(pending, pendingSize));
      pending = [];
      pendingSize = 0;
    };
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      let line = csvLine(row);
      if (i === truncateAt) {
        let cut = descriptionMiddleOffset(row);
        while (cut > 1 && line[cut - 1] === 0x22) cut--;
        line = line.subarray(0, cut);
      }
      pending.push(line);
      pendingSize += line.length;
      if (pendingSize >= EXPORT_CHUNK_BYTES) flush();
      if (i === truncateAt) break;
    }
    flush();
    res.writeHead(200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': 'attachment; filename="inventory.csv"',
      'cache-control': 'no-store',
    });
    const pause = faults.exportLatencyMs > 0 ? faults.exportLatencyMs / chunks.length : 0;
    for (const chunk of chunks) {
      if (pause > 0) await delay(pause);
      if (res.destroyed || closing.signal.aborted) return;
      if (!res.write(chunk)) {
        const waitStart = performance.now();
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
        clientWait.set(res, (clientWait.get(res) ?? 0) + performance.now() - waitStart);
      }
    }
    if (!res.destroyed) res.end();
  }

  // ---- routing ------------------------------------------------------------

  async function handleSim(req: http.IncomingMessage, res: Res, url: URL): Promise<void> {
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /__sim/state': {
        const source = url.searchParams.get('source');
        sendJson(
          res,
          200,
          state(source === 'form' || source === 'catalog' || source === 'hand' ? source : undefined),
        );
        return;
      }
      case 'GET /__sim/faults':
        sendJson(res, 200, { ...faults });
        return;
      case 'POST /__sim/faults': {
        const text = (await readBody(req)).toString('utf8');
        let body: unknown;
        try {
          body = text.trim() ? JSON.parse(text) : {};
        } catch {
          throw new HttpError(400, 'Body must be JSON');
        }
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw new HttpError(400, 'Body must be a JSON object');
        }
        sendJson(res, 200, setFaults(body as Partial<FaultSettings>));
        return;
      }
      case 'POST /__sim/expire-sessions': {
        const now = Date.now();
        let expired = 0;
        for (const s of sessions.values()) {
          if (isLoggedIn(s, now)) expired++;
          s.expired = true;
        }
        sendJson(res, 200, { expired });
        return;
      }
      case 'POST /__sim/listings': {
        // A listing made by hand on V&R, outside vr-lister: indexed with the usual delay.
        let body: Record<string, unknown>;
        try {
          body = JSON.parse((await readBody(req)).toString('utf8'));
        } catch {
          throw new HttpError(400, 'Body must be JSON');
        }
        const text = (key: string, required = false) => {
          const value = body?.[key] ?? '';
          if (typeof value !== 'string' && typeof value !== 'number')
            throw new HttpError(400, `${key}: must be a string`);
          if (required && String(value).trim() === '') throw new HttpError(400, `${key}: required`);
          return String(value);
        };
        const price = Number(body?.product_price);
        if (!Number.isFinite(price) || price <= 0)
          throw new HttpError(400, 'product_price: must be a positive number');
        const form = new FormData();
        form.set('model_name', text('product_model_name', true));
        form.set('price', String(price));
        form.set('item_desc', text('product_description'));
        form.set('year', text('product_year'));
        form.set('finish_color', text('product_finish'));
        const listing = createListing(form, text('category_name') || 'Guitars', text('brand_name', true));
        listing.source = 'hand';
        sendJson(res, 200, { product_id: listing.product_id });
        return;
      }
      case 'GET /__sim/sample-image.jpg':
        send(res, 200, 'image/jpeg', SAMPLE_JPEG);
        return;
      default:
        sendJson(res, 404, { error: 'not found' });
    }
  }

  async function handle(req: http.IncomingMessage, res: Res): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/__sim/')) {
      await handleSim(req, res, url);
      return;
    }
    if (isDown()) {
      // Maintenance: every route, login and export included, before any other logic.
      if (method === 'POST' && path === '/instruments/add_edit_item') counters.submissions++;
      sendMaintenance(res);
      return;
    }
    const now = Date.now();
    const cookies = parseCookies(req.headers.cookie);
    const sid = cookies.get('PHPSESSID');
    let session = sid ? sessions.get(sid) : undefined;
    const loggedIn = isLoggedIn(session, now);

    // Public pages.
    if (method === 'GET' && (path === '/' || path === '/login')) {
      await delay(o.pageLatencyMs);
      const headers: string[] = [];
      if (!session) {
        session = newSession();
        headers.push(sessionCookie(session));
      }
      if (path === '/') {
        headers.push(`vr_visit=${now}; Path=/`);
        send(res, 200, HTML, homePage(loggedIn), { 'set-cookie': headers });
      } else {
        send(res, 200, HTML, loginPage(), headers.length ? { 'set-cookie': headers } : {});
      }
      return;
    }
    if (method === 'POST' && path === '/do_login') {
      const body = await readUrlEncoded(req);
      await delay(o.pageLatencyMs);
      if (body.get('username') === o.username && body.get('pass') === o.password) {
        if (sid) sessions.delete(sid);
        const s = newSession();
        s.username = o.username;
        s.loggedInAt = Date.now();
        counters.logins++;
        redirect(res, '/account', { 'set-cookie': sessionCookie(s) });
      } else {
        send(res, 200, HTML, loginPage('Invalid username or password'));
      }
      return;
    }
    if (method === 'GET' && path === '/css/site.css') {
      send(res, 200, 'text/css; charset=utf-8', SITE_CSS, { 'cache-control': 'public, max-age=3600' });
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (path === '/logout') {
      if (sid) sessions.delete(sid);
      redirect(res, '/', { 'set-cookie': 'PHPSESSID=deleted; Path=/; Max-Age=0; HttpOnly' });
      return;
    }

    // Everything else needs a live session.
    if (!loggedIn || !session) {
      if (path.startsWith('/ajax/')) redirect(res, '/login');
      else redirect(res, `/login?redirect=${encodeURIComponent(path + url.search)}`);
      return;
    }
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /account':
        await delay(o.pageLatencyMs);
        send(res, 200, HTML, accountPage(session.username ?? o.username));
        return;
      case 'GET /instruments/add_edit_item':
        counters.formLoads++;
        await delay(o.pageLatencyMs);
        send(res, 200, HTML, addItemPage());
        return;
      case 'POST /instruments/add_edit_item':
        await publish(req, res);
        return;
      case 'POST /ajax/check_brand_exists': {
        const body = await readUrlEncoded(req);
        counters.brandChecks++;
        await delay(o.ajaxLatencyMs);
        const brand = findBrand(body.get('brand_name') ?? '');
        send(res, 200, 'text/plain; charset=utf-8', String(brand?.id ?? 0));
        return;
      }
      case 'POST /ajax/get_suggested_brands_name': {
        const body = await readUrlEncoded(req);
        await delay(o.ajaxLatencyMs);
        send(res, 200, HTML, suggestionsHtml(suggestBrands(body.get('str') ?? '')));
        return;
      }
      case 'GET /instruments/export_inventory':
        session.exportPageAt = Date.now();
        await delay(o.pageLatencyMs);
        send(res, 200, HTML, exportPage());
        return;
      case 'GET /instruments/export_inventory/export_inventory': {
        const referer = req.headers.referer ?? '';
        const visited =
          session.exportPageAt !== undefined && now - session.exportPageAt <= EXPORT_VISIT_WINDOW_MS;
        if (!visited || !referer.includes('/instruments/export_inventory')) {
          send(res, 404, HTML, notFoundPage());
          return;
        }
        await download(res);
        return;
      }
    }
    if (method === 'POST' && /^\/ajax\/dropzone_upload\/\d+$/.test(path)) {
      const form = await readMultipart(req);
      await delay(o.ajaxLatencyMs);
      const file = form.get('file');
      if (!(file instanceof Blob)) throw new HttpError(400, 'No file uploaded');
      const original = (file as File).name || 'image.jpg';
      const safe = original.replace(/[^A-Za-z0-9._-]+/g, '_').slice(-100);
      send(res, 200, 'text/plain; charset=utf-8', `img_${++uploadSeq}_${safe}`);
      return;
    }
    await delay(o.pageLatencyMs);
    send(res, 404, HTML, notFoundPage());
  }

  const onServed = opts.onRequestServed;
  const server = http.createServer((req, res) => {
    if (onServed) {
      const startedAt = performance.now();
      res.once('finish', () => {
        onServed({
          method: req.method ?? 'GET',
          path: new URL(req.url ?? '/', 'http://simulator.invalid').pathname,
          status: res.statusCode,
          startedAt,
          ms: performance.now() - startedAt,
          clientWaitMs: clientWait.get(res) ?? 0,
        });
      });
    }
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        send(res, err.status, 'text/plain; charset=utf-8', err.message);
      } else {
        send(res, 500, HTML, INTERNAL_ERROR_PAGE);
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('simulator: no TCP address');
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostForUrl === '0.0.0.0' ? '127.0.0.1' : hostForUrl === '[::]' ? '[::1]' : hostForUrl}:${address.port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    state,
    setFaults,
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
  };
}
