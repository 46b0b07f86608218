/**
 * What an error may say once it leaves the process that caught it: in a log line, in BullMQ's
 * failedReason and stacktrace (Redis, and so Bull Board), in `vr_jobs.error`, in an API answer.
 *
 * Playwright appends a "Call log:" to its errors that lists the request it was making, headers
 * included: the V&R session cookie would be written everywhere a failed attempt is reported.
 * Every such exit goes through this module: the first line of the message only, no call log,
 * and any cookie, authorization header or URL credentials replaced by `[redacted]`.
 */

export const REDACTED = '[redacted]';

/** Longest error text kept: enough for any message of ours or V&R's, not a page of HTML. */
export const MAX_ERROR_TEXT = 2_000;

// Terminal colours: Playwright dims its call log lines.
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

const RULES: [RegExp, string][] = [
  // A header or field whose value is a credential, to the end of the line (a cookie list holds
  // many pairs): `cookie: a=1; b=2`, `"set-cookie":"…"`, `authorization=Basic …`.
  [
    /\b(set-cookie|cookie|proxy-authorization|authorization|x-api-key)(["']?\s*[:=]\s*)("[^"\r\n]*"?|'[^'\r\n]*'?|[^\r\n]*)/gi,
    `$1$2${REDACTED}`,
  ],
  // A scheme's credentials wherever they appear, header or not.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  // user:password@ in a URL of any scheme (postgres://, redis://, http://).
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@'"]+@/gi, `$1${REDACTED}@`],
  // A cookie as a JSON object (Playwright's cookies(), a storage state, a browser extension's
  // export): its value, whatever its name.
  [/("name"\s*:\s*"[^"]*"\s*,\s*"value"\s*:\s*)"(?:[^"\\]|\\.)*"/g, `$1"${REDACTED}"`],
  // Session cookies and secrets as form or query fields: PHPSESSID=…, Cloudflare's clearance and
  // bot-management cookies, pass=…, token=….
  [
    /\b(PHPSESSID|cf_clearance|__cf_bm|cf_chl_[A-Za-z0-9_]*|[A-Za-z_]*sess(?:ion)?(?:id)?|pass|passwd|password|token|api_token|apiToken|secret)=([^&;\s'"]+)/gi,
    `$1=${REDACTED}`,
  ],
];

/** `text` with ANSI colours removed and every credential it shows replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  let out = text.replace(ANSI, '');
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}

function clip(text: string): string {
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT - 1)}…` : text;
}

/** The first line, which says what failed; the lines after it are Playwright's call log, or worse. */
function firstLine(text: string): string {
  return text.replace(ANSI, '').trim().split(/\r?\n/, 1)[0]!.trim();
}

/**
 * An error as one safe line: its message's first line, redacted, at most MAX_ERROR_TEXT long.
 * An AggregateError with no message of its own (Node's failed connect to every address) is
 * shown by its first error.
 */
export function safeErrorMessage(error: unknown): string {
  if (error instanceof AggregateError && !error.message && error.errors.length) {
    return safeErrorMessage(error.errors[0]);
  }
  const text = error instanceof Error ? error.message || error.name : String(error);
  return clip(redactSecrets(firstLine(text)));
}

/** Any text that may carry an error (a message logged as a string, a reason): one safe line. */
export function safeErrorText(text: string): string {
  return clip(redactSecrets(firstLine(text)));
}

/** The stack's frames (`at …` lines) under the safe message: the call log sits between them. */
function safeStack(error: Error, message: string): string {
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at\s/.test(line));
  return [`${error.name}: ${message}`, ...frames.map((line) => redactSecrets(line))].join('\n');
}

/**
 * The same error, its message and stack made safe in place, so that its class (and every
 * `instanceof` test on it: UnrecoverableError, TimeoutError, VrUnavailableError) still holds.
 * Throw this to BullMQ: it writes `message` as failedReason and `stack` to stacktrace. Causes
 * and an AggregateError's errors are made safe too. Anything thrown that is not an Error is
 * wrapped in one.
 */
export function sanitiseError(error: unknown, depth = 0): Error {
  if (!(error instanceof Error)) return new Error(safeErrorMessage(error));
  const message = safeErrorMessage(error);
  try {
    const stack = safeStack(error, message);
    Object.defineProperty(error, 'message', { value: message, writable: true, configurable: true });
    Object.defineProperty(error, 'stack', { value: stack, writable: true, configurable: true });
    if (depth < 5 && error.cause instanceof Error) sanitiseError(error.cause, depth + 1);
    if (depth < 5 && error instanceof AggregateError) {
      for (const inner of error.errors) sanitiseError(inner, depth + 1);
    }
    return error;
  } catch {
    // A frozen error: a plain one in its place (its class is lost, its secret too).
    const safe = new Error(message);
    safe.name = error.name;
    return safe;
  }
}

/** What a log line shows of an error: a safe message and stack, its code, and its cause. */
export interface SerializedError {
  type: string;
  message: string;
  stack: string;
  [field: string]: unknown;
}

/**
 * The pino serializer for `err`: an Error becomes a SerializedError; a string (code that logs
 * `err: error.message`) becomes one safe line. Other own fields of the error are kept when
 * they are plain values (a Postgres error's code and detail), redacted.
 */
export function serializeError(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return safeErrorText(value);
  if (!(value instanceof Error)) return value;
  const message = safeErrorMessage(value);
  const out: SerializedError = {
    type: value.name,
    message,
    stack: safeStack(value, message),
  };
  for (const [key, field] of Object.entries(value).slice(0, 20)) {
    if (key === 'message' || key === 'stack' || key in out) continue;
    if (typeof field === 'string') out[key] = clip(redactSecrets(field));
    else if (typeof field === 'number' || typeof field === 'boolean') out[key] = field;
  }
  if (depth < 3 && value.cause !== undefined) out.cause = serializeError(value.cause, depth + 1);
  if (depth < 3 && value instanceof AggregateError) {
    out.errors = value.errors.slice(0, 5).map((inner) => serializeError(inner, depth + 1));
  }
  return out;
}

/**
 * `fn` whose rejections are made safe: wrap a BullMQ processor with it, and nothing it throws
 * reaches Redis (failedReason, stacktrace) or Bull Board with a cookie or a call log in it.
 */
export function throwingSafely<A extends unknown[], R>(fn: (...args: A) => Promise<R>) {
  return (...args: A): Promise<R> =>
    fn(...args).catch((error: unknown) => {
      throw sanitiseError(error);
    });
}
