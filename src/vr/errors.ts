/** V&R answered with something other than the page we expected (5xx, 403/429, challenge, maintenance, timeout): try again later. */
export class VrUnavailableError extends Error {
  override name = 'VrUnavailableError';
}

/** V&R said no to this listing (unknown brand, validation error): retrying the same data won't help. */
export class VrRejectedError extends Error {
  override name = 'VrRejectedError';
}

/** The login was refused: wrong credentials are a configuration problem, not a job's. */
export class VrLoginError extends Error {
  override name = 'VrLoginError';
}

/** Status codes that mean "not now" rather than "no". */
export function isRetryableStatus(status: number): boolean {
  return status === 403 || status === 408 || status === 425 || status === 429 || status >= 500;
}

export function isLoginUrl(url: string): boolean {
  const path = new URL(url).pathname;
  return path === '/login' || path.startsWith('/login/') || path === '/do_login';
}
