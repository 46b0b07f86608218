import './globals.ts';

/** What a V&R page says about our session (see page-session.ts). */
export interface PageSessionState {
  loggedIn: boolean;
  loginForm: boolean;
  challenge: boolean;
  title: string;
}

/**
 * The one rule for "logged in?": a Logout link, by its words or by an href to `/logout`. Then the
 * header's login pop-up and Cloudflare's "Just a moment..." title.
 */
export function readSession(): PageSessionState {
  const logout = [...document.querySelectorAll('a')].some(
    (a) =>
      /^\s*log\s*-?\s*out\s*$/i.test(a.textContent || '') || /\/logout\b/i.test(a.getAttribute('href') || ''),
  );
  return {
    loggedIn: logout,
    loginForm: document.querySelector('form#loginForm') !== null,
    challenge: /^\s*just a moment/i.test(document.title || ''),
    title: document.title || '',
  };
}

/** Fills the login pop-up's fields; the name of a field it lacks, or null. */
export function fillLogin(v: { username: string; password: string }): string | null {
  const form = document.querySelector('form#loginForm');
  if (!form) return 'form#loginForm';
  for (const [name, value] of [
    ['username', v.username],
    ['pass', v.password],
  ] as const) {
    const input = form.querySelector<HTMLInputElement>(`[name="${name}"]`);
    if (!input) return name;
    input.value = value;
    for (const type of ['input', 'change', 'keyup']) input.dispatchEvent(new Event(type, { bubbles: true }));
  }
  const keep = form.querySelector<HTMLInputElement>('input[name="keep_me_signed"]');
  if (keep && keep.type === 'checkbox' && !keep.checked) keep.click();
  return null;
}

/**
 * The pop-up's "Login" control is a link that runs jQuery Validate, then submits: clicking it runs
 * exactly what a person's click runs, hidden pop-up or not.
 */
export function submitLogin(): void {
  const form = document.querySelector<HTMLFormElement>('form#loginForm')!;
  const controls = [
    ...form.querySelectorAll<HTMLElement>('a, button, input[type="submit"], input[type="button"]'),
  ];
  const control = controls.find((c) =>
    /log\s*-?\s*in|sign\s*in/i.test(c.textContent || (c as HTMLInputElement).value || ''),
  );
  if (control) control.click();
  else if (form.requestSubmit) form.requestSubmit();
  else form.submit();
}

/** The errors the login pop-up shows (jQuery Validate's, or V&R's). */
export function loginErrors(): string[] {
  const form = document.querySelector('form#loginForm');
  if (!form) return [];
  return [...form.querySelectorAll<HTMLElement>('label.error, .error, .invalid-feedback')]
    .filter((e) => e.offsetParent !== null || e.getClientRects().length > 0)
    .map((e) => (e.textContent || '').trim())
    .filter(Boolean);
}

export interface InPageFetchResult {
  status: number;
  url: string;
  text: string;
  challenge: boolean;
  error?: string;
}

/** A form POSTed from inside a V&R page, as the site's own AJAX calls do. */
export async function postForm(a: {
  path: string;
  form: Record<string, string>;
  timeoutMs: number;
}): Promise<InPageFetchResult> {
  try {
    const res = await fetch(a.path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8',
        'X-Requested-With': 'XMLHttpRequest',
      },
      body: new URLSearchParams(a.form).toString(),
      // A request V&R never answers must not hold the job forever.
      signal: AbortSignal.timeout(a.timeoutMs),
    });
    const text = await res.text();
    return {
      status: res.status,
      url: res.url,
      challenge: (res.headers.get('cf-mitigated') || '').toLowerCase() === 'challenge',
      text: text.slice(0, 8192),
    };
  } catch (error) {
    return {
      status: 0,
      url: a.path,
      challenge: false,
      text: '',
      error: String((error && (error as Error).message) || error),
    };
  }
}

/** The page's HTML with every password field's value replaced (artifacts scrub the rest). */
export function htmlWithoutPasswords(): string {
  const root = document.documentElement.cloneNode(true) as Element;
  for (const input of root.querySelectorAll('input[type="password"], input[name="pass"]')) {
    input.setAttribute('value', '[redacted]');
  }
  const doctype = document.doctype ? `<!DOCTYPE ${document.doctype.name}>\n` : '';
  return doctype + root.outerHTML;
}
