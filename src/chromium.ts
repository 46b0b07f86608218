import { accessSync, constants, statSync } from 'node:fs';
import { type Config, ConfigError } from './config.ts';

/**
 * The first thing `start` and `worker create` do: without Chromium the creation side can't work,
 * so they stop with one line saying where they looked and how to fix it (the CLI exits 2). As root,
 * Chromium can't use its sandbox at all: for a real site that is refused too, unless
 * CHROMIUM_NO_SANDBOX=on (see sandboxOptional).
 */
export function requireChromium(
  config: Pick<Config, 'chromiumPath' | 'chromiumNoSandbox' | 'vrBaseUrl'>,
): void {
  const path = config.chromiumPath;
  let found = false;
  try {
    accessSync(path, constants.X_OK);
    found = statSync(path).isFile();
  } catch {}
  if (!found) {
    throw new ConfigError(
      `Chromium not found at ${path} (CHROMIUM_PATH): install it with \`sudo apt-get install chromium\`, or set CHROMIUM_PATH to the browser's executable`,
    );
  }
  if (!sandboxPossible() && !sandboxOptional(config, config.vrBaseUrl)) {
    throw new ConfigError(`Invalid configuration: CHROMIUM_NO_SANDBOX: ${ROOT_SANDBOX}`);
  }
}

export const ROOT_SANDBOX =
  "Chromium can't use its sandbox when run as root, and V&R's pages (and whatever they load) would run without it: run vr-lister as another user (the Docker image does), or set CHROMIUM_NO_SANDBOX=on to accept that";

/**
 * Whether Chromium may run without its sandbox: when the operator says so (CHROMIUM_NO_SANDBOX=on),
 * or when the site is not a real one (the simulator over http, whose pages are our own; no
 * `VR_BASE_URL` is the built-in one). A real site's pages never run in an unsandboxed browser
 * by default.
 */
export function sandboxOptional(
  config: Pick<Config, 'chromiumNoSandbox'>,
  siteUrl: string | undefined,
): boolean {
  return config.chromiumNoSandbox || !siteUrl?.startsWith('https:');
}

/** Chromium can use its sandbox unless it runs as root (it then refuses to start with it). */
export function sandboxPossible(): boolean {
  return process.getuid?.() !== 0;
}

/** What a sandbox failure at launch tells the operator (the launch is refused; see ChromiumSandboxError). */
export function sandboxFailure(reason: string): string {
  return `Chromium can't start in its sandbox here (${reason}): in Docker, give the container the seccomp profile from compose.yaml; or set CHROMIUM_NO_SANDBOX=on to run it without`;
}

/**
 * What Chromium may see of our environment: what it needs to run (a path, a home, a display,
 * a locale, a time zone, fonts, a temp dir) and nothing of ours. Our variables hold the V&R
 * password, the session key, the database and Redis URLs and the API token: a page that broke
 * out of the renderer would find them in /proc/<pid>/environ.
 */
const CHROMIUM_ENV = [
  'PATH',
  'HOME',
  'DISPLAY',
  'XAUTHORITY',
  'WAYLAND_DISPLAY',
  'XDG_RUNTIME_DIR',
  'XDG_CONFIG_HOME',
  'XDG_CACHE_HOME',
  'LANG',
  'LANGUAGE',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
  'FONTCONFIG_PATH',
  'FONTCONFIG_FILE',
] as const;

export function chromiumEnvironment(
  source: NodeJS.ProcessEnv = process.env,
  display?: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of CHROMIUM_ENV) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  if (display) env.DISPLAY = display;
  return env;
}
