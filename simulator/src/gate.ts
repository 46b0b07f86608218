/**
 * A Cloudflare-like gate in front of every site route (the `/__sim/*` test routes stay outside).
 *
 * - A request without the `sec-fetch-site`, `sec-fetch-mode` and `sec-fetch-dest` headers that
 *   only a browser sends is refused, cookie or not. That stands in for the TLS fingerprint Node's
 *   network stack can't fake: Node `fetch` and Playwright's `context.request` are refused, as on
 *   the real site.
 * - A browser without a valid `cf_clearance` (issued by the gate, bound to the User-Agent, not
 *   expired) gets the "Just a moment..." page. Its script posts from the page to the challenge
 *   route (`auto`: by itself; `interactive`: after a person ticks the box), gets the cookie, and
 *   reloads.
 * - `headlessBlock` also refuses a browser whose `navigator.webdriver` is true, or whose
 *   User-Agent says HeadlessChrome.
 */
import { randomBytes } from 'node:crypto';
import { parseCookies, type Req, type Res, readJson, send, sendJson } from './http.ts';
import { challengePage } from './pages.ts';

export type CloudflareMode = 'off' | 'auto' | 'interactive';
export const CLOUDFLARE_MODES: readonly CloudflareMode[] = ['off', 'auto', 'interactive'];

export interface GateOptions {
  mode: CloudflareMode;
  headlessBlock: boolean;
  /** Lifetime of a `cf_clearance` from its issue; 0 = a year. */
  clearanceTtlMs: number;
  /** How long the `auto` challenge page "verifies" before passing by itself. */
  challengePassMs: number;
}

export interface GateCounters {
  /** Requests refused because they came from outside a browser (no `sec-fetch-*` headers). */
  refusedRequests: number;
  /** Challenge pages served to browsers without a valid clearance. */
  challenges: number;
  /** `cf_clearance` cookies issued (by a passed challenge or the test hook). */
  clearances: number;
  /** Challenge passes refused because the browser gave automation away (`headlessBlock`). */
  headlessBlocked: number;
}

export const CHALLENGE_PATH_PREFIX = '/cdn-cgi/challenge-platform/h/b/flow/ov1/';
export const CLEARANCE_COOKIE = 'cf_clearance';
const TOKEN_TTL_MS = 5 * 60_000;
const YEAR_MS = 365 * 86_400_000;

export interface CookieForBrowser {
  name: string;
  value: string;
  domain: string;
  path: string;
  /** Unix time in seconds, as Playwright's cookies have it. */
  expires: number;
}

export interface Gate {
  readonly mode: CloudflareMode;
  /** True when the request may go on to the site; otherwise the answer has been sent. */
  admit(req: Req, res: Res, url: URL): boolean;
  /** `POST <CHALLENGE_PATH_PREFIX><token>`: the page's script passing the challenge. */
  isChallengeRoute(method: string, path: string): boolean;
  passChallenge(req: Req, res: Res, url: URL): Promise<void>;
  /** The test hook: a clearance a person could have copied out of their own browser. */
  issueForUserAgent(userAgent: string, host: string): CookieForBrowser;
  /** Forgets every clearance issued so far (a test can make the next request a challenge). */
  revokeAll(): number;
}

interface Clearance {
  userAgent: string;
  expiresAt: number;
}

interface Token {
  userAgent: string;
  issuedAt: number;
}

function hasBrowserHeaders(req: Req): boolean {
  const h = req.headers;
  return Boolean(h['sec-fetch-site'] && h['sec-fetch-mode'] && h['sec-fetch-dest']);
}

function userAgentOf(req: Req): string {
  return req.headers['user-agent'] ?? '';
}

export function createGate(options: GateOptions, counters: GateCounters): Gate {
  const clearances = new Map<string, Clearance>();
  const tokens = new Map<string, Token>();

  function ttl(): number {
    return options.clearanceTtlMs > 0 ? options.clearanceTtlMs : YEAR_MS;
  }

  function issue(userAgent: string): { value: string; expiresAt: number } {
    const value = `${randomBytes(24).toString('base64url')}-${Math.floor(Date.now() / 1000)}-1.2.1.1`;
    const expiresAt = Date.now() + ttl();
    clearances.set(value, { userAgent, expiresAt });
    counters.clearances++;
    return { value, expiresAt };
  }

  function hasClearance(req: Req): boolean {
    const value = parseCookies(req.headers.cookie).get(CLEARANCE_COOKIE);
    if (!value) return false;
    const c = clearances.get(value);
    if (!c) return false;
    if (c.expiresAt <= Date.now()) {
      clearances.delete(value);
      return false;
    }
    return c.userAgent === userAgentOf(req);
  }

  function challenge(req: Req, res: Res, url: URL): void {
    const token = randomBytes(16).toString('hex');
    const now = Date.now();
    for (const [k, t] of tokens) if (now - t.issuedAt > TOKEN_TTL_MS) tokens.delete(k);
    tokens.set(token, { userAgent: userAgentOf(req), issuedAt: now });
    // After passing, a GET is reloaded; anything else (a form POST) goes back to where it came from.
    const method = req.method ?? 'GET';
    const after = method === 'GET' ? url.pathname + url.search : (req.headers.referer ?? '/');
    send(
      res,
      403,
      'text/html; charset=UTF-8',
      challengePage({
        host: req.headers.host ?? 'localhost',
        token,
        interactive: options.mode === 'interactive',
        after,
        passAfterMs: options.challengePassMs,
      }),
      {
        'cf-mitigated': 'challenge',
        server: 'cloudflare',
        'cf-ray': `${randomBytes(8).toString('hex')}-LHR`,
        'cache-control': 'private, max-age=0, no-store, no-cache, must-revalidate',
      },
    );
  }

  return {
    get mode() {
      return options.mode;
    },
    admit(req, res, url) {
      if (options.mode === 'off') return true;
      if (!hasBrowserHeaders(req)) {
        counters.refusedRequests++;
        challenge(req, res, url);
        return false;
      }
      if (hasClearance(req)) return true;
      counters.challenges++;
      challenge(req, res, url);
      return false;
    },
    isChallengeRoute(method, path) {
      return options.mode !== 'off' && method === 'POST' && path.startsWith(CHALLENGE_PATH_PREFIX);
    },
    async passChallenge(req, res, url) {
      if (!hasBrowserHeaders(req) || req.headers['sec-fetch-site'] !== 'same-origin') {
        counters.refusedRequests++;
        challenge(req, res, url);
        return;
      }
      const body = await readJson(req);
      const key = url.pathname.slice(CHALLENGE_PATH_PREFIX.length);
      const token = tokens.get(key);
      tokens.delete(key);
      const userAgent = userAgentOf(req);
      if (!token || token.userAgent !== userAgent || Date.now() - token.issuedAt > TOKEN_TTL_MS) {
        sendJson(res, 403, { ok: false, error: 'challenge expired, reload the page' });
        return;
      }
      if (options.mode === 'interactive' && body.interactive !== true) {
        sendJson(res, 403, { ok: false, error: 'verification needs a person' });
        return;
      }
      if (options.headlessBlock && (body.webdriver === true || /HeadlessChrome/i.test(userAgent))) {
        counters.headlessBlocked++;
        sendJson(res, 403, { ok: false, error: 'Sorry, you have been blocked' });
        return;
      }
      const { value } = issue(userAgent);
      sendJson(
        res,
        200,
        { ok: true },
        {
          'set-cookie': `${CLEARANCE_COOKIE}=${value}; Path=/; Max-Age=${Math.max(1, Math.ceil(ttl() / 1000))}; HttpOnly; SameSite=Lax`,
        },
      );
    },
    issueForUserAgent(userAgent, host) {
      const { value, expiresAt } = issue(userAgent);
      return {
        name: CLEARANCE_COOKIE,
        value,
        domain: host.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''),
        path: '/',
        expires: Math.floor(expiresAt / 1000),
      };
    },
    revokeAll() {
      const n = clearances.size;
      clearances.clear();
      return n;
    },
  };
}
