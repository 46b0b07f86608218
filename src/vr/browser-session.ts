import type { BrowserContext, Page, Response } from 'playwright-core';
import type { VrSite } from '../config.ts';
import { withTimeout } from '../lifecycle.ts';
import { LOG_EVENT } from '../log-events.ts';
import { jobLoggerOr, type Logger } from '../logger.ts';
import { ChallengeWatch, ClearanceClock, onChallenge, waitOutChallenge } from './challenge.ts';
import { isRetryableStatus, PERSON_NEEDED, VrUnavailableError } from './errors.ts';
import { fetchInPage, type PageFetchResult } from './in-page-fetch.ts';
import { loginOnPage } from './login.ts';
import { acceptConsent, isChallengePage, isChallengeResponse, readPageSession } from './page-session.ts';
import { type BrowserSessionOptions, SessionBrowser } from './session-browser.ts';
import { SiteHold } from './site-hold.ts';
import type { SiteState } from './site-state.ts';
import { runLoggedIn, type SESSION_EXPIRED } from './with-login.ts';

export { CLEARANCE_COOKIE, CLEARANCE_RENEW_MARGIN_MS } from './challenge.ts';
export type { BrowserSessionOptions } from './session-browser.ts';
export { BLOCKED_RECHECK_MS, type SiteStateChange } from './site-hold.ts';
export { SESSION_EXPIRED } from './with-login.ts';

/**
 * One Chromium and one V&R context, kept across jobs. Every request to V&R is the browser's own:
 * pages, the AJAX calls (a fetch inside a V&R page) and the export download. The session (cookies,
 * cf_clearance included, and the User-Agent they were issued to) comes from the shared store and
 * goes back to it after every login and every challenge passed. A façade over its units: the
 * browser and its stored session (session-browser.ts), V&R's state (site-hold.ts), the challenge
 * (challenge.ts), the login (login.ts) and in-page requests (in-page-fetch.ts).
 */
export class BrowserSession {
  readonly #hold: SiteHold;
  readonly #browser: SessionBrowser;
  readonly #challenges = new ChallengeWatch();
  readonly #clearance = new ClearanceClock();
  #page: Page | undefined;
  #ajaxPage: Page | undefined;
  #loggedIn = false;
  /** The login in progress: callers running side by side (page and AJAX) share one. */
  #loggingIn: Promise<void> | undefined;
  /** Bumped on every login, so a caller can tell the session was already renewed. */
  #sessionGeneration = 0;
  /** Logins this browser made (not counting sessions taken from the store). */
  logins = 0;
  challengesPassed = 0;

  /**
   * Called around a login, so that whoever records the page (a Playwright trace) can stop while
   * the password is typed.
   */
  onLoginStart: (() => Promise<void>) | undefined;
  onLoginEnd: (() => Promise<void>) | undefined;

  constructor(private readonly options: BrowserSessionOptions) {
    this.#hold = new SiteHold(options.logger, options.onSiteState);
    this.#browser = new SessionBrowser({
      ...options,
      needPerson: (error) => this.#hold.needPerson(error),
      onReset: () => {
        this.#page = undefined;
        this.#ajaxPage = undefined;
        this.#loggedIn = false;
      },
    });
  }

  /** The job's logger when called for one (withJobLogger), so that launch and login lines name it. */
  get #log(): Logger {
    return jobLoggerOr(this.options.logger);
  }

  get site(): VrSite {
    return this.options.site;
  }

  /** Blocked by Cloudflare or refused at login, as this process last saw it. */
  get siteState(): SiteState {
    return this.#hold.state;
  }

  /** The User-Agent the context presents (the stored session's when there is one). */
  get userAgent(): string | undefined {
    return this.#browser.userAgent;
  }

  url(path: string): string {
    return new URL(path, `${this.options.site.baseUrl}/`).toString();
  }

  /** The page jobs run in, launching or relaunching the browser when needed. */
  async page(): Promise<Page> {
    const context = await this.#browser.context();
    if (!this.#page || this.#page.isClosed()) this.#page = await this.#open(context);
    return this.#page;
  }

  /** A page of its own (closed by the caller), e.g. for the export beside a job's page. */
  async newPage(): Promise<Page> {
    return this.#open(await this.#browser.context());
  }

  async #open(context: BrowserContext): Promise<Page> {
    const page = this.#challenges.watch(await context.newPage());
    page.setDefaultTimeout(this.options.pageTimeoutMs);
    page.setDefaultNavigationTimeout(this.options.pageTimeoutMs);
    return page;
  }

  /** The browser context, e.g. for a Playwright trace of a step. */
  async context(): Promise<BrowserContext> {
    return this.#browser.context();
  }

  /**
   * Goes to a V&R page the way a person's browser does: a Cloudflare challenge gets
   * VR_CHALLENGE_WAIT_MS to clear (VrBlockedError if it doesn't), and the consent banner is
   * clicked away. Returns the response, or null when a challenge came first.
   */
  async goto(page: Page, path: string): Promise<Response | null> {
    const response = await page.goto(this.url(path), { waitUntil: 'domcontentloaded' });
    if (isChallengeResponse(response) || (await isChallengePage(page))) {
      await this.passChallenge(page);
      await acceptConsent(page);
      return null;
    }
    await acceptConsent(page);
    return response;
  }

  /** True when the page in hand is Cloudflare's challenge. */
  async onChallenge(page: Page): Promise<boolean> {
    return onChallenge(page);
  }

  /**
   * Waits for the challenge on `page` to clear by itself (Cloudflare's script, or a person's click
   * in a visible browser); stores the session when it did, and counts V&R as blocked when not.
   */
  async passChallenge(page: Page): Promise<void> {
    const waitMs = this.options.challengeWaitMs;
    if (await waitOutChallenge(page, waitMs, this.#log)) {
      this.challengesPassed += 1;
      await this.#browser.save('challenge');
      return;
    }
    this.#block(
      `Cloudflare's challenge did not clear within ${Math.round(waitMs / 1000)} s. ${PERSON_NEEDED} (or \`vr-lister session import FILE\` with cookies from your own browser)`,
    );
  }

  #block(detail: string): never {
    this.#loggedIn = false;
    return this.#hold.block(detail, this.#browser.loadedGeneration);
  }

  #markOk(): void {
    this.#hold.markOk();
    this.#loggedIn = true;
  }

  /** Logs in unless the session is already known to be good. */
  async ensureLoggedIn(): Promise<void> {
    if (this.#loggedIn && this.#browser.connected) {
      if (!(await this.#clearance.renewDue(this.#browser.current, this.options.site.baseUrl, this.#log)))
        return;
      this.#loggedIn = false;
    }
    this.#loggingIn ??= this.#establish().finally(() => {
      this.#loggingIn = undefined;
    });
    await this.#loggingIn;
  }

  /** Marks the session as expired, so the next ensureLoggedIn looks again (and logs in if it must). */
  expire(): void {
    this.#loggedIn = false;
  }

  async #establish(): Promise<void> {
    await this.#browser.context();
    await this.#hold.check(() => this.#browser.storedGeneration());
    await this.#browser.adoptNewer();
    if (await this.#homeSaysLoggedIn()) return this.#markOk();
    const store = this.options.store;
    const login = async () => {
      // Another process may have logged in while this one waited for the lock: use its session.
      if ((await this.#browser.adoptNewer()) && (await this.#homeSaysLoggedIn())) return this.#markOk();
      await this.#loginOnPage();
    };
    await (store ? store.withLoginLock(login) : login());
  }

  async #homeSaysLoggedIn(): Promise<boolean> {
    const page = await this.page();
    await this.#home(page);
    return (await readPageSession(page)).loggedIn;
  }

  /** V&R's home page in `page`; VrUnavailableError when V&R answers "not now". */
  async #home(page: Page): Promise<void> {
    const status = (await this.goto(page, '/'))?.status() ?? 200;
    if (isRetryableStatus(status)) throw new VrUnavailableError(`V&R's home page answered HTTP ${status}`);
  }

  /**
   * `vr-lister login`: from a blank browser, waits for the challenge (a person may click it), logs
   * in, checks it on the page, and stores the session.
   */
  async loginNow(): Promise<void> {
    if (await this.#homeSaysLoggedIn()) {
      await this.#browser.save('login');
      return this.#markOk();
    }
    await this.#loginOnPage();
  }

  /** Logs in with the header's pop-up form (login.ts), and holds or stores what came of it. */
  async #loginOnPage(): Promise<void> {
    const page = await this.page();
    const outcome = await loginOnPage(page, {
      site: this.options.site,
      pageTimeoutMs: this.options.pageTimeoutMs,
      log: this.#log,
      goto: (p, path) => this.goto(p, path),
      passChallenge: (p) => this.passChallenge(p),
      onLoginStart: this.onLoginStart,
      onLoginEnd: this.onLoginEnd,
    });
    if (outcome.kind === 'already') return this.#markOk();
    if (outcome.kind === 'refused') {
      const detail = `V&R refused the login for user ${this.options.site.username}: check VR_USERNAME and VR_PASSWORD (${outcome.seen.slice(0, 200)})`;
      this.#loggedIn = false;
      const evidence = async () => this.options.onLoginRefused?.(page);
      return this.#hold.refuse(detail, this.#browser.loadedGeneration, evidence);
    }
    this.logins += 1;
    this.#sessionGeneration += 1;
    this.#log.info({ event: LOG_EVENT.loggedIn }, 'logged in to V&R');
    await this.#browser.save('login');
    this.#markOk();
  }

  /** Runs `step` logged in, once more after a login or a challenge met on the way (with-login.ts). */
  async withLogin<T>(step: (page: Page) => Promise<T | typeof SESSION_EXPIRED>): Promise<T> {
    return runLoggedIn(step, {
      ensureLoggedIn: () => this.ensureLoggedIn(),
      page: () => this.page(),
      generation: () => this.#sessionGeneration,
      challenged: (page, since) => this.#challenges.challenged(page, since),
      passChallenge: (page) => this.passChallenge(page),
      expire: () => this.expire(),
      log: this.#log,
    });
  }

  /**
   * POSTs a form from inside a V&R page, as the site's own AJAX calls do: same origin, the
   * browser's cookies and headers. Runs in a page of its own, so that it can go beside the page a
   * job is filling in.
   */
  async fetchForm(path: string, form: Record<string, string>): Promise<PageFetchResult> {
    for (let attempt = 0; ; attempt += 1) {
      const page = await this.#ajax();
      const result = await fetchInPage(page, { path, form, timeoutMs: this.options.pageTimeoutMs });
      if (!result.challenge) return result;
      if (attempt > 0)
        this.#block(`Cloudflare challenged ${path} again right after passing. ${PERSON_NEEDED}`);
      // cf_clearance ran out: a page load passes the challenge (or says we're blocked).
      await this.goto(page, '/');
    }
  }

  async #ajax(): Promise<Page> {
    const context = await this.#browser.context();
    if (!this.#ajaxPage || this.#ajaxPage.isClosed()) {
      const page = await this.#open(context);
      this.#ajaxPage = page;
      try {
        await this.#home(page);
      } catch (error) {
        this.#ajaxPage = undefined;
        // a page that failed to open: already gone is fine
        await page.close().catch(() => {});
        throw error;
      }
    }
    return this.#ajaxPage;
  }

  /** Closes the current page (one stuck on a request that never answers); the next job opens a new one. */
  async discardPage(): Promise<void> {
    const page = this.#page;
    this.#page = undefined;
    // Already gone is fine; a page whose request hangs may take long to close: not waited past 10 s.
    if (page) await withTimeout(page.close(), 10_000, 'closing the page').catch(() => {});
  }

  async close(): Promise<void> {
    await this.#browser.close();
  }
}
