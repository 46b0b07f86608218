import type { Page, Response } from 'playwright-core';
import type { VrSite } from '../config.ts';
import type { Logger } from '../logger.ts';
import { isRetryableStatus, VrUnavailableError } from './errors.ts';
import { fillLoginForm, loginFormErrors, submitLoginForm } from './login-form.ts';
import { acceptConsent, isChallengePage, isChallengeResponse, readPageSession } from './page-session.ts';

export interface LoginDeps {
  site: VrSite;
  pageTimeoutMs: number;
  log: Logger;
  /** BrowserSession.goto: a page load that passes a challenge and the consent banner. */
  goto: (page: Page, path: string) => Promise<Response | null>;
  /** Waits out a challenge met on the way (throws VrBlockedError when it doesn't clear). */
  passChallenge: (page: Page) => Promise<void>;
  /** Called around the typing of the password (a Playwright trace stops meanwhile). */
  onLoginStart?: (() => Promise<void>) | undefined;
  onLoginEnd?: (() => Promise<void>) | undefined;
}

/** How a login on the page ended; V&R not answering is thrown (VrUnavailableError). */
export type LoginOutcome =
  | { kind: 'already' }
  | { kind: 'logged_in' }
  /** V&R said no: what the page showed. */
  | { kind: 'refused'; seen: string };

/** Logs in with the header's pop-up form, as a person does, and decides the outcome from the page. */
export async function loginOnPage(page: Page, d: LoginDeps): Promise<LoginOutcome> {
  if (!page.url().startsWith(d.site.baseUrl)) await d.goto(page, '/');
  let state = await readPageSession(page);
  if (state.loggedIn) return { kind: 'already' };
  if (!state.loginForm) {
    await d.goto(page, '/');
    state = await readPageSession(page);
    if (state.loggedIn) return { kind: 'already' };
    if (!state.loginForm) {
      throw new VrUnavailableError(`no login form on V&R's page ${page.url()} ("${state.title}")`);
    }
  }
  const { username, password } = d.site;
  d.log.info('logging in to V&R');
  // a caller's hook (tracing): the login goes on without it
  await d.onLoginStart?.().catch(() => {});
  let navigation: { response: Response | null } | { error: Error };
  try {
    const navigated = page
      .waitForNavigation({ waitUntil: 'domcontentloaded', timeout: d.pageTimeoutMs })
      .then(
        (response) => ({ response }),
        (error: Error) => ({ error }),
      );
    const missing = await fillLoginForm(page, { username, password });
    if (missing) throw new VrUnavailableError(`V&R's login form has no ${missing} field`);
    await submitLoginForm(page);
    navigation = await navigated;
  } finally {
    // as above
    await d.onLoginEnd?.().catch(() => {});
  }
  if ('error' in navigation) {
    // No page came back: either the form's own validation stopped it, or V&R didn't answer.
    const errors = await loginFormErrors(page);
    if (errors.length) return { kind: 'refused', seen: errors.join('; ') };
    throw new VrUnavailableError(`V&R did not answer the login: ${navigation.error.message.split('\n')[0]}`);
  }
  const { response } = navigation;
  if (isChallengeResponse(response) || (await isChallengePage(page))) await d.passChallenge(page);
  else if (response && isRetryableStatus(response.status())) {
    throw new VrUnavailableError(`V&R's login answered HTTP ${response.status()}`);
  }
  await acceptConsent(page);
  const after = await readPageSession(page);
  if (!after.loggedIn) {
    const errors = await loginFormErrors(page);
    return { kind: 'refused', seen: errors.join('; ') || `still logged out on "${after.title}"` };
  }
  return { kind: 'logged_in' };
}
