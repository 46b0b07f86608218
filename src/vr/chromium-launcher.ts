import type { Browser } from 'playwright-core';
import { chromiumEnvironment, ROOT_SANDBOX, sandboxFailure, sandboxPossible } from '../chromium.ts';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import { ChromiumSandboxError } from './errors.ts';

// Without the first ones, headless Chromium tries to reach Google's services at every start. The
// last one keeps navigator.webdriver false, as in a person's browser.
const CHROMIUM_ARGS = [
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--disable-blink-features=AutomationControlled',
];

/**
 * Chromium sends Sec-Fetch-* headers, which Cloudflare (and the simulator's gate) look for, only to
 * secure origins: https, or loopback. A simulator reached over plain HTTP by host name (the compose
 * demo's `http://simulator:8080`) is declared secure for this browser alone; the real site is
 * https and gets no such flag.
 */
export function chromiumArgs(baseUrl: string): string[] {
  const url = new URL(baseUrl);
  const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(url.hostname);
  if (url.protocol !== 'http:' || loopback) return CHROMIUM_ARGS;
  return [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${url.origin}`];
}

/** "Chrome/156.0.0.0", as Chrome itself reports its version: no HeadlessChrome in it. */
export function defaultUserAgent(browserVersion: string): string {
  const major = browserVersion.split('.')[0] || '120';
  return `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`;
}

export interface LaunchOptions {
  chromiumPath: string;
  headed: boolean;
  /** The site the browser is for: its arguments, and whether an unsandboxed browser is allowed. */
  baseUrl: string;
  /** Chromium may run without its sandbox (sandboxOptional). */
  allowNoSandbox: boolean;
  /** A virtual display (Xvfb) for a headed browser. */
  display?: string;
}

/**
 * Launches Chromium as the workers run it: the site's arguments, a minimal environment, no
 * automation flag, its sandbox unless that is impossible and allowed (else ChromiumSandboxError,
 * for a person). `said` keeps what was logged once per session across relaunches.
 */
export async function launchChromium(o: LaunchOptions, logger: Logger, said: Set<string>): Promise<Browser> {
  const sandbox = sandboxPossible();
  if (!sandbox && !o.allowNoSandbox) throw new ChromiumSandboxError(ROOT_SANDBOX);
  if (!sandbox && !said.has('root')) {
    said.add('root');
    // Over http (the simulator) it is how root runs; on a real site it was asked for: said louder.
    const real = o.baseUrl.startsWith('https:');
    logger[real ? 'warn' : 'info'](
      real
        ? 'Chromium runs without its sandbox (as root), as CHROMIUM_NO_SANDBOX=on allows'
        : 'Chromium runs without its sandbox (as root): allowed for this http site; a real site needs CHROMIUM_NO_SANDBOX=on',
    );
  }
  logger.info({ event: LOG_EVENT.browserLaunch, chromium: o.chromiumPath, sandbox }, 'launching Chromium');
  try {
    return await launch(o, sandbox);
  } catch (error) {
    if (!sandbox || !/sandbox/i.test((error as Error).message)) throw error;
    // Chromium's sandbox needs user namespaces, which a container's default seccomp profile
    // refuses: compose.yaml gives the workers a profile that allows them.
    const reason = (error as Error).message.split('\n')[0]!;
    if (!o.allowNoSandbox) throw new ChromiumSandboxError(sandboxFailure(reason));
    if (!said.has('fallback')) {
      said.add('fallback');
      logger.error(
        { err: reason },
        "Chromium can't use its sandbox here: running it without, as CHROMIUM_NO_SANDBOX=on allows. In Docker, give the container the seccomp profile from compose.yaml (see docs/operations.md)",
      );
    }
    return launch(o, false);
  }
}

async function launch(o: LaunchOptions, sandbox: boolean): Promise<Browser> {
  // Imported when a browser is launched: playwright-core takes about 0.6 s of CPU to load, which
  // the processes that never launch one (the API, most CLI commands) need not pay.
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: o.chromiumPath,
    headless: !o.headed,
    args: chromiumArgs(o.baseUrl),
    chromiumSandbox: sandbox,
    env: chromiumEnvironment(process.env, o.display),
    // "Chrome is being controlled by automated test software" is no part of a person's browser.
    ignoreDefaultArgs: ['--enable-automation'],
    // Our own signal handling finishes the current listing first; Playwright's would kill
    // Chromium mid-submit.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
}
