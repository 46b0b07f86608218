import '../../vr/page-scripts/globals.ts';

/** Publish's page scripts (run in V&R's page: see src/vr/page-scripts/globals.ts for their rules). */

export interface PageTexts {
  texts: Array<{ text: string; fields: string[] }>;
  invalid: string[];
  published: boolean;
  form: boolean;
  /** Still the document Publish was clicked in. */
  marked: boolean;
  ready: DocumentReadyState;
  title: string;
}

/** PUBLISHED_TEXT, sent as its source and flags (a RegExp does not cross into the page). */
export interface PagePattern {
  source: string;
  flags: string;
}

/**
 * The page's visible texts, element by element (a multiset: the same words twice count twice), and
 * the field each one is tied to: by `for`, by `aria-describedby`/`aria-errormessage`, or by being
 * in the smallest part of the form that holds one field (or a field's few boxes). Options,
 * scripts and editors are not text a person reads as a message. `withFields` false leaves the
 * ties out (the reading before Publish needs only the texts; the ties are its costly part).
 *
 * With `clickPublish`, reads the texts (without ties), then clicks "Publish item" from the page
 * itself, in one round trip: `clicked` says whether the link was there.
 */
export function pageTexts(a: {
  withFields: boolean;
  published: PagePattern;
  clickPublish?: boolean;
}): PageTexts & { clicked?: boolean } {
  const link = a.clickPublish ? document.querySelector<HTMLElement>('a#submit_step_1') : null;
  const form = document.querySelector<HTMLFormElement>('form#frm_step1');
  const controls = form
    ? [...form.querySelectorAll<HTMLInputElement>('input, select, textarea')].filter(
        (c) => c.name && c.type !== 'hidden',
      )
    : [];
  const h = {
    shown(el: Element) {
      return el.checkVisibility
        ? el.checkVisibility({ visibilityProperty: true })
        : el.getClientRects().length > 0;
    },
    nameOf(el: Element | null) {
      return el && (el as HTMLInputElement).name ? (el as HTMLInputElement).name : null;
    },
    tie(el: Element): string[] {
      const target = el.getAttribute('for');
      if (target) {
        const control = (document.getElementById(target) ||
          form?.elements.namedItem(target)) as Element | null;
        const name = h.nameOf(control && (control as HTMLInputElement).name ? control : null);
        if (name) return [name];
      }
      for (let p: Element | null = el, depth = 0; p && depth < 3; p = p.parentElement, depth++) {
        if (!p.id) continue;
        const id = p.id;
        const names = controls
          .filter((c) =>
            ` ${c.getAttribute('aria-describedby') || ''} ${c.getAttribute('aria-errormessage') || ''} `.includes(
              ` ${id} `,
            ),
          )
          .map((c) => c.name);
        if (names.length) return [...new Set(names)];
      }
      for (
        let p: Element | null = el;
        p && p !== document.body && p !== document.documentElement;
        p = p.parentElement
      ) {
        if (p === form) return [];
        const part = p;
        const names = [...new Set(controls.filter((c) => part.contains(c)).map((c) => c.name))];
        if (names.length) return names.length <= 3 ? names : [];
      }
      return [];
    },
  };
  const withFields = a.withFields && !a.clickPublish;
  const texts = new Map<Element, string>();
  const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = (n.nodeValue || '').replace(/\s+/g, ' ').trim();
    const el = n.parentElement;
    if (!t || !el || el.closest('script, style, noscript, template, option, select, textarea, iframe'))
      continue;
    texts.set(el, `${texts.get(el) || ''} ${t}`.trim());
  }
  const out: PageTexts['texts'] = [];
  for (const [el, text] of texts) if (h.shown(el)) out.push({ text, fields: withFields ? h.tie(el) : [] });
  const invalid = controls.filter((c) => c.getAttribute('aria-invalid') === 'true').map((c) => c.name);
  // biome-ignore lint/performance/useDomNodeTextContent: what a person sees, not hidden text
  const body = document.body ? document.body.innerText || '' : '';
  const result: PageTexts & { clicked?: boolean } = {
    texts: out,
    invalid: [...new Set(invalid)],
    published: new RegExp(a.published.source, a.published.flags).test(body),
    form: Boolean(form),
    marked: window.__vrBeforePublish === true,
    ready: document.readyState,
    title: document.title,
  };
  if (!a.clickPublish) return result;
  if (!link) return { ...result, clicked: false };
  window.__vrBeforePublish = true;
  link.click();
  return { ...result, clicked: true };
}

export interface Glance {
  published: boolean;
  marked: boolean;
  ready: DocumentReadyState;
}

/** The cheap look taken every few milliseconds after Publish; the full reading only at the end. */
export function glance(published: PagePattern): Glance {
  // biome-ignore lint/performance/useDomNodeTextContent: as in pageTexts
  const body = document.body ? document.body.innerText || '' : '';
  return {
    published: new RegExp(published.source, published.flags).test(body),
    marked: window.__vrBeforePublish === true,
    ready: document.readyState,
  };
}
