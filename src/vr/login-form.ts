import type { Page } from 'playwright-core';

/** V&R's login pop-up (`form#loginForm` in every page's header), driven from the page itself. */

const FILL_LOGIN = `(v) => {
  const form = document.querySelector('form#loginForm');
  if (!form) return 'form#loginForm';
  for (const [name, value] of [['username', v.username], ['pass', v.password]]) {
    const input = form.querySelector('[name="' + name + '"]');
    if (!input) return name;
    input.value = value;
    for (const type of ['input', 'change', 'keyup']) input.dispatchEvent(new Event(type, { bubbles: true }));
  }
  const keep = form.querySelector('input[name="keep_me_signed"]');
  if (keep && keep.type === 'checkbox' && !keep.checked) keep.click();
  return null;
}`;

// The pop-up's "Login" control is a link that runs jQuery Validate, then submits: clicking it runs
// exactly what a person's click runs, hidden pop-up or not.
const SUBMIT_LOGIN = `(() => {
  const form = document.querySelector('form#loginForm');
  const controls = [...form.querySelectorAll('a, button, input[type="submit"], input[type="button"]')];
  const control = controls.find((c) => /log\\s*-?\\s*in|sign\\s*in/i.test(c.textContent || c.value || ''));
  if (control) control.click();
  else if (form.requestSubmit) form.requestSubmit();
  else form.submit();
})()`;

const LOGIN_FORM_ERRORS = `(() => {
  const form = document.querySelector('form#loginForm');
  if (!form) return [];
  return [...form.querySelectorAll('label.error, .error, .invalid-feedback')]
    .filter((e) => e.offsetParent !== null || e.getClientRects().length > 0)
    .map((e) => (e.textContent || '').trim())
    .filter(Boolean);
})()`;

/** Fills the pop-up's fields; the name of a field it lacks, or null. */
export async function fillLoginForm(
  page: Page,
  credentials: { username: string; password: string },
): Promise<string | null> {
  return (await page.evaluate(`(${FILL_LOGIN})(${JSON.stringify(credentials)})`)) as string | null;
}

/** Clicks the pop-up's Login control (or submits the form). */
export async function submitLoginForm(page: Page): Promise<void> {
  await page.evaluate(SUBMIT_LOGIN);
}

/** The errors the pop-up shows (jQuery Validate's, or V&R's); none when the page can't answer. */
export async function loginFormErrors(page: Page): Promise<string[]> {
  return (await page.evaluate(LOGIN_FORM_ERRORS).catch(() => [])) as string[];
}
