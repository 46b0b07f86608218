/** A tiny cookie-carrying HTTP client for tests against the V&R simulator. */
export class SimClient {
  readonly cookies = new Map<string, string>();

  constructor(readonly base: string) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) {
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
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

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch(path, { headers });
  }

  async postForm(path: string, fields: Record<string, string>): Promise<Response> {
    return this.fetch(path, {
      method: 'POST',
      headers: { 'x-requested-with': 'XMLHttpRequest' },
      body: new URLSearchParams(fields),
    });
  }

  /** Logs in through POST /do_login; returns the response (302 to /account on success). */
  async login(username = 'demo', pass = 'demo'): Promise<Response> {
    await (await this.get('/')).text();
    return this.postForm('/do_login', { username, pass, open_where: 'header' });
  }

  /** Visits the export page, then downloads the CSV with that page as Referer. */
  async downloadExport(): Promise<Response> {
    await (await this.get('/instruments/export_inventory')).text();
    return this.get('/instruments/export_inventory/export_inventory', {
      referer: `${this.base}/instruments/export_inventory`,
    });
  }
}
