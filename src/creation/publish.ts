import type { Page, Request } from 'playwright-core';
import { withTimeout } from '../lifecycle.ts';
import { installSettleProbe, isPageSettled } from '../vr/page-settle.ts';
import { FORM_PATH, FormMarkupError, PUBLISHED_TEXT, QUIET_MS } from './form-page.ts';
import { isUpload } from './listing-form.ts';

/**
 * Publish on the add-listing form, and its verdict read as the real site allows: the network says
 * whether a POST left, the page's text says published, only errors tied to fields say rejected.
 */

export type PublishOutcome =
  | { kind: 'published' }
  | {
      kind: 'rejected';
      /** V&R's words, per field. */
      errors: FieldMessage[];
      /** False: client-side validation stopped it, and nothing left the browser. */
      posted: boolean;
    }
  | { kind: 'unknown'; reason: string };

export interface FieldMessage {
  fields: string[];
  text: string;
}

/**
 * The page's visible texts, element by element (a multiset: the same words twice count twice), and
 * the field each one is tied to: by `for`, by `aria-describedby`/`aria-errormessage`, or by being
 * in the smallest part of the form that holds one field (or a field's few boxes). Options,
 * scripts and editors are not text a person reads as a message. `withFields` false leaves the
 * ties out (the reading before Publish needs only the texts; the ties are its costly part).
 */
const PAGE_TEXTS = `((withFields) => {
  const form = document.querySelector('form#frm_step1');
  const shown = (el) => el.checkVisibility ? el.checkVisibility({ visibilityProperty: true }) : el.getClientRects().length > 0;
  const controls = form ? [...form.querySelectorAll('input, select, textarea')].filter((c) => c.name && c.type !== 'hidden') : [];
  const nameOf = (el) => el && el.name ? el.name : null;
  const tie = (el) => {
    const target = el.getAttribute('for');
    if (target) {
      const control = document.getElementById(target) || (form && form.elements.namedItem(target));
      const name = nameOf(control && control.name ? control : null);
      if (name) return [name];
    }
    for (let a = el, depth = 0; a && depth < 3; a = a.parentElement, depth++) {
      if (!a.id) continue;
      const names = controls.filter((c) => (' ' + (c.getAttribute('aria-describedby') || '') + ' ' + (c.getAttribute('aria-errormessage') || '') + ' ').includes(' ' + a.id + ' ')).map((c) => c.name);
      if (names.length) return [...new Set(names)];
    }
    for (let a = el; a && a !== document.body && a !== document.documentElement; a = a.parentElement) {
      if (a === form) return [];
      const names = [...new Set(controls.filter((c) => a.contains(c)).map((c) => c.name))];
      if (names.length) return names.length <= 3 ? names : [];
    }
    return [];
  };
  const texts = new Map();
  const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = (n.nodeValue || '').replace(/\\s+/g, ' ').trim();
    const el = n.parentElement;
    if (!t || !el || el.closest('script, style, noscript, template, option, select, textarea, iframe')) continue;
    texts.set(el, ((texts.get(el) || '') + ' ' + t).trim());
  }
  const out = [];
  for (const [el, text] of texts) if (shown(el)) out.push({ text, fields: withFields ? tie(el) : [] });
  const invalid = controls.filter((c) => c.getAttribute('aria-invalid') === 'true').map((c) => c.name);
  const body = document.body ? document.body.innerText || '' : '';
  return {
    texts: out,
    invalid: [...new Set(invalid)],
    published: ${PUBLISHED_TEXT}.test(body),
    form: Boolean(form),
    marked: window.__vrBeforePublish === true,
    ready: document.readyState,
    title: document.title,
  };
})`;

interface PageTexts {
  texts: Array<{ text: string; fields: string[] }>;
  invalid: string[];
  published: boolean;
  form: boolean;
  /** Still the document Publish was clicked in. */
  marked: boolean;
  ready: DocumentReadyState;
  title: string;
}

/** Reads the page's texts, then clicks "Publish item" from the page itself, in one round trip. */
const CLICK_PUBLISH = `(() => {
  const link = document.querySelector('a#submit_step_1');
  const before = ${PAGE_TEXTS}(false);
  if (!link) return { clicked: false, before };
  window.__vrBeforePublish = true;
  link.click();
  return { clicked: true, before };
})()`;

/** The texts new since `before` that are tied to fields, plus fields marked invalid. */
export function fieldErrors(before: PageTexts, after: PageTexts): FieldMessage[] {
  const seen = new Map<string, number>();
  for (const { text } of before.texts) seen.set(text, (seen.get(text) ?? 0) + 1);
  const errors: FieldMessage[] = [];
  for (const { text, fields } of after.texts) {
    const count = seen.get(text) ?? 0;
    if (count > 0) {
      seen.set(text, count - 1);
      continue;
    }
    if (fields.length && !PUBLISHED_TEXT.test(text)) errors.push({ fields, text });
  }
  for (const name of after.invalid) {
    if (!errors.some((e) => e.fields.includes(name))) errors.push({ fields: [name], text: 'marked invalid' });
  }
  return errors;
}

export function describeFieldErrors(errors: FieldMessage[]): string {
  return errors.map((e) => `${e.fields.join('/')}: "${e.text}"`).join('; ');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The cheap look taken every few milliseconds after Publish; the full reading only at the end. */
const GLANCE = `(() => ({
  published: ${PUBLISHED_TEXT}.test(document.body ? document.body.innerText || '' : ''),
  marked: window.__vrBeforePublish === true,
  ready: document.readyState,
}))()`;

interface Glance {
  published: boolean;
  marked: boolean;
  ready: DocumentReadyState;
}

async function readTexts(page: Page): Promise<PageTexts | undefined> {
  // Undefined while a navigation replaces the document.
  return page.evaluate(`${PAGE_TEXTS}(true)`).then(
    (value) => value as PageTexts,
    () => undefined,
  );
}

export interface PublishTimeouts {
  /** How long V&R may take to answer the POST. */
  submitMs: number;
  /** After the answer, how long its page may take to show the message (a late toast). */
  settleMs: number;
}

/**
 * Clicks "Publish item" and reads the answer as the real site allows (see PublishOutcome):
 * the network says whether a POST left; the page's text says published; only errors tied to fields
 * say rejected. Anything else after a POST is an unknown outcome, never a guess.
 */
export async function publish(
  page: Page,
  t: PublishTimeouts,
  /** Saves evidence of a page where Publish did nothing, before that page is closed. */
  onNothingSent: () => Promise<void> = async () => {},
): Promise<PublishOutcome> {
  let post: Request | undefined;
  let resolvePost: (request: Request) => void = () => {};
  const posted = new Promise<Request>((resolve) => {
    resolvePost = resolve;
  });
  const onRequest = (request: Request) => {
    if (post || request.method() !== 'POST' || isUpload(request)) return;
    const url = new URL(request.url());
    if (request.isNavigationRequest() || url.pathname === FORM_PATH) {
      post = request;
      resolvePost(request);
    }
  };
  page.on('request', onRequest);
  try {
    await installSettleProbe(page).catch(() => {}); // without it the page only counts as settled sooner
    const { clicked, before } = (await page.evaluate(CLICK_PUBLISH)) as {
      clicked: boolean;
      before: PageTexts;
    };
    if (!clicked) throw new FormMarkupError('the add form has no Publish link (a#submit_step_1)');

    // 1. Did a POST leave? jQuery Validate decides at once; a page may also work a while first.
    const deadline = Date.now() + t.submitMs;
    for (let wait = 150; !post; wait = 250) {
      await Promise.race([posted, sleep(wait)]);
      if (post) break;
      const now = await readTexts(page);
      if (now?.marked) {
        const errors = fieldErrors(before, now);
        const settled = await isPageSettled(page, QUIET_MS);
        if (errors.length && settled && !post) {
          // Closed before anything else can leave: the verdict "nothing was sent" must stay true.
          await page.close().catch(() => {});
          if (!post) return { kind: 'rejected', errors, posted: false };
        }
      }
      if (Date.now() > deadline) {
        if (post) break;
        // Best effort: evidence that can't be saved, or a page already closing, changes no verdict.
        await onNothingSent().catch(() => {});
        await page.close().catch(() => {});
        if (post) return { kind: 'unknown', reason: 'a Publish request left as the page was closed' };
        throw new FormMarkupError(
          `Publish sent nothing and the page showed no error tied to a field within ${t.submitMs} ms`,
        );
      }
    }
    const request = post as Request;

    // 2. V&R's answer.
    const remaining = Math.max(1_000, deadline - Date.now());
    // withTimeout clears its timer: a bare sleep here kept every process alive submitMs after its last Publish.
    const response = await withTimeout(
      request.response().catch(() => null),
      remaining,
      'Publish',
    ).catch(() => 'timeout' as const);
    if (response === 'timeout')
      return { kind: 'unknown', reason: `no answer to Publish within ${t.submitMs} ms` };
    if (response === null) {
      return {
        kind: 'unknown',
        reason: `Publish failed in the browser: ${request.failure()?.errorText ?? 'no response'}`,
      };
    }
    const status = response.status();
    if (status >= 400) return { kind: 'unknown', reason: `Publish answered HTTP ${status}` };

    // 3. The page it leads to: the text says published; a late message gets settleMs after load.
    let loadedAt: number | undefined;
    const answerDeadline = Date.now() + remaining;
    for (;;) {
      const glance = (await page.evaluate(GLANCE).catch(() => undefined)) as Glance | undefined;
      if (glance) {
        if (glance.published && !(glance.marked && before.published)) return { kind: 'published' };
        const loaded =
          glance.ready !== 'loading' && (!glance.marked || request.resourceType() !== 'document');
        if (loaded) loadedAt ??= Date.now();
        const now =
          loadedAt !== undefined && Date.now() - loadedAt >= t.settleMs ? await readTexts(page) : undefined;
        if (now) {
          if (now.published && !(now.marked && before.published)) return { kind: 'published' };
          const errors = fieldErrors(before, now);
          if (now.form && errors.length) return { kind: 'rejected', errors, posted: true };
          return {
            kind: 'unknown',
            reason: `no "published and live" message and no error tied to a field after Publish (HTTP ${status}): ${page.url()} "${now.title}"`,
          };
        }
      }
      if (Date.now() > answerDeadline) {
        return { kind: 'unknown', reason: `the page after Publish (HTTP ${status}) did not finish loading` };
      }
      await sleep(25);
    }
  } finally {
    page.off('request', onRequest);
  }
}
