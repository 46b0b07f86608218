import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig, requireVrSite } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { createLogger } from '../logger.ts';
import { CookieImportError, cookiesForSite, parseCookieFile } from '../vr/cookie-import.ts';
import { VrBlockedError, VrLoginError } from '../vr/errors.ts';
import { openBrowserSession, sessionStore } from '../vr/open-session.ts';
import { out, positiveInt, UsageError } from './common.ts';

/** A person's action failed in a way they can fix: said plainly, exit status 1. */
export class PersonActionError extends Error {
  override name = 'PersonActionError';
}

/** `vr-lister login [--headed] [--timeout S]`. */
export async function commandLogin(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      headed: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '300' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  const timeoutMs = positiveInt(values.timeout, '--timeout') * 1000;
  const config = loadConfig();
  const site = requireVrSite(config);
  const logger = createLogger(config.logLevel);
  const database = connectDatabase(config.databaseUrl, { max: 2 });
  const headed = values.headed || config.vrHeaded;
  const session = openBrowserSession({
    config: { ...config, pageTimeoutMs: Math.max(config.pageTimeoutMs, Math.min(timeoutMs, 120_000)) },
    site,
    database,
    logger,
    headed,
    challengeWaitMs: timeoutMs,
    fresh: true,
  });
  if (!values.json) {
    out(
      headed
        ? `Opening Chromium on ${site.baseUrl}: if Cloudflare asks, click its checkbox (waiting up to ${timeoutMs / 1000} s).`
        : `Opening headless Chromium on ${site.baseUrl} (a challenge that needs a click needs --headed).`,
    );
  }
  try {
    await session.loginNow();
  } catch (error) {
    if (error instanceof VrBlockedError) {
      throw new PersonActionError(
        `Cloudflare's challenge did not clear within ${timeoutMs / 1000} s${headed ? '' : ': run `vr-lister login --headed` (under xvfb-run, or on a desktop) and click it'}`,
      );
    }
    if (error instanceof VrLoginError) throw new PersonActionError(error.message);
    throw error;
  } finally {
    await session.close();
  }
  const store = sessionStore(config, site, database);
  const generation = await store.generation();
  await database.close();
  if (values.json)
    out(JSON.stringify({ ok: true, user: site.username, generation, encrypted: store.encrypts }));
  else {
    out(
      `Logged in to V&R as ${site.username}; session stored (generation ${generation}${store.encrypts ? ', encrypted' : ', not encrypted: set VR_SESSION_KEY'}).`,
    );
    out('Workers waiting for a person go on within seconds.');
  }
}

/** `vr-lister session import FILE [--user-agent UA]`. */
export async function commandSession(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'import') throw new UsageError('usage: vr-lister session import FILE [--user-agent UA]');
  const { values, positionals } = parseArgs({
    args: rest,
    options: { 'user-agent': { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const file = positionals[0];
  if (!file || positionals.length > 1) {
    throw new UsageError('usage: vr-lister session import FILE [--user-agent UA]');
  }
  const config = loadConfig();
  const site = requireVrSite(config);
  const userAgent = values['user-agent'] ?? config.vrUserAgent;
  if (!userAgent) {
    throw new UsageError(
      '--user-agent is required (or VR_USER_AGENT): cf_clearance only works with the User-Agent of the browser it came from (that browser shows it as navigator.userAgent)',
    );
  }
  if (/headless/i.test(userAgent)) throw new UsageError('--user-agent must not say Headless');
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  let parsed: ReturnType<typeof parseCookieFile>;
  try {
    parsed = parseCookieFile(text);
  } catch (error) {
    if (error instanceof CookieImportError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
  const state = cookiesForSite(parsed.state, site.baseUrl);
  const host = new URL(site.baseUrl).hostname;
  if (!state.cookies.length) {
    throw new UsageError(`${file}: no cookie for ${host} in this ${parsed.format} (nothing stored)`);
  }
  const names = state.cookies.map((c) => c.name);
  const database = connectDatabase(config.databaseUrl, { max: 2 });
  let generation: number;
  try {
    generation = await sessionStore(config, site, database).save(state, userAgent, 'import');
  } finally {
    await database.close();
  }
  // Cookie names only: a value is a credential.
  if (values.json) out(JSON.stringify({ ok: true, format: parsed.format, host, cookies: names, generation }));
  else {
    out(
      `Stored ${names.length} cookie(s) for ${host} from a ${parsed.format} (generation ${generation}): ${names.join(', ')}.`,
    );
    if (!names.includes('cf_clearance'))
      out('Note: no cf_clearance among them; Cloudflare may challenge again.');
    out('Workers waiting for a person go on within seconds.');
  }
}
