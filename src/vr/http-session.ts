import type { VrSite } from '../config.ts';
import type { Logger } from '../logger.ts';
import { isLoginUrl, isRetryableStatus, VrLoginError, VrUnavailableError } from './errors.ts';

const EXPORT_PAGE = '/instruments/export_inventory';
const EXPORT_DOWNLOAD = '/instruments/export_inventory/export_inventory';

/**
 * A logged-in V&R session over plain HTTP, for the export: the resolver needs no browser, and
 * fetch lets the CSV stream instead of arriving as one 3 MB buffer.
 */
export class VrHttpSession {
  readonly #cookies = new Map<string, string>();
  #loggedIn = false;

  constructor(
    private readonly site: VrSite,
    private readonly logger: Logger,
    private readonly timeoutMs: number,
  ) {}

  #url(path: string): string {
    return new URL(path, `${this.site.baseUrl}/`).toString();
  }

  #remember(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair!.indexOf('=');
      if (eq > 0) this.#cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
  }

  /** One request with our cookies; redirects are followed by hand so every Set-Cookie is kept. */
  async #fetch(
    path: string,
    init: {
      method?: string;
      body?: URLSearchParams;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    } = {},
  ): Promise<Response> {
    let url = this.#url(path);
    let method = init.method ?? 'GET';
    let body: URLSearchParams | undefined = init.body;
    for (let hop = 0; hop < 5; hop += 1) {
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          body,
          redirect: 'manual',
          signal: init.signal ?? AbortSignal.timeout(this.timeoutMs),
          headers: {
            ...init.headers,
            cookie: [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; '),
          },
        });
      } catch (error) {
        throw new VrUnavailableError(`V&R did not answer ${path}: ${(error as Error).message}`);
      }
      this.#remember(response);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        url = new URL(location, url).toString();
        method = 'GET';
        body = undefined;
        continue;
      }
      Object.defineProperty(response, 'finalUrl', { value: url });
      return response;
    }
    throw new VrUnavailableError(`too many redirects from ${path}`);
  }

  async login(): Promise<void> {
    const home = await this.#fetch('/');
    await home.body?.cancel();
    if (isRetryableStatus(home.status))
      throw new VrUnavailableError(`V&R home page answered HTTP ${home.status}`);
    const response = await this.#fetch('/do_login', {
      method: 'POST',
      body: new URLSearchParams({
        username: this.site.username,
        pass: this.site.password,
        open_where: 'header',
      }),
    });
    const text = await response.text();
    const finalUrl = (response as Response & { finalUrl: string }).finalUrl;
    if (isRetryableStatus(response.status))
      throw new VrUnavailableError(`V&R login answered HTTP ${response.status}`);
    if (new URL(finalUrl).pathname.startsWith('/account') || /\bLogout\b/.test(text)) {
      this.#loggedIn = true;
      this.logger.info('logged in to V&R (export session)');
      return;
    }
    if (isLoginUrl(finalUrl) || text.includes('login_form')) {
      throw new VrLoginError('V&R refused the login: check VR_USERNAME and VR_PASSWORD');
    }
    throw new VrUnavailableError(`unexpected page after login: ${finalUrl} (HTTP ${response.status})`);
  }

  /**
   * Opens the inventory export: the page first (the download answers 404 without it), then the
   * download with that page as Referer. Returns the body as a byte stream.
   */
  async openExport(signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      if (!this.#loggedIn) await this.login();
      const page = await this.#fetch(EXPORT_PAGE);
      await page.body?.cancel();
      if (isLoginUrl((page as Response & { finalUrl: string }).finalUrl)) {
        this.#loggedIn = false;
        continue;
      }
      if (page.status !== 200) throw new VrUnavailableError(`export page answered HTTP ${page.status}`);
      const download = await this.#fetch(EXPORT_DOWNLOAD, {
        headers: { referer: this.#url(EXPORT_PAGE) },
        signal: signal ?? AbortSignal.timeout(this.timeoutMs),
      });
      if (isLoginUrl((download as Response & { finalUrl: string }).finalUrl)) {
        await download.body?.cancel();
        this.#loggedIn = false;
        continue;
      }
      const type = download.headers.get('content-type') ?? '';
      if (download.status !== 200 || !download.body || type.includes('text/html')) {
        await download.body?.cancel();
        throw new VrUnavailableError(
          `export download answered HTTP ${download.status} (${type || 'no type'})`,
        );
      }
      return download.body as unknown as AsyncIterable<Uint8Array>;
    }
    throw new VrUnavailableError('V&R kept sending the export to its login page');
  }
}
