import type { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { sandboxOptional } from '../chromium.ts';
import type { Config, VrSite } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { BrowserSession, type SiteStateChange } from './browser-session.ts';
import { SessionStore } from './session-store.ts';
import { writeSiteState } from './site-state.ts';

export interface OpenSessionOptions {
  config: Config;
  site: VrSite;
  database: Pick<Database, 'db' | 'url'>;
  logger: Logger;
  /** Where V&R's state (blocked, login refused) is published for status, watch and /metrics. */
  redis?: Redis;
  headed?: boolean;
  challengeWaitMs?: number;
  fresh?: boolean;
  onSiteState?: (change: SiteStateChange) => void;
  onLoginRefused?: (page: Page) => Promise<void>;
  /** BrowserSessionOptions.browser: a Chromium launched already, shared (tests). */
  browser?: Browser;
}

/** The session store for this site's account. */
export function sessionStore(
  config: Config,
  site: VrSite,
  database: Pick<Database, 'db' | 'url'>,
): SessionStore {
  return new SessionStore(database, site.username, config.vrSessionKey);
}

let plaintextSaid = false;

/** A browser session on the shared store, publishing V&R's state through Redis. */
export function openBrowserSession(o: OpenSessionOptions): BrowserSession {
  const { config, redis, logger } = o;
  if (!config.vrSessionKey && !plaintextSaid) {
    // Only over http (the simulator, a test site): config refuses a real site without a key.
    plaintextSaid = true;
    logger.info(
      { site: o.site.baseUrl },
      'VR_SESSION_KEY is not set: the V&R session is stored in Postgres unencrypted (a real, https site requires the key)',
    );
  }
  return new BrowserSession({
    site: o.site,
    chromiumPath: config.chromiumPath,
    pageTimeoutMs: config.pageTimeoutMs,
    logger,
    challengeWaitMs: o.challengeWaitMs ?? config.challengeWaitMs,
    store: sessionStore(config, o.site, o.database),
    headed: o.headed ?? config.vrHeaded,
    allowNoSandbox: sandboxOptional(config, o.site.baseUrl),
    userAgent: config.vrUserAgent,
    fresh: o.fresh,
    onLoginRefused: o.onLoginRefused,
    browser: o.browser,
    onSiteState: (change) => {
      o.onSiteState?.(change);
      if (!redis) return;
      writeSiteState(redis, config.queuePrefix, change.state, change.detail).catch((error) =>
        logger.warn({ err: error }, 'could not publish V&R state to Redis'),
      );
    },
  });
}
