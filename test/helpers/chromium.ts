import type { Browser, LaunchOptions } from 'playwright-core';
import { sandboxPossible } from '../../src/chromium.ts';
import { chromiumArgs } from '../../src/vr/chromium-launcher.ts';

/**
 * The tests' browser: Debian's chromium-headless-shell, the same Chromium build (Blink, V8, the
 * DevTools protocol) without the full browser around it, at about half the CPU per page (the
 * creation-form e2e: 87 s of CPU on /usr/bin/chromium, 45 s on the shell). The product's own
 * default, full Chromium in its new headless mode (what V&R's Cloudflare sees), is still what
 * `npm start` runs in test/e2e/start.test.ts, and what the bench measures.
 */
export const TEST_CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium-headless-shell';

/** Without the network flags, Chromium tries to reach Google's services at every start. */
export const TEST_CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** A headless Chromium for tests that drive a page themselves; `extraArgs` come after the usual ones. */
export async function launchTestChromium({
  extraArgs = [],
  ...options
}: LaunchOptions & { extraArgs?: string[] } = {}): Promise<Browser> {
  const { chromium } = await import('playwright-core'); // as the product's launcher: only when used
  return chromium.launch({
    executablePath: TEST_CHROMIUM_PATH,
    headless: true,
    args: [...TEST_CHROMIUM_ARGS, ...extraArgs],
    ...options,
  });
}

/**
 * A Chromium launched as BrowserSession launches its own (no automation flag, the product's
 * arguments), for a file's sessions and processes to share through their `browser` option.
 */
export async function launchSessionChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: TEST_CHROMIUM_PATH,
    headless: true,
    args: chromiumArgs('http://127.0.0.1'),
    chromiumSandbox: sandboxPossible(),
    ignoreDefaultArgs: ['--enable-automation'],
  });
}
