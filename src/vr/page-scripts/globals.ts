/**
 * Page scripts: functions that run inside V&R's page, passed to `page.evaluate` / `page.waitForFunction` (and
 * type-checked with the DOM library). Playwright sends each function's source to the page, so a page
 * function:
 *
 * - closes over nothing: everything it needs comes in its one argument (JSON values only);
 * - calls no other page function (write the shared rule once, in the one function that needs it);
 * - names no inner function with `const f = () => ...` or `function f() {}`: tsx (esbuild's
 *   keepNames) wraps those in a `__name(...)` helper that the page doesn't have. Inline callbacks and
 *   object-literal methods (`const h = { key(s) { ... } }`) are fine.
 *
 * test/unit/page-scripts.test.ts checks the last rule on every exported function.
 */

/** What our page scripts keep on V&R's window, and what V&R's own page provides. */
export interface SettleProbe {
  pending: number;
  last: number;
}

declare global {
  interface Window {
    /** page-settle: the page's own requests in flight and the form's last change. */
    __vrProbe?: SettleProbe;
    /** The shipping rows the form filler removed. */
    __vrRemovedRows?: Element[];
    /** Set in the document Publish was clicked in. */
    __vrBeforePublish?: boolean;
    /** V&R's TinyMCE, on the add form. */
    tinymce?: {
      get?: (
        id: string,
      ) =>
        | { initialized?: boolean; setContent(html: string): void; save?: () => void; getContent(): string }
        | null
        | undefined;
      remove?: (selector: string) => void;
    };
  }
  interface XMLHttpRequest {
    __vrSameOrigin?: boolean;
  }
}
