import './globals.ts';

/**
 * Counts the page's own requests in flight (fetch and XMLHttpRequest, same origin only: analytics
 * and long-polling widgets elsewhere must not keep the form "busy") and the last change to the
 * add form's DOM, so that "the page has settled" can be waited for without a fixed sleep. Installed
 * once per page; the form filler and the category cascade reader share it.
 */
export function installProbe(): boolean {
  if (window.__vrProbe) return true;
  const probe = { pending: 0, last: performance.now() };
  window.__vrProbe = probe;
  // Methods, not named arrows: see globals.ts.
  const h = {
    touch() {
      probe.last = performance.now();
    },
    sameOrigin(url: unknown) {
      try {
        return new URL(String(url), location.href).origin === location.origin;
      } catch {
        return false;
      }
    },
    begin() {
      probe.pending += 1;
      h.touch();
    },
    end() {
      probe.pending = Math.max(0, probe.pending - 1);
      h.touch();
    },
  };
  if (typeof window.fetch === 'function') {
    const original = window.fetch;
    window.fetch = function (this: unknown, input: RequestInfo | URL) {
      const url = typeof input === 'string' || input instanceof URL ? input : input?.url;
      // biome-ignore lint/complexity/noArguments: the page's own call, passed on exactly as made
      if (!h.sameOrigin(url)) return original.apply(this, arguments as unknown as Parameters<typeof fetch>);
      h.begin();
      // biome-ignore lint/complexity/noArguments: as above
      const result = original.apply(this, arguments as unknown as Parameters<typeof fetch>);
      result.then(h.end, h.end);
      return result;
    } as typeof fetch;
  }
  const open = XMLHttpRequest.prototype.open;
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (this: XMLHttpRequest, _method: string, url: string | URL) {
    this.__vrSameOrigin = h.sameOrigin(url);
    // biome-ignore lint/complexity/noArguments: as above
    return open.apply(this, arguments as unknown as Parameters<typeof open>);
  } as typeof open;
  XMLHttpRequest.prototype.send = function (this: XMLHttpRequest) {
    if (this.__vrSameOrigin) {
      h.begin();
      this.addEventListener('loadend', h.end, { once: true });
    }
    // biome-ignore lint/complexity/noArguments: as above
    return send.apply(this, arguments as unknown as Parameters<typeof send>);
  };
  new MutationObserver(h.touch).observe(document.querySelector('form#frm_step1') || document.body, {
    subtree: true,
    childList: true,
    attributes: true,
    characterData: true,
  });
  return true;
}

/** True once no request of the page's is in flight and the form has not changed for `quietMs`. */
export function settled(quietMs: number): boolean {
  const p = window.__vrProbe;
  return !p || (p.pending === 0 && performance.now() - p.last >= quietMs);
}
