/**
 * An HTTP client for protocol-level tests of the simulator that passes its Cloudflare gate the way
 * a person's browser would: the `sec-fetch-*` headers a browser sends, and a `cf_clearance` cookie
 * from `POST /__sim/cloudflare/clearance` for its User-Agent (as a person could copy one out of
 * their browser). Code under test never does this: it talks to V&R through Chromium.
 */
export const TEST_USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** Every kind of route V&R serves (pages, AJAX, the export, assets, a 404): the gate guards them all. */
export const GATED_ROUTES: ReadonlyArray<[method: string, path: string]> = [
  ['GET', '/'],
  ['GET', '/login'],
  ['POST', '/do_login'],
  ['GET', '/account'],
  ['GET', '/instruments/add_edit_item'],
  ['POST', '/instruments/add_edit_item'],
  ['GET', '/instruments/add_edit_item/50001'],
  ['POST', '/ajax/check_brand_exists'],
  ['POST', '/ajax/get_suggested_brands_name'],
  ['POST', '/ajax/get_sub_categories'],
  ['POST', '/ajax/dropzone_upload/4242'],
  ['POST', '/ajax/mark_as_sold/x1'],
  ['POST', '/ajax/delete_item'],
  ['GET', '/instruments/export_inventory'],
  ['GET', '/instruments/export_inventory/export_inventory'],
  ['GET', '/css/site.css'],
  ['GET', '/js/add_item.js'],
  ['GET', '/product/50001'],
  ['GET', '/logout'],
  ['GET', '/no/such/page'],
];

export class BrowserLikeClient {
  readonly cookies = new Map<string, string>();

  private constructor(
    readonly base: string,
    readonly userAgent: string,
  ) {}

  static async create(base: string, userAgent = TEST_USER_AGENT): Promise<BrowserLikeClient> {
    const client = new BrowserLikeClient(base, userAgent);
    const res = await fetch(`${base}/__sim/cloudflare/clearance`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userAgent }),
    });
    if (!res.ok) throw new Error(`clearance hook answered ${res.status}`);
    const cookie = (await res.json()) as { name: string; value: string };
    client.cookies.set(cookie.name, cookie.value);
    return client;
  }

  async fetch(path: string, init: RequestInit & { dest?: string } = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('user-agent', this.userAgent);
    if (!headers.has('sec-fetch-site')) headers.set('sec-fetch-site', 'same-origin');
    if (!headers.has('sec-fetch-mode')) headers.set('sec-fetch-mode', init.dest ? 'navigate' : 'cors');
    if (!headers.has('sec-fetch-dest')) headers.set('sec-fetch-dest', init.dest ?? 'empty');
    if (this.cookies.size > 0)
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(this.base + path, { ...init, headers, redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      const pair = cookie.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      if (/;\s*max-age=0/i.test(cookie)) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1).trim());
    }
    return res;
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch(path, { headers, dest: 'document' });
  }

  postForm(
    path: string,
    fields: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    return this.fetch(path, {
      method: 'POST',
      headers: { 'x-requested-with': 'XMLHttpRequest', ...headers },
      body: new URLSearchParams(fields),
    });
  }

  async login(username = 'demo', pass = 'demo'): Promise<Response> {
    await (await this.get('/')).text();
    return this.postForm('/do_login', { username, pass }, { referer: `${this.base}/` });
  }

  /** The add form's HTML and its served unique_id. */
  async openForm(): Promise<{ html: string; uniqueId: string }> {
    const res = await this.get('/instruments/add_edit_item');
    if (res.status !== 200) throw new Error(`add form answered ${res.status}`);
    const html = await res.text();
    const uniqueId = /name="unique_id" value="([^"]+)"/.exec(html)?.[1];
    if (!uniqueId) throw new Error('no unique_id in the add form');
    return { html, uniqueId };
  }

  /** Uploads one photo as Dropzone does; returns the parsed JSON reply. */
  async upload(
    bytes: Uint8Array,
    name: string,
    type = 'image/jpeg',
  ): Promise<{ status: number; reply: unknown }> {
    const fd = new FormData();
    fd.append('filename[0]', new Blob([new Uint8Array(bytes)], { type }), name);
    const res = await this.fetch('/ajax/dropzone_upload/4242', {
      method: 'POST',
      headers: { 'x-requested-with': 'XMLHttpRequest' },
      body: fd,
    });
    return { status: res.status, reply: await res.json() };
  }

  async downloadExport(): Promise<Response> {
    await (await this.get('/instruments/export_inventory')).text();
    return this.get('/instruments/export_inventory/export_inventory', {
      referer: `${this.base}/instruments/export_inventory`,
    });
  }
}
