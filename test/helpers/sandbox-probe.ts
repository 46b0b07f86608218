/** Launches Chromium as the workers do and prints what chrome://sandbox says, as JSON. */
import { silentLogger } from '../../src/logger.ts';
import { BrowserSession } from '../../src/vr/browser-session.ts';

const session = new BrowserSession({
  site: { baseUrl: 'http://127.0.0.1:9', username: 'probe', password: 'probe' },
  chromiumPath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  pageTimeoutMs: 20_000,
  logger: silentLogger,
  challengeWaitMs: 1_000,
});
try {
  const page = await session.page();
  await page.goto('chrome://sandbox');
  process.stdout.write(
    JSON.stringify({ uid: process.getuid?.(), text: await page.evaluate('document.body.innerText') }),
  );
} finally {
  await session.close();
}
