import type { Logger } from './logger.ts';

/**
 * One warning when a dependency (Redis, Postgres, V&R) goes away and one line when it is back,
 * however many errors and reconnect attempts come in between: an outage is not a log flood.
 */
export interface Outage {
  /** Records a failure; logs a warning only for the first one of an outage. */
  down(error: unknown, context?: Record<string, unknown>): void;
  /** Records that it answered again; logs once if it was down. */
  up(context?: Record<string, unknown>): void;
  readonly isDown: boolean;
}

export function errorText(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) return errorText(error.errors[0]);
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error);
}

/**
 * The `event` field of an outage's log lines (with `dependency`: `Redis`, `Postgres`, `V&R`), so
 * that whatever reads the logs (tests, alerting) keys on it rather than on the wording.
 */
export const OUTAGE_EVENT = { down: 'outage_down', stillDown: 'outage_still_down', up: 'outage_up' } as const;

export function trackOutage(logger: Logger, what: string, whileDown: string): Outage {
  let since: number | undefined;
  let failures = 0;
  return {
    down(error, context = {}) {
      failures += 1;
      if (since !== undefined) {
        logger.debug(
          { ...context, event: OUTAGE_EVENT.stillDown, dependency: what, err: errorText(error), failures },
          `${what} still unavailable`,
        );
        return;
      }
      since = Date.now();
      logger.warn(
        { ...context, event: OUTAGE_EVENT.down, dependency: what, err: errorText(error) },
        `${what} unavailable: ${whileDown}`,
      );
    },
    up(context = {}) {
      if (since === undefined) return;
      logger.info(
        { ...context, event: OUTAGE_EVENT.up, dependency: what, downMs: Date.now() - since, failures },
        `${what} is back after ${failures} failed attempt(s)`,
      );
      since = undefined;
      failures = 0;
    },
    get isDown() {
      return since !== undefined;
    },
  };
}

// Connection-level failures (postgres.js codes, Node socket codes, SQLSTATE classes 08 and 57P).
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  '57P01',
  '57P02',
  '57P03',
]);

/** True for an error that says "the server is not reachable right now", not "your request is wrong". */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof AggregateError) return error.errors.some(isConnectionError);
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  if (/\b(ECONNREFUSED|ECONNRESET|Connection is closed|connect ETIMEDOUT)\b/.test(error.message)) return true;
  return error.cause !== undefined && error.cause !== error && isConnectionError(error.cause);
}

/** Postgres unreachable, also seen through drizzle's wrapper (the connection error is its cause). */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    // postgres.js errors carry a code; Playwright's don't.
    if (typeof (e as { code?: unknown }).code === 'string' && isConnectionError(e)) return true;
  }
  return false;
}
