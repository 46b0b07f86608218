import { accessSync, constants, statSync } from 'node:fs';
import { ConfigError } from './config.ts';

/**
 * The first thing `start` and `worker create` do: without Chromium the creation side can't work,
 * so they stop with one line saying where they looked and how to fix it (the CLI exits 2).
 */
export function requireChromium(path: string): void {
  try {
    accessSync(path, constants.X_OK);
    if (statSync(path).isFile()) return;
  } catch {}
  throw new ConfigError(
    `Chromium not found at ${path} (CHROMIUM_PATH): install it with \`sudo apt-get install chromium\`, or set CHROMIUM_PATH to the browser's executable`,
  );
}
