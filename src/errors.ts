/**
 * The error bases: what a worker does about an error is decided by its base, not by its class.
 *
 * - RetryLaterError: "not now". The same job may work later: V&R or a queue unavailable, an image
 *   host failing, a form that didn't load as expected. Retried (an outage of V&R or Postgres waits
 *   without using up the job's attempts: isSiteUnavailable, isDatabaseUnavailable).
 * - NeverRetryError: "no". The same data fails the same way: bad input, an unknown brand or
 *   category, V&R's form refusing the listing, a photo that can't be used. The job fails at once,
 *   with the reason.
 * - NeedsPersonError: only a person can end it (a login, the right key, a setting). Jobs wait for
 *   it, queued with their tries unused; each is a state `status`, `watch`, the API and /metrics show.
 */

export abstract class RetryLaterError extends Error {}

export abstract class NeverRetryError extends Error {}

/** What only a person can end; each is a state `status`, `watch`, the API and /metrics show. */
export type PersonNeeded = 'blocked' | 'login_refused' | 'session_key' | 'chromium_sandbox';

/**
 * Only a person can help (a login, the right key, a setting): jobs wait for it, queued with their
 * tries unused, and the worker takes none until a new session is stored or it looks again.
 */
export abstract class NeedsPersonError extends Error {
  abstract readonly state: PersonNeeded;
}
