/**
 * Launches Chromium as the workers do and prints, as JSON, what chrome://sandbox says and the names
 * of the variables in the browser process's environment (/proc/<pid>/environ).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { silentLogger } from '../../src/logger.ts';
import { BrowserSession } from '../../src/vr/browser-session.ts';

/** The Chromium processes this one started: children whose name says so. */
function chromiumChildren(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // pid (comm) state ppid …: comm may hold spaces, so read after its closing parenthesis.
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === process.pid && /chrom/i.test(stat);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

const session = new BrowserSession({
  site: { baseUrl: 'http://127.0.0.1:9', username: 'probe', password: 'probe' },
  chromiumPath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  pageTimeoutMs: 20_000,
  logger: silentLogger,
  challengeWaitMs: 1_000,
  // The point is the sandbox: fail rather than run without it.
  allowNoSandbox: false,
});
try {
  const page = await session.page();
  await page.goto('chrome://sandbox');
  const environ = chromiumChildren().map((pid) =>
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((entry) => entry.slice(0, entry.indexOf('='))),
  );
  process.stdout.write(
    JSON.stringify({
      uid: process.getuid?.(),
      text: await page.evaluate('document.body.innerText'),
      environ,
    }),
  );
} finally {
  await session.close();
}
