import type { Page, Request } from 'playwright-core';
import { withTimeout } from '../lifecycle.ts';
import { installSettleProbe, isPageSettled, QUIET_MS } from '../vr/page-settle.ts';
import { FORM_PATH, FormMarkupError, PUBLISHED_TEXT } from './form-page.ts';
import { isUpload } from './listing-form.ts';
import { glance as glanceAt, type PageTexts, pageTexts } from './page-scripts/publish.ts';

const PUBLISHED = { source: PUBLISHED_TEXT.source, flags: PUBLISHED_TEXT.flags };

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

async function readTexts(page: Page): Promise<PageTexts | undefined> {
  // Undefined while a navigation replaces the document.
  return page.evaluate(pageTexts, { withFields: true, published: PUBLISHED }).then(
    (value) => value,
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
    const { clicked, ...before } = await page.evaluate(pageTexts, {
      withFields: false,
      published: PUBLISHED,
      clickPublish: true,
    });
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
    // A form POST answers with a new document: the one Publish was clicked in says nothing (it may
    // show an earlier listing's late "published and live" toast while the answer is on its way).
    const answeredInPlace = request.resourceType() !== 'document';
    const says = (p: { published: boolean; marked: boolean }) =>
      p.published && !(p.marked && (before.published || !answeredInPlace));
    let loadedAt: number | undefined;
    const answerDeadline = Date.now() + remaining;
    for (;;) {
      const glance = await page.evaluate(glanceAt, PUBLISHED).catch(() => undefined);
      if (glance) {
        if (says(glance)) return { kind: 'published' };
        const loaded = glance.ready !== 'loading' && (!glance.marked || answeredInPlace);
        if (loaded) loadedAt ??= Date.now();
        const now =
          loadedAt !== undefined && Date.now() - loadedAt >= t.settleMs ? await readTexts(page) : undefined;
        if (now) {
          if (says(now)) return { kind: 'published' };
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
