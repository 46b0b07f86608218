import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import type { VrSite } from '../config.ts';
import { LOG_EVENT } from '../log-events.ts';
import { jobLoggerOr, type Logger } from '../logger.ts';
import { defaultUserAgent, launchChromium } from './chromium-launcher.ts';
import {
  ChromiumSandboxError,
  isRetryableStatus,
  type NeedsPersonError,
  PERSON_NEEDED,
  VrBlockedError,
  VrLoginError,
  VrUnavailableError,
} from './errors.ts';
import { fetchInPage, type PageFetchResult } from './in-page-fetch.ts';
import { fillLoginForm, loginFormErrors, submitLoginForm } from './login-form.ts';
import { acceptConsent, isChallengePage, isChallengeResponse, readPageSession } from './page-session.ts';
import { SessionKeyError, type SessionSource, type SessionStore } from './session-store.ts';
import type { SiteState } from './site-state.ts';
import { startXvfb, type VirtualDisplay } from './xvfb.ts';

/** Cloudflare's clearance cookie. */
export const CLEARANCE_COOKIE = 'cf_clearance';
/** A cf_clearance closer than this to its expiry is renewed before the next step. */
export const CLEARANCE_RENEW_MARGIN_MS = 60_000;

/** While blocked, how often a worker looks at the site again by itself (a new stored session is seen at once). */
export const BLOCKED_RECHECK_MS = 60_000;

export interface SiteStateChange {
  state: SiteState;
  detail: string;
}

export interface BrowserSessionOptions {
  site: VrSite;
  chromiumPath: string;
  pageTimeoutMs: number;
  logger: Logger;
  /** How long Cloudflare's challenge gets to clear by itself (VR_CHALLENGE_WAIT_MS). */
  challengeWaitMs: number;
  /** The session shared by every process; without it the session lives and dies with this browser. */
  store?: SessionStore;
  /** A visible browser (VR_HEADED=on); needs a display. */
  headed?: boolean;
  /** Chromium may run without its sandbox (sandboxOptional); otherwise that is refused. */
  allowNoSandbox?: boolean;
  /** VR_USER_AGENT: for a session we start; a stored session keeps the User-Agent it was issued to. */
  userAgent?: string;
  /** Start from a blank browser, not from the stored session (`vr-lister login`). */
  fresh?: boolean;
  /** Told when V&R's state changes (blocked, login refused, fine again). */
  onSiteState?: (change: SiteStateChange) => void;
  /** Given the page on which V&R refused the login, to keep it as evidence. */
  onLoginRefused?: (page: Page) => Promise<void>;
  /**
   * An already-launched Chromium (tests share one per file): the session opens its own context on
   * it, and close() closes only that context, never the browser.
   */
  browser?: Browser;
}

interface Held {
  /** The stored session's generation when it happened: a newer one is a reason to try again. */
  generation: number;
  at: number;
  detail: string;
}

/**
 * One Chromium and one V&R context, kept across jobs. Every request to V&R is the browser's own:
 * pages, the AJAX calls (a fetch inside a V&R page) and the export download. The session (cookies,
 * cf_clearance included, and the User-Agent they were issued to) comes from the shared store and
 * goes back to it after every login and every challenge passed.
 */
export class BrowserSession {
  #browser: Browser | undefined;
  #context: BrowserContext | undefined;
  #page: Page | undefined;
  #ajaxPage: Page | undefined;
  #userAgent: string | undefined;
  #loggedIn = false;
  #closed = false;
  /** The stored session's generation this context was built from or last wrote; 0 for none. */
  #loadedGeneration = 0;
  #blocked: Held | undefined;
  #refused: Held | undefined;
  #reported: SiteState | undefined;
  /** What the launcher has said once already (running without the sandbox). */
  #launchNotes = new Set<string>();
  /** What stopped this session until a person acts (the key, the sandbox); cleared by a good login. */
  #personNeeded: NeedsPersonError | undefined;
  #display: VirtualDisplay | undefined;
  #challengedAt = new WeakMap<Page, number>();
  /** When the cf_clearance in hand was first seen, to tell how long such a cookie lives. */
  #clearanceSeen: { value: string; at: number } | undefined;
  /** The login in progress: callers running side by side (page and AJAX) share one. */
  #loggingIn: Promise<void> | undefined;
  #launching: Promise<void> | undefined;
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

  constructor(private readonly options: BrowserSessionOptions) {}

  /** The job's logger when called for one (withJobLogger), so that launch and login lines name it. */
  get #log(): Logger {
    return jobLoggerOr(this.options.logger);
  }

  get site(): VrSite {
    return this.options.site;
  }

  /** Blocked by Cloudflare or refused at login, as this process last saw it. */
  get siteState(): SiteState {
    if (this.#personNeeded) return this.#personNeeded.state;
    if (this.#refused) return 'login_refused';
    if (this.#blocked) return 'blocked';
    return 'ok';
  }

  /** The User-Agent the context presents (the stored session's when there is one). */
  get userAgent(): string | undefined {
    return this.#userAgent;
  }

  url(path: string): string {
    return new URL(path, `${this.options.site.baseUrl}/`).toString();
  }

  /** The page jobs run in, launching or relaunching the browser when needed. */
  async page(): Promise<Page> {
    await this.#ensureBrowser();
    if (!this.#page || this.#page.isClosed()) {
      this.#page = this.#watched(await this.#context!.newPage());
      this.#page.setDefaultTimeout(this.options.pageTimeoutMs);
      this.#page.setDefaultNavigationTimeout(this.options.pageTimeoutMs);
    }
    return this.#page;
  }

  /** A page of its own (closed by the caller), e.g. for the export beside a job's page. */
  async newPage(): Promise<Page> {
    await this.#ensureBrowser();
    const page = this.#watched(await this.#context!.newPage());
    page.setDefaultTimeout(this.options.pageTimeoutMs);
    page.setDefaultNavigationTimeout(this.options.pageTimeoutMs);
    return page;
  }

  /**
   * Notes every challenge the page's own navigations meet: in `auto` mode it clears in
   * milliseconds, so by the time a step fails on it the page may look normal again.
   */
  #watched(page: Page): Page {
    page.on('response', (response) => {
      if (isChallengeResponse(response) && response.request().isNavigationRequest()) {
        this.#challengedAt.set(page, Date.now());
      }
    });
    return page;
  }

  /** The page met a challenge since `since`, or shows one now. */
  async #challenged(page: Page, since: number): Promise<boolean> {
    if ((this.#challengedAt.get(page) ?? 0) >= since) return true;
    return this.onChallenge(page);
  }

  /** The browser context, e.g. for a Playwright trace of a step. */
  async context(): Promise<BrowserContext> {
    await this.#ensureBrowser();
    return this.#context!;
  }

  async #ensureBrowser(): Promise<void> {
    if (this.#closed) throw new Error('browser session is closed');
    if (this.#browser?.isConnected() && this.#context) return;
    this.#launching ??= this.#launch().finally(() => {
      this.#launching = undefined;
    });
    await this.#launching;
  }

  async #launch(): Promise<void> {
    await this.#closeBrowser();
    const given = this.options.browser;
    if (given) {
      if (!given.isConnected()) throw new Error('the browser given to this session has closed');
      this.#browser = given;
      await this.#newContext(!this.options.fresh);
      return;
    }
    if (this.options.headed && !process.env.DISPLAY && !this.#display) {
      // No screen (a container, a server): a virtual one, when Xvfb is installed.
      this.#display = await startXvfb();
      if (!this.#display) {
        throw new Error('VR_HEADED=on needs a display: install Xvfb, run under xvfb-run, or set DISPLAY');
      }
    }
    let browser: Browser;
    try {
      browser = await launchChromium(
        {
          chromiumPath: this.options.chromiumPath,
          headed: Boolean(this.options.headed),
          baseUrl: this.options.site.baseUrl,
          allowNoSandbox: Boolean(this.options.allowNoSandbox),
          display: this.#display?.display,
        },
        this.#log,
        this.#launchNotes,
      );
    } catch (error) {
      throw error instanceof ChromiumSandboxError ? this.#needPerson(error) : error;
    }
    if (this.#closed) {
      // Closed while Chromium was starting (a warm-up cut short by shutdown): don't leave it running.
      // closing what nobody will use; already gone is fine
      await browser.close().catch(() => {});
      throw new Error('browser session is closed');
    }
    browser.on('disconnected', () => {
      if (this.#browser === browser) {
        this.#browser = undefined;
        this.#context = undefined;
        this.#loggedIn = false;
      }
    });
    this.#browser = browser;
    await this.#newContext(!this.options.fresh);
  }

  /** A new context, from the stored session unless `fromStore` is false. */
  async #newContext(fromStore: boolean): Promise<void> {
    const stored = fromStore
      ? await this.options.store?.load().catch((error: unknown) => {
          throw error instanceof SessionKeyError ? this.#needPerson(error) : error;
        })
      : undefined;
    const userAgent =
      stored?.userAgent ?? this.options.userAgent ?? defaultUserAgent(this.#browser!.version());
    const old = this.#context;
    this.#context = undefined;
    this.#page = undefined;
    this.#ajaxPage = undefined;
    this.#loggedIn = false;
    // the old context: already gone is fine
    await old?.close().catch(() => {});
    this.#context = await this.#browser!.newContext({
      baseURL: `${this.options.site.baseUrl}/`,
      userAgent,
      storageState: stored?.state,
      viewport: { width: 1366, height: 900 },
      acceptDownloads: true,
    });
    this.#userAgent = userAgent;
    this.#loadedGeneration = stored?.generation ?? 0;
    if (stored)
      this.#log.info(
        { generation: stored.generation, source: stored.source },
        'using the stored V&R session',
      );
  }

  /**
   * Goes to a V&R page the way a person's browser does: a Cloudflare challenge gets
   * VR_CHALLENGE_WAIT_MS to clear (VrBlockedError if it doesn't), and the consent banner is
   * clicked away. Returns the response, or null when a challenge came first.
   */
  async goto(page: Page, path: string): Promise<Response | null> {
    const response = await page.goto(this.url(path), { waitUntil: 'domcontentloaded' });
    if (isChallengeResponse(response) || (await isChallengePage(page))) {
      await this.#passChallenge(page);
      await acceptConsent(page);
      return null;
    }
    await acceptConsent(page);
    return response;
  }

  /** True when the page in hand is Cloudflare's challenge. */
  async onChallenge(page: Page): Promise<boolean> {
    return !page.isClosed() && (await isChallengePage(page));
  }

  /**
   * Waits for the challenge on `page` to clear by itself (Cloudflare's script, or a person's click
   * in a visible browser); stores the session when it did, and counts V&R as blocked when not.
   */
  async passChallenge(page: Page): Promise<void> {
    await this.#passChallenge(page);
  }

  async #passChallenge(page: Page): Promise<void> {
    const waitMs = this.options.challengeWaitMs;
    this.#log.info({ waitMs }, 'Cloudflare challenge: waiting for it to clear');
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && !page.isClosed()) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      if (await isChallengePage(page)) continue;
      // The challenge reloads the page it stood in for: make sure that one is there.
      // the next check sees whatever page is there
      await page.waitForLoadState('domcontentloaded').catch(() => {});
      if (await isChallengePage(page)) continue;
      const title = await page.title().catch(() => '');
      if (!title && page.url() === 'about:blank') continue;
      this.challengesPassed += 1;
      this.#log.info({ event: LOG_EVENT.challengePassed }, 'Cloudflare challenge passed');
      await this.#save('challenge');
      return;
    }
    await this.#block(
      `Cloudflare's challenge did not clear within ${Math.round(waitMs / 1000)} s. ${PERSON_NEEDED} (or \`vr-lister session import FILE\` with cookies from your own browser)`,
    );
  }

  async #block(detail: string): Promise<never> {
    const first = !this.#blocked;
    this.#blocked = { generation: this.#loadedGeneration, at: Date.now(), detail };
    this.#loggedIn = false;
    if (first) this.options.logger.error({ event: LOG_EVENT.blocked }, detail);
    this.#report('blocked', detail);
    throw new VrBlockedError(detail);
  }

  /** A state only a person can end: said once, loudly, and reported; returned to be thrown. */
  #needPerson<E extends NeedsPersonError>(error: E): E {
    if (this.#reported !== error.state)
      this.options.logger.error({ event: LOG_EVENT.personNeeded, state: error.state }, error.message);
    this.#personNeeded = error;
    this.#report(error.state, error.message);
    return error;
  }

  #report(state: SiteState, detail: string): void {
    if (this.#reported === state) return;
    this.#reported = state;
    this.options.onSiteState?.({ state, detail });
  }

  #markOk(): void {
    if (this.#blocked || this.#refused) this.options.logger.info('V&R session is good again');
    this.#blocked = undefined;
    this.#refused = undefined;
    this.#personNeeded = undefined;
    this.#loggedIn = true;
    this.#report('ok', 'logged in');
  }

  /**
   * Writes the context's state to the store: the next process (or this one, relaunched) starts from
   * it. A login is always written (it happens under the login lock). A passed challenge is written
   * only over the session this context was made from: another process may have logged in meanwhile,
   * and a logged-out state written over its session would send every worker to log in again.
   */
  async #save(source: SessionSource): Promise<void> {
    const store = this.options.store;
    if (!store || !this.#context) return;
    const state = await this.#context.storageState();
    const generation =
      source === 'challenge'
        ? await store.save(state, this.#userAgent!, source, { onlyOver: this.#loadedGeneration })
        : await store.save(state, this.#userAgent!, source);
    if (generation === undefined) {
      this.#log.debug({ source }, 'a newer V&R session was stored meanwhile: kept it');
      return;
    }
    this.#loadedGeneration = generation;
    this.#log.info({ generation, source }, 'V&R session stored');
  }

  /** Uses a session another process stored since this context was made; true when it did. */
  async #adoptNewer(): Promise<boolean> {
    const store = this.options.store;
    if (!store) return false;
    const generation = await store.generation();
    if (generation <= this.#loadedGeneration) return false;
    this.#log.info({ generation }, 'a newer V&R session was stored: using it');
    await this.#newContext(true);
    return true;
  }

  /** Blocked or refused before: fail fast, unless a new session was stored or it is time to look again. */
  async #checkHeld(): Promise<void> {
    const held = this.#refused ?? this.#blocked;
    if (!held) return;
    const stored = (await this.options.store?.generation()) ?? 0;
    if (stored > held.generation) {
      this.#refused = undefined;
      this.#blocked = undefined;
      return;
    }
    if (this.#refused) throw new VrLoginError(this.#refused.detail);
    if (Date.now() - held.at < BLOCKED_RECHECK_MS) throw new VrBlockedError(held.detail);
  }

  /** Logs in unless the session is already known to be good. */
  async ensureLoggedIn(): Promise<void> {
    if (this.#loggedIn && this.#browser?.isConnected()) {
      if (!(await this.#clearanceRunningOut())) return;
      // Renewed now, between steps, rather than met at Publish, where a challenge makes the
      // outcome unknown.
      this.#log.info(
        { event: LOG_EVENT.clearanceRenewing },
        'cf_clearance runs out soon: passing the challenge again now',
      );
      // a clearance left in place is only renewed later
      await this.#context!.clearCookies({ name: CLEARANCE_COOKIE }).catch(() => {});
      this.#loggedIn = false;
    }
    this.#loggingIn ??= this.#establish().finally(() => {
      this.#loggingIn = undefined;
    });
    await this.#loggingIn;
  }

  /**
   * True when the cf_clearance cookie expires within a step's reach: a minute, or half of its
   * lifetime when it lives shorter than two.
   */
  async #clearanceRunningOut(): Promise<boolean> {
    const cookies = await this.#context?.cookies(this.options.site.baseUrl).catch(() => []);
    const clearance = cookies?.find((c) => c.name === CLEARANCE_COOKIE);
    if (!clearance || clearance.expires <= 0) return false;
    const now = Date.now();
    if (this.#clearanceSeen?.value !== clearance.value)
      this.#clearanceSeen = { value: clearance.value, at: now };
    const expiresAt = clearance.expires * 1000;
    const lifetime = expiresAt - this.#clearanceSeen.at;
    const margin = Math.min(CLEARANCE_RENEW_MARGIN_MS, lifetime / 2);
    return expiresAt - now < margin;
  }

  /** Marks the session as expired, so the next ensureLoggedIn looks again (and logs in if it must). */
  expire(): void {
    this.#loggedIn = false;
  }

  async #establish(): Promise<void> {
    await this.#ensureBrowser();
    await this.#checkHeld();
    await this.#adoptNewer();
    if (await this.#homeSaysLoggedIn()) return this.#markOk();
    const store = this.options.store;
    const login = async () => {
      // Another process may have logged in while this one waited for the lock: use its session.
      if ((await this.#adoptNewer()) && (await this.#homeSaysLoggedIn())) return this.#markOk();
      await this.#loginOnPage();
    };
    await (store ? store.withLoginLock(login) : login());
  }

  async #homeSaysLoggedIn(): Promise<boolean> {
    const page = await this.page();
    const response = await this.goto(page, '/');
    const status = response?.status() ?? 200;
    if (isRetryableStatus(status)) throw new VrUnavailableError(`V&R's home page answered HTTP ${status}`);
    return (await readPageSession(page)).loggedIn;
  }

  /**
   * `vr-lister login`: from a blank browser, waits for the challenge (a person may click it), logs
   * in, checks it on the page, and stores the session.
   */
  async loginNow(): Promise<void> {
    if (await this.#homeSaysLoggedIn()) {
      await this.#save('login');
      return this.#markOk();
    }
    await this.#loginOnPage();
  }

  /** Logs in with the header's pop-up form, as a person does, and decides the outcome from the page. */
  async #loginOnPage(): Promise<void> {
    const page = await this.page();
    if (!page.url().startsWith(this.options.site.baseUrl)) await this.goto(page, '/');
    let state = await readPageSession(page);
    if (state.loggedIn) return this.#markOk();
    if (!state.loginForm) {
      await this.goto(page, '/');
      state = await readPageSession(page);
      if (state.loggedIn) return this.#markOk();
      if (!state.loginForm) {
        throw new VrUnavailableError(`no login form on V&R's page ${page.url()} ("${state.title}")`);
      }
    }
    const { username, password } = this.options.site;
    this.#log.info('logging in to V&R');
    // a caller's hook (tracing): the login goes on without it
    await this.onLoginStart?.().catch(() => {});
    let navigation: { response: Response | null } | { error: Error };
    try {
      const navigated = page
        .waitForNavigation({ waitUntil: 'domcontentloaded', timeout: this.options.pageTimeoutMs })
        .then(
          (response) => ({ response }),
          (error: Error) => ({ error }),
        );
      const missing = await fillLoginForm(page, { username, password });
      if (missing) throw new VrUnavailableError(`V&R's login form has no ${missing} field`);
      await submitLoginForm(page);
      navigation = await navigated;
    } finally {
      // as above
      await this.onLoginEnd?.().catch(() => {});
    }
    if ('error' in navigation) {
      // No page came back: either the form's own validation stopped it, or V&R didn't answer.
      const errors = await loginFormErrors(page);
      if (errors.length) return this.#refuse(page, errors.join('; '));
      throw new VrUnavailableError(
        `V&R did not answer the login: ${navigation.error.message.split('\n')[0]}`,
      );
    }
    const { response } = navigation;
    if (isChallengeResponse(response) || (await isChallengePage(page))) await this.#passChallenge(page);
    else if (response && isRetryableStatus(response.status())) {
      throw new VrUnavailableError(`V&R's login answered HTTP ${response.status()}`);
    }
    await acceptConsent(page);
    const after = await readPageSession(page);
    if (!after.loggedIn) {
      const errors = await loginFormErrors(page);
      return this.#refuse(page, errors.join('; ') || `still logged out on "${after.title}"`);
    }
    this.logins += 1;
    this.#sessionGeneration += 1;
    this.#log.info({ event: LOG_EVENT.loggedIn }, 'logged in to V&R');
    await this.#save('login');
    this.#markOk();
  }

  async #refuse(page: Page, seen: string): Promise<never> {
    const detail = `V&R refused the login for user ${this.options.site.username}: check VR_USERNAME and VR_PASSWORD (${seen.slice(0, 200)})`;
    const first = !this.#refused;
    this.#refused = { generation: this.#loadedGeneration, at: Date.now(), detail };
    this.#loggedIn = false;
    if (first) {
      this.options.logger.error({ event: LOG_EVENT.loginRefused }, detail);
      // evidence is best effort: the refusal is said and held either way
      await this.options.onLoginRefused?.(page).catch(() => {});
    }
    this.#report('login_refused', detail);
    throw new VrLoginError(detail);
  }

  /**
   * Runs `step`, logged in first. When the step finds the session expired (it returns
   * SESSION_EXPIRED, having seen a logged-out page), logs in again and runs the step once more;
   * a challenge met in the middle of a step is waited out, then the step runs once more.
   */
  async withLogin<T>(step: (page: Page) => Promise<T | typeof SESSION_EXPIRED>): Promise<T> {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await this.ensureLoggedIn();
      const generation = this.#sessionGeneration;
      const page = await this.page();
      const started = Date.now();
      let result: T | typeof SESSION_EXPIRED;
      try {
        result = await step(page);
      } catch (error) {
        if (attempt === 0 && !(error instanceof VrBlockedError) && (await this.#challenged(page, started))) {
          await this.#passChallenge(page);
          continue;
        }
        throw error;
      }
      if (result !== SESSION_EXPIRED) return result;
      if (await this.#challenged(page, started)) {
        await this.#passChallenge(page);
        continue;
      }
      // A step beside this one may have logged in again already: then just retry.
      if (generation !== this.#sessionGeneration) continue;
      this.#log.info('V&R session expired; logging in again');
      this.expire();
    }
    throw new VrUnavailableError('V&R kept answering as if we were logged out');
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
      if (attempt > 0) {
        await this.#block(`Cloudflare challenged ${path} again right after passing. ${PERSON_NEEDED}`);
      }
      // cf_clearance ran out: a page load passes the challenge (or says we're blocked).
      await this.goto(page, '/');
    }
  }

  async #ajax(): Promise<Page> {
    await this.#ensureBrowser();
    if (!this.#ajaxPage || this.#ajaxPage.isClosed()) {
      const page = this.#watched(await this.#context!.newPage());
      page.setDefaultTimeout(this.options.pageTimeoutMs);
      page.setDefaultNavigationTimeout(this.options.pageTimeoutMs);
      this.#ajaxPage = page;
      try {
        const response = await this.goto(page, '/');
        const status = response?.status() ?? 200;
        if (isRetryableStatus(status))
          throw new VrUnavailableError(`V&R's home page answered HTTP ${status}`);
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
    // already gone is fine
    await page?.close().catch(() => {});
  }

  async #closeBrowser(): Promise<void> {
    const browser = this.#browser;
    const context = this.#context;
    this.#browser = undefined;
    this.#context = undefined;
    this.#page = undefined;
    this.#ajaxPage = undefined;
    // closing: already gone is fine
    if (browser && browser === this.options.browser) await context?.close().catch(() => {});
    else if (browser) await browser.close().catch(() => {});
  }

  async close(): Promise<void> {
    this.#closed = true;
    // its failure was the launching caller's to see
    await this.#launching?.catch(() => {});
    await this.#closeBrowser();
    this.#display?.stop();
  }
}

/** What a step returns when the page shows we are logged out. */
export const SESSION_EXPIRED = Symbol('session expired');
