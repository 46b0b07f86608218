import type { Page } from 'playwright-core';
import type { Logger } from '../logger.ts';
import { VrBlockedError, VrUnavailableError } from './errors.ts';

/** What a step returns when the page shows we are logged out. */
export const SESSION_EXPIRED = Symbol('session expired');

/** What withLogin needs of the session. */
export interface LoggedInDeps {
  ensureLoggedIn: () => Promise<void>;
  page: () => Promise<Page>;
  /** Bumped on every login: a change means a step beside this one logged in again already. */
  generation: () => number;
  /** The page met a challenge since `since`, or shows one now. */
  challenged: (page: Page, since: number) => Promise<boolean>;
  passChallenge: (page: Page) => Promise<void>;
  expire: () => void;
  log: Logger;
}

/**
 * Runs `step`, logged in first. When the step finds the session expired (it returns
 * SESSION_EXPIRED, having seen a logged-out page), logs in again and runs the step once more;
 * a challenge met in the middle of a step is waited out, then the step runs once more.
 */
export async function runLoggedIn<T>(
  step: (page: Page) => Promise<T | typeof SESSION_EXPIRED>,
  d: LoggedInDeps,
): Promise<T> {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    await d.ensureLoggedIn();
    const generation = d.generation();
    const page = await d.page();
    const started = Date.now();
    let result: T | typeof SESSION_EXPIRED;
    try {
      result = await step(page);
    } catch (error) {
      if (attempt === 0 && !(error instanceof VrBlockedError) && (await d.challenged(page, started))) {
        await d.passChallenge(page);
        continue;
      }
      throw error;
    }
    if (result !== SESSION_EXPIRED) return result;
    if (await d.challenged(page, started)) {
      await d.passChallenge(page);
      continue;
    }
    // A step beside this one may have logged in again already: then just retry.
    if (generation !== d.generation()) continue;
    d.log.info('V&R session expired; logging in again');
    d.expire();
  }
  throw new VrUnavailableError('V&R kept answering as if we were logged out');
}
