import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { VrSite } from '../config.ts';
import { jobLoggerOr, type Logger } from '../logger.ts';
import { defaultUserAgent, launchChromium } from './chromium-launcher.ts';
import { ChromiumSandboxError, type NeedsPersonError } from './errors.ts';
import { SessionKeyError, type SessionSource, type SessionStore } from './session-store.ts';
import type { SiteStateChange } from './site-hold.ts';
import { startXvfb, type VirtualDisplay } from './xvfb.ts';

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

interface SessionBrowserOptions extends BrowserSessionOptions {
  /** Said and reported once by the site state; returned to be thrown. */
  needPerson: <E extends NeedsPersonError>(error: E) => E;
  /** The context in hand went away (a new one, or the browser died): its pages and login with it. */
  onReset: () => void;
}

/**
 * The Chromium and the one V&R context a BrowserSession works in: launched on demand (a virtual
 * display for a headed browser without one), built from the shared session store, and written back
 * to it.
 */
export class SessionBrowser {
  #browser: Browser | undefined;
  #context: BrowserContext | undefined;
  #userAgent: string | undefined;
  #closed = false;
  /** The stored session's generation this context was built from or last wrote; 0 for none. */
  loadedGeneration = 0;
  /** What the launcher has said once already (running without the sandbox). */
  #launchNotes = new Set<string>();
  #display: VirtualDisplay | undefined;
  #launching: Promise<void> | undefined;

  constructor(private readonly o: SessionBrowserOptions) {}

  get #log(): Logger {
    return jobLoggerOr(this.o.logger);
  }

  get userAgent(): string | undefined {
    return this.#userAgent;
  }

  get connected(): boolean {
    return Boolean(this.#browser?.isConnected());
  }

  /** The context, launching or relaunching the browser when needed. */
  async context(): Promise<BrowserContext> {
    if (this.#closed) throw new Error('browser session is closed');
    if (!(this.#browser?.isConnected() && this.#context)) {
      this.#launching ??= this.#launch().finally(() => {
        this.#launching = undefined;
      });
      await this.#launching;
    }
    return this.#context!;
  }

  /** The context in hand, if any, without launching. */
  get current(): BrowserContext | undefined {
    return this.#context;
  }

  async #launch(): Promise<void> {
    await this.#closeBrowser();
    const given = this.o.browser;
    if (given) {
      if (!given.isConnected()) throw new Error('the browser given to this session has closed');
      this.#browser = given;
      await this.newContext(!this.o.fresh);
      return;
    }
    if (this.o.headed && !process.env.DISPLAY && !this.#display) {
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
          chromiumPath: this.o.chromiumPath,
          headed: Boolean(this.o.headed),
          baseUrl: this.o.site.baseUrl,
          allowNoSandbox: Boolean(this.o.allowNoSandbox),
          display: this.#display?.display,
        },
        this.#log,
        this.#launchNotes,
      );
    } catch (error) {
      throw error instanceof ChromiumSandboxError ? this.o.needPerson(error) : error;
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
        this.o.onReset();
      }
    });
    this.#browser = browser;
    await this.newContext(!this.o.fresh);
  }

  /** A new context, from the stored session unless `fromStore` is false. */
  async newContext(fromStore: boolean): Promise<void> {
    const stored = fromStore
      ? await this.o.store?.load().catch((error: unknown) => {
          throw error instanceof SessionKeyError ? this.o.needPerson(error) : error;
        })
      : undefined;
    const userAgent = stored?.userAgent ?? this.o.userAgent ?? defaultUserAgent(this.#browser!.version());
    const old = this.#context;
    this.#context = undefined;
    this.o.onReset();
    // the old context: already gone is fine
    await old?.close().catch(() => {});
    this.#context = await this.#browser!.newContext({
      baseURL: `${this.o.site.baseUrl}/`,
      userAgent,
      storageState: stored?.state,
      viewport: { width: 1366, height: 900 },
      acceptDownloads: true,
    });
    this.#userAgent = userAgent;
    this.loadedGeneration = stored?.generation ?? 0;
    if (stored)
      this.#log.info(
        { generation: stored.generation, source: stored.source },
        'using the stored V&R session',
      );
  }

  /**
   * Writes the context's state to the store: the next process (or this one, relaunched) starts from
   * it. A login is always written (it happens under the login lock). A passed challenge is written
   * only over the session this context was made from: another process may have logged in meanwhile,
   * and a logged-out state written over its session would send every worker to log in again.
   */
  async save(source: SessionSource): Promise<void> {
    const store = this.o.store;
    if (!store || !this.#context) return;
    const state = await this.#context.storageState();
    const generation =
      source === 'challenge'
        ? await store.save(state, this.#userAgent!, source, { onlyOver: this.loadedGeneration })
        : await store.save(state, this.#userAgent!, source);
    if (generation === undefined) {
      this.#log.debug({ source }, 'a newer V&R session was stored meanwhile: kept it');
      return;
    }
    this.loadedGeneration = generation;
    this.#log.info({ generation, source }, 'V&R session stored');
  }

  /** Uses a session another process stored since this context was made; true when it did. */
  async adoptNewer(): Promise<boolean> {
    const store = this.o.store;
    if (!store) return false;
    const generation = await store.generation();
    if (generation <= this.loadedGeneration) return false;
    this.#log.info({ generation }, 'a newer V&R session was stored: using it');
    await this.newContext(true);
    return true;
  }

  /** The stored session's generation (0 without a store). */
  async storedGeneration(): Promise<number> {
    return (await this.o.store?.generation()) ?? 0;
  }

  async #closeBrowser(): Promise<void> {
    const browser = this.#browser;
    const context = this.#context;
    this.#browser = undefined;
    this.#context = undefined;
    this.o.onReset();
    // closing: already gone is fine
    if (browser && browser === this.o.browser) await context?.close().catch(() => {});
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
