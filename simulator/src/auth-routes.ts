/** Login, logout and what a request without a session gets (per variant). */

import type { SiteContext } from './context.ts';
import { HTML, type Req, type Res, readUrlEncoded, redirect, send } from './http.ts';
import { layout, loginPage } from './pages.ts';
import type { Session } from './state.ts';

export const LOGIN_FAILED_TEXT = 'Invalid username or password.';

export function sessionCookie(s: Session, keep: boolean): string {
  return `PHPSESSID=${s.id}; Path=/; HttpOnly${keep ? `; Max-Age=${30 * 86_400}` : ''}`;
}

/** Same-origin Referer, or undefined. */
function refererPath(req: Req): URL | undefined {
  const referer = req.headers.referer;
  if (!referer) return undefined;
  try {
    const u = new URL(referer);
    return u.host === req.headers.host ? u : undefined;
  } catch {
    return undefined;
  }
}

/** Pages a failed login can't land back on: they need a session. */
const PROTECTED_PREFIXES = ['/account', '/instruments', '/ajax'];

/** What a request gets without a live session, per variant. */
export function expiredLanding(ctx: SiteContext, res: Res, url: URL): void {
  const v = ctx.variant;
  switch (v.expiredSession) {
    case 'home':
      redirect(res, '/');
      return;
    case 'login-page':
      redirect(res, `/login?redirect=${encodeURIComponent(url.pathname + url.search)}`);
      return;
    case 'same-url-popup':
      send(
        res,
        200,
        HTML,
        layout('Please sign in', '<h1>Please sign in</h1><p>You need to be signed in to see this page.</p>', {
          loggedIn: false,
          popupOpen: true,
        }),
      );
      return;
  }
}

export async function doLogin(
  ctx: SiteContext,
  req: Req,
  res: Res,
  session: Session | undefined,
  sid: string | undefined,
): Promise<void> {
  const { store, variant: v, options: o } = ctx;
  const body = await readUrlEncoded(req);
  await ctx.delay(o.pageLatencyMs);
  const user = body.get('username') ?? '';
  if ((user === o.username || user === `${o.username}@example.com`) && body.get('pass') === o.password) {
    if (sid) store.sessions.delete(sid);
    const s = store.newSession();
    s.username = o.username;
    s.loggedInAt = Date.now();
    store.counters.logins++;
    redirect(res, '/account', { 'set-cookie': sessionCookie(s, body.get('keep_me_signed') === '1') });
    return;
  }
  store.counters.failedLogins++;
  switch (v.failedLogin) {
    case 'same-url-login-failed': {
      const from = refererPath(req);
      const protectedPath = from && PROTECTED_PREFIXES.some((p) => from.pathname.startsWith(p));
      const target = from && !protectedPath ? new URL(from) : new URL('/', 'http://x');
      target.searchParams.set('login_failed', '1');
      redirect(res, target.pathname + target.search);
      return;
    }
    case 'login-page':
      send(res, 200, HTML, loginPage(LOGIN_FAILED_TEXT));
      return;
    case 'home-popup': {
      const s = session ?? store.newSession();
      s.flashLoginError = LOGIN_FAILED_TEXT;
      redirect(res, '/', session ? {} : { 'set-cookie': sessionCookie(s, false) });
      return;
    }
  }
}
