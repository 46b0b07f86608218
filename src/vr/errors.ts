import { NeedsPersonError, NeverRetryError, RetryLaterError } from '../errors.ts';

export { NeedsPersonError, NeverRetryError, type PersonNeeded, RetryLaterError } from '../errors.ts';

/** V&R answered with something other than the page we expected (5xx, 403/429, challenge, maintenance, timeout): try again later. */
export class VrUnavailableError extends RetryLaterError {
  override name = 'VrUnavailableError';
}

/** An image the listing points at could not be fetched: its host's problem, not V&R being down (no outage). */
export class ImageUnavailableError extends RetryLaterError {
  override name = 'ImageUnavailableError';
}

// Chromium's and Node's words for "nothing answered at that address".
const NETWORK_FAILURE =
  /net::ERR_(CONNECTION_\w+|EMPTY_RESPONSE|NAME_NOT_RESOLVED|ADDRESS_UNREACHABLE|TIMED_OUT|INTERNET_DISCONNECTED)|\b(ECONNREFUSED|ECONNRESET|socket hang up)\b/;

/**
 * V&R itself is unavailable (maintenance 503, Cloudflare 403/429, 5xx, connection refused), as
 * opposed to the listing being wrong or an image host failing.
 */
export function isSiteUnavailable(error: unknown): boolean {
  if (error instanceof VrUnavailableError) return true;
  // Playwright's network errors carry no code; Postgres' and Redis' do, and are not V&R's.
  return (
    error instanceof Error &&
    (error as { code?: unknown }).code === undefined &&
    NETWORK_FAILURE.test(error.message)
  );
}

/** V&R said no to this listing (unknown brand, validation error): retrying the same data won't help. */
export class VrRejectedError extends NeverRetryError {
  override name = 'VrRejectedError';
}

/** The login was refused: wrong credentials are a configuration problem, not a job's. */
export class VrLoginError extends NeedsPersonError {
  override name = 'VrLoginError';
  readonly state = 'login_refused';
}

/**
 * Cloudflare's challenge did not clear by itself: only a person can help (`vr-lister login`, or
 * `vr-lister session import`). Not an outage: waiting alone won't end it.
 */
export class VrBlockedError extends NeedsPersonError {
  override name = 'VrBlockedError';
  readonly state = 'blocked';
}

/**
 * Chromium can't start in its sandbox (as root, or a container that refuses it user namespaces),
 * and CHROMIUM_NO_SANDBOX is off: a page of V&R's would run in a browser without its first wall.
 */
export class ChromiumSandboxError extends NeedsPersonError {
  override name = 'ChromiumSandboxError';
  readonly state = 'chromium_sandbox';
}

/** What every process says when V&R wants a person. */
export const PERSON_NEEDED = 'V&R wants a person: run `vr-lister login`';

/** Status codes that mean "not now" rather than "no". */
export function isRetryableStatus(status: number): boolean {
  return status === 403 || status === 408 || status === 425 || status === 429 || status >= 500;
}
