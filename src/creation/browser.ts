import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { VrSite } from '../config.ts';
import type { Logger } from '../logger.ts';
import { isLoginUrl, isRetryableStatus, VrLoginError, VrUnavailableError } from '../vr/errors.ts';

// Without these, headless Chromium tries to reach Google's services at every start.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export interface BrowserSessionOptions {
  site: VrSite;
  chromiumPath: string;
  pageTimeoutMs: number;
  logger: Logger;
}

/**
 * One Chromium and one logged-in context, kept across jobs. A crashed browser is relaunched on the
 * next call; an expired V&R session is renewed by logging in again.
 */
export class BrowserSession {
  #browser: Browser | undefined;
  #context: BrowserContext | undefined;
  #page: Page | undefined;
  #loggedIn = false;
  #closed = false;
  /** The login in progress: callers running side by side (page and AJAX) share one. */
  #loggingIn: Promise<void> | undefined;
  #launching: Promise<void> | undefined;
  /** Bumped on every login, so a caller can tell the session was already renewed. */
  #sessionGeneration = 0;
  logins = 0;

  /** The logger of the job in hand (one at a time), so that launch and login lines name the job. */
  jobLogger: Logger | undefined;

  constructor(private readonly options: BrowserSessionOptions) {}

  get #log(): Logger {
    return this.jobLogger ?? this.options.logger;
  }

  get site(): VrSite {
    return this.options.site;
  }

  url(path: string): string {
    return new URL(path, `${this.options.site.baseUrl}/`).toString();
  }

  /** The page jobs run in, launching or relaunching the browser when needed. */
  async page(): Promise<Page> {
    if (this.#closed) throw new Error('browser session is closed');
    if (!this.#browser?.isConnected()) {
      this.#launching ??= this.#launch().finally(() => {
        this.#launching = undefined;
      });
      await this.#launching;
    }
    if (!this.#page || this.#page.isClosed()) {
      this.#page = await this.#context!.newPage();
      this.#page.setDefaultTimeout(this.options.pageTimeoutMs);
      this.#page.setDefaultNavigationTimeout(this.options.pageTimeoutMs);
    }
    return this.#page;
  }

  async #launch(): Promise<void> {
    await this.#closeBrowser();
    this.#log.info({ chromium: this.options.chromiumPath }, 'launching Chromium');
    const browser = await chromium.launch({
      executablePath: this.options.chromiumPath,
      headless: true,
      args: CHROMIUM_ARGS,
      // Our own signal handling finishes the current listing first; Playwright's would kill
      // Chromium mid-submit.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    if (this.#closed) {
      // Closed while Chromium was starting (a warm-up cut short by shutdown): don't leave it running.
      await browser.close().catch(() => {});
      throw new Error('browser session is closed');
    }
    browser.on('disconnected', () => {
      if (this.#browser === browser) {
        this.#browser = undefined;
        this.#loggedIn = false;
      }
    });
    this.#browser = browser;
    this.#context = await browser.newContext({ baseURL: `${this.options.site.baseUrl}/` });
    this.#page = undefined;
    this.#loggedIn = false;
  }

  /** Logs in unless the session is already known to be good. */
  async ensureLoggedIn(): Promise<void> {
    if (this.#loggedIn && this.#browser?.isConnected()) return;
    this.#loggingIn ??= this.login().finally(() => {
      this.#loggingIn = undefined;
    });
    await this.#loggingIn;
  }

  /** Marks the session as expired, so the next ensureLoggedIn logs in again. */
  expire(): void {
    this.#loggedIn = false;
  }

  async login(): Promise<void> {
    await this.page();
    const request = this.#context!.request;
    // GET / first, as a browser would: V&R sets its cookies there.
    const home = await request.get(this.url('/'), { timeout: this.options.pageTimeoutMs });
    if (isRetryableStatus(home.status()))
      throw new VrUnavailableError(`V&R home page answered ${home.status()}`);
    const response = await request.post(this.url('/do_login'), {
      form: { username: this.options.site.username, pass: this.options.site.password, open_where: 'header' },
      timeout: this.options.pageTimeoutMs,
    });
    if (isRetryableStatus(response.status()))
      throw new VrUnavailableError(`V&R login answered ${response.status()}`);
    const body = await response.text();
    if (new URL(response.url()).pathname.startsWith('/account') || /\bLogout\b/.test(body)) {
      this.#loggedIn = true;
      this.#sessionGeneration += 1;
      this.logins += 1;
      this.#log.info('logged in to V&R');
      return;
    }
    if (isLoginUrl(response.url()) || /id="login_form"/.test(body)) {
      throw new VrLoginError('V&R refused the login: check VR_USERNAME and VR_PASSWORD');
    }
    throw new VrUnavailableError(
      `unexpected page after login: ${response.url()} (HTTP ${response.status()})`,
    );
  }

  /**
   * Runs `step`, logging in first; when V&R sends us to its login page (session expired), logs in
   * again and runs the step once more.
   */
  async withLogin<T>(step: (page: Page) => Promise<T | typeof SESSION_EXPIRED>): Promise<T> {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await this.ensureLoggedIn();
      const generation = this.#sessionGeneration;
      const result = await step(await this.page());
      if (result !== SESSION_EXPIRED) return result;
      // A step beside this one may have logged in again already: then just retry.
      if (generation !== this.#sessionGeneration) continue;
      this.#log.info('V&R session expired; logging in again');
      this.expire();
    }
    throw new VrUnavailableError('V&R kept sending us to its login page');
  }

  /** POSTs a form with the session's cookies, as the site's own AJAX calls do. */
  async postForm(
    path: string,
    form: Record<string, string>,
  ): Promise<{ status: number; url: string; text: string }> {
    await this.page();
    const response = await this.#context!.request.post(this.url(path), {
      form,
      headers: { 'X-Requested-With': 'XMLHttpRequest' },
      timeout: this.options.pageTimeoutMs,
    });
    return { status: response.status(), url: response.url(), text: await response.text() };
  }

  /** Closes the current page (one stuck on a request that never answers); the next job opens a new one. */
  async discardPage(): Promise<void> {
    const page = this.#page;
    this.#page = undefined;
    await page?.close().catch(() => {});
  }

  async #closeBrowser(): Promise<void> {
    const browser = this.#browser;
    this.#browser = undefined;
    this.#context = undefined;
    this.#page = undefined;
    if (browser) await browser.close().catch(() => {});
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#closeBrowser();
  }
}

/** What a step returns when V&R sent it to the login page. */
export const SESSION_EXPIRED = Symbol('session expired');
