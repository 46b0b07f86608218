/** The site's request dispatcher: test routes, the gate, maintenance, then the site's routes. */
import { doLogin, expiredLanding, LOGIN_FAILED_TEXT, sessionCookie } from './auth-routes.ts';
import { findBrand, suggestBrands } from './brands.ts';
import { formPage, type SiteContext, sendMaintenance } from './context.ts';
import { download } from './export-routes.ts';
import { editForm, publish, saveEdit, subCategories, upload } from './form-routes.ts';
import { HTML, parseCookies, type Req, type Res, readUrlEncoded, redirect, send } from './http.ts';
import {
  accountPage,
  escapeHtml,
  exportPage,
  homePage,
  layout,
  loginPage,
  notFoundPage,
  SITE_CSS,
  suggestionsHtml,
} from './pages.ts';
import { ADD_ITEM_JS, siteScript } from './scripts.ts';
import { changeStock, stockAction } from './stock-routes.ts';
import { handleTestRoute } from './test-routes.ts';

export type { SiteContext, SiteOptions } from './context.ts';

const STATIC_CACHE = { 'cache-control': 'public, max-age=3600' };

export function createSite(ctx: SiteContext): (req: Req, res: Res) => Promise<void> {
  const { store, gate, variant: v, options: o } = ctx;
  const siteJs = siteScript(o.timeScale);
  return async function handle(req: Req, res: Res): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/__sim/')) {
      await handleTestRoute(ctx, req, res, url);
      return;
    }
    if (gate.isChallengeRoute(method, path)) {
      await gate.passChallenge(req, res, url);
      return;
    }
    if (!gate.admit(req, res, url)) return;
    if (store.isDown()) {
      // Maintenance: every route, login and export included, before any other logic.
      if (method === 'POST' && path === '/instruments/add_edit_item') store.counters.submissions++;
      sendMaintenance(ctx, res);
      return;
    }
    const now = Date.now();
    const sid = parseCookies(req.headers.cookie).get('PHPSESSID');
    let session = sid ? store.sessions.get(sid) : undefined;
    const loggedIn = store.isLoggedIn(session, now);

    // Static files and public pages.
    switch (`${method} ${path}`) {
      case 'GET /css/site.css':
        send(res, 200, 'text/css; charset=utf-8', SITE_CSS, STATIC_CACHE);
        return;
      case 'GET /js/site.js':
        send(res, 200, 'application/javascript; charset=utf-8', siteJs, STATIC_CACHE);
        return;
      case 'GET /js/add_item.js':
        send(res, 200, 'application/javascript; charset=utf-8', ADD_ITEM_JS, STATIC_CACHE);
        return;
      case 'GET /favicon.ico':
        res.writeHead(204).end();
        return;
      case 'GET /':
      case 'GET /login': {
        await ctx.delay(o.pageLatencyMs);
        const headers: string[] = [];
        if (!session) {
          session = store.newSession();
          headers.push(sessionCookie(session, false), 'vr_currency=GBP; Path=/');
        }
        const failed = url.searchParams.has('login_failed') ? LOGIN_FAILED_TEXT : session.flashLoginError;
        session.flashLoginError = undefined;
        const html =
          path === '/login' && !loggedIn
            ? loginPage(failed)
            : homePage({
                loggedIn,
                ...(failed && !loggedIn ? { popupOpen: true, loginError: failed } : {}),
              });
        send(res, 200, HTML, html, headers.length ? { 'set-cookie': headers } : {});
        return;
      }
      case 'POST /do_login':
        await doLogin(ctx, req, res, session, sid);
        return;
      case 'GET /logout':
        if (sid) store.sessions.delete(sid);
        redirect(res, '/', { 'set-cookie': 'PHPSESSID=deleted; Path=/; Max-Age=0; HttpOnly' });
        return;
    }
    if (method === 'GET' && /^\/product\/\d+$/.test(path)) {
      await ctx.delay(o.pageLatencyMs);
      const id = Number(path.slice('/product/'.length));
      const l = store.listings().find((x) => x.product_id === id && x.visible_from <= now && !x.deleted);
      if (!l) send(res, 404, HTML, notFoundPage(loggedIn));
      else
        send(
          res,
          200,
          HTML,
          layout(
            `${l.brand_name} ${l.product_model_name}`,
            `<h1>${escapeHtml(`${l.brand_name} ${l.product_model_name}`)}</h1>`,
            {
              loggedIn,
            },
          ),
        );
      return;
    }

    // Everything else needs a live session.
    if (!loggedIn || !session) {
      await ctx.delay(o.pageLatencyMs);
      expiredLanding(ctx, res, url);
      return;
    }
    switch (`${method} ${path}`) {
      case 'GET /account':
        await ctx.delay(o.pageLatencyMs);
        send(res, 200, HTML, accountPage(session.username ?? o.username));
        return;
      case 'GET /account/items':
        // The seller's list: where V&R's mark-sold and delete calls are made from (their Referer).
        await ctx.delay(o.pageLatencyMs);
        send(res, 200, HTML, accountPage(session.username ?? o.username));
        return;
      case 'GET /instruments/add_edit_item': {
        store.counters.formLoads++;
        await ctx.delay(o.pageLatencyMs);
        const published = session.flashPublished === true;
        session.flashPublished = false;
        send(res, 200, HTML, formPage(ctx, { published }));
        return;
      }
      case 'POST /instruments/add_edit_item':
        await publish(ctx, req, res, session);
        return;
      case 'POST /ajax/check_brand_exists': {
        const body = await readUrlEncoded(req);
        store.counters.brandChecks++;
        await ctx.delay(o.ajaxLatencyMs);
        send(res, 200, 'text/plain; charset=utf-8', String(findBrand(body.get('brand_name') ?? '')?.id ?? 0));
        return;
      }
      case 'POST /ajax/get_suggested_brands_name': {
        const body = await readUrlEncoded(req);
        await ctx.delay(o.ajaxLatencyMs);
        send(res, 200, HTML, suggestionsHtml(suggestBrands(body.get('str') ?? ''), v));
        return;
      }
      case 'POST /ajax/get_sub_categories':
        await subCategories(ctx, req, res);
        return;
      case 'GET /instruments/export_inventory':
        session.exportPageAt = Date.now();
        await ctx.delay(o.pageLatencyMs);
        send(res, 200, HTML, exportPage());
        return;
      case 'GET /instruments/export_inventory/export_inventory':
        await download(ctx, req, res, session);
        return;
    }
    const editMatch = /^\/instruments\/add_edit_item\/(\d+)$/.exec(path);
    if (editMatch && method === 'GET') {
      await editForm(ctx, res, Number(editMatch[1]));
      return;
    }
    if (editMatch && method === 'POST') {
      await saveEdit(ctx, req, res, Number(editMatch[1]));
      return;
    }
    const stock = stockAction(method, path);
    if (stock) {
      await changeStock(ctx, req, res, stock);
      return;
    }
    const uploadMatch = method === 'POST' ? /^\/ajax\/dropzone_upload\/(\d+)$/.exec(path) : null;
    if (uploadMatch) {
      await upload(ctx, req, res, session, uploadMatch[1]!);
      return;
    }
    await ctx.delay(o.pageLatencyMs);
    send(res, 404, HTML, notFoundPage(true));
  };
}
