import type { StorageState } from './session-store.ts';

type Cookie = StorageState['cookies'][number];

/** The file isn't cookies we can use; the message names what is wrong (never a cookie's value). */
export class CookieImportError extends Error {
  override name = 'CookieImportError';
}

function sameSite(value: unknown): Cookie['sameSite'] {
  const v = String(value ?? '').toLowerCase();
  if (v === 'strict') return 'Strict';
  if (v === 'none' || v === 'no_restriction') return 'None';
  return 'Lax';
}

/** A cookie as browser extensions export them (Cookie-Editor, EditThisCookie, …), or Playwright's. */
function fromJson(raw: unknown, index: number): Cookie {
  if (typeof raw !== 'object' || raw === null) throw new CookieImportError(`cookie ${index}: not an object`);
  const c = raw as Record<string, unknown>;
  for (const field of ['name', 'value', 'domain'] as const) {
    if (typeof c[field] !== 'string') throw new CookieImportError(`cookie ${index}: no ${field}`);
  }
  const expiry = c.expires ?? c.expirationDate;
  const session = c.session === true || expiry === undefined || expiry === null || Number(expiry) <= 0;
  let domain = c.domain as string;
  // An extension marks a host-only cookie with hostOnly; Playwright marks a domain cookie with a dot.
  if (c.hostOnly === false && !domain.startsWith('.')) domain = `.${domain}`;
  if (c.hostOnly === true) domain = domain.replace(/^\./, '');
  return {
    name: c.name as string,
    value: c.value as string,
    domain,
    path: typeof c.path === 'string' && c.path ? c.path : '/',
    expires: session ? -1 : Math.floor(Number(expiry)),
    httpOnly: c.httpOnly === true,
    secure: c.secure === true,
    sameSite: sameSite(c.sameSite),
  };
}

/** Netscape `cookies.txt`: domain, subdomains flag, path, secure, expiry, name, value; `#HttpOnly_` marks HttpOnly. */
function fromNetscape(text: string): Cookie[] {
  const cookies: Cookie[] = [];
  for (const [i, rawLine] of text.split(/\r?\n/).entries()) {
    let line = rawLine;
    let httpOnly = false;
    if (line.startsWith('#HttpOnly_')) {
      httpOnly = true;
      line = line.slice('#HttpOnly_'.length);
    } else if (line.startsWith('#') || line.trim() === '') continue;
    const fields = line.split('\t');
    if (fields.length < 7) {
      throw new CookieImportError(`line ${i + 1}: expected 7 tab-separated fields, got ${fields.length}`);
    }
    const [domain, , path, secure, expiry, name, ...value] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
      ...string[],
    ];
    const expires = Number(expiry);
    cookies.push({
      name,
      value: value.join('\t'),
      domain,
      path: path || '/',
      expires: Number.isFinite(expires) && expires > 0 ? expires : -1,
      httpOnly,
      secure: secure.toUpperCase() === 'TRUE',
      sameSite: 'Lax',
    });
  }
  return cookies;
}

/**
 * Reads cookies copied out of a person's browser: a Playwright storage state, a JSON cookie list
 * as browser extensions export it, or a Netscape cookies.txt.
 */
export function parseCookieFile(text: string): { format: string; state: StorageState } {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      // V8's message quotes the text around the fault: the file's own cookies. Say where, not what.
      const position = /position (\d+)/.exec((error as Error).message)?.[1];
      throw new CookieImportError(`not valid JSON${position ? ` (at character ${position})` : ''}`);
    }
    if (Array.isArray(value)) {
      return { format: 'JSON cookie list', state: { cookies: value.map(fromJson), origins: [] } };
    }
    const object = value as Record<string, unknown>;
    if (!Array.isArray(object.cookies)) {
      throw new CookieImportError('a JSON object without a "cookies" list: not a Playwright storage state');
    }
    return {
      format: 'Playwright storage state',
      state: {
        cookies: object.cookies.map(fromJson),
        origins: Array.isArray(object.origins) ? (object.origins as StorageState['origins']) : [],
      },
    };
  }
  return { format: 'Netscape cookies.txt', state: { cookies: fromNetscape(text), origins: [] } };
}

/** Does a cookie for `domain` go to `host`? */
export function cookieMatchesHost(domain: string, host: string): boolean {
  const d = domain.replace(/^\./, '').toLowerCase();
  const h = host.toLowerCase();
  return h === d || h.endsWith(`.${d}`);
}

/** Only the site's cookies are kept: a browser's export holds every site the person visited. */
export function cookiesForSite(state: StorageState, baseUrl: string): StorageState {
  const url = new URL(baseUrl);
  return {
    cookies: state.cookies.filter((c) => cookieMatchesHost(c.domain, url.hostname)),
    origins: state.origins.filter((o) => o.origin === url.origin),
  };
}
