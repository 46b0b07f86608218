/** V&R answered with something other than the page we expected (5xx, 403/429, challenge, maintenance, timeout): try again later. */
export class VrUnavailableError extends Error {
  override name = 'VrUnavailableError';
}

/** An image the listing points at could not be fetched: its host's problem, not V&R being down. */
export class ImageUnavailableError extends VrUnavailableError {
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
  if (error instanceof ImageUnavailableError) return false;
  if (error instanceof VrUnavailableError) return true;
  // Playwright's network errors carry no code; Postgres' and Redis' do, and are not V&R's.
  return (
    error instanceof Error &&
    (error as { code?: unknown }).code === undefined &&
    NETWORK_FAILURE.test(error.message)
  );
}

/** V&R said no to this listing (unknown brand, validation error): retrying the same data won't help. */
export class VrRejectedError extends Error {
  override name = 'VrRejectedError';
}

/** What only a person can end; each is a state `status`, `watch`, the API and /metrics show. */
export type PersonNeeded = 'blocked' | 'login_refused' | 'session_key' | 'chromium_sandbox';

/**
 * Only a person can help (a login, the right key, a setting): jobs wait for it, queued with their
 * tries unused, and the worker takes none until a new session is stored or it looks again.
 */
export abstract class NeedsPersonError extends Error {
  abstract readonly state: PersonNeeded;
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
