import type { Page } from 'playwright-core';

/**
 * Counts the page's own requests in flight (fetch and XMLHttpRequest, same origin only: analytics
 * and long-polling widgets elsewhere must not keep the form "busy") and the last change to the
 * add form's DOM, so that "the page has settled" can be waited for without a fixed sleep. Installed
 * once per page; the form filler and the category cascade reader share it.
 */
const PROBE = `(() => {
  if (window.__vrProbe) return true;
  const probe = { pending: 0, last: performance.now() };
  window.__vrProbe = probe;
  const touch = () => { probe.last = performance.now(); };
  const sameOrigin = (url) => {
    try { return new URL(String(url), location.href).origin === location.origin; } catch (e) { return false; }
  };
  const begin = () => { probe.pending += 1; touch(); };
  const end = () => { probe.pending = Math.max(0, probe.pending - 1); touch(); };
  if (typeof window.fetch === 'function') {
    const original = window.fetch;
    window.fetch = function (input) {
      const url = typeof input === 'string' || input instanceof URL ? input : input && input.url;
      if (!sameOrigin(url)) return original.apply(this, arguments);
      begin();
      const result = original.apply(this, arguments);
      result.then(end, end);
      return result;
    };
  }
  const open = XMLHttpRequest.prototype.open;
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__vrSameOrigin = sameOrigin(url);
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    if (this.__vrSameOrigin) {
      begin();
      this.addEventListener('loadend', end, { once: true });
    }
    return send.apply(this, arguments);
  };
  new MutationObserver(touch).observe(document.querySelector('form#frm_step1') || document.body, {
    subtree: true, childList: true, attributes: true, characterData: true,
  });
  return true;
})()`;

/** True once no request of the page's is in flight and the form has not changed for `quietMs`. */
export const SETTLED = `(quietMs) => {
  const p = window.__vrProbe;
  return !p || (p.pending === 0 && performance.now() - p.last >= quietMs);
}`;

export async function installSettleProbe(page: Page): Promise<void> {
  await page.evaluate(PROBE);
}

/** Whether the page is settled right now (false when the page can't answer). */
export async function isPageSettled(page: Page, quietMs: number): Promise<boolean> {
  return Boolean(await page.evaluate(`(${SETTLED})(${quietMs})`).catch(() => false));
}

/** Waits until the page is settled; throws Playwright's timeout error after `timeoutMs`. */
export async function waitPageSettled(page: Page, quietMs: number, timeoutMs: number): Promise<void> {
  await page.waitForFunction(`(${SETTLED})(${quietMs})`, undefined, { timeout: timeoutMs, polling: 15 });
}
