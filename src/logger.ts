import { AsyncLocalStorage } from 'node:async_hooks';
import { type DestinationStream, type Logger, pino } from 'pino';
import { safeErrorMessage, serializeError } from './safe-errors.ts';

export type { Logger };

/**
 * Fields never written to a log. pino's paths match one level per `*`, so the usual places are
 * listed: a bare field, one level down (`{ site: { password } }`), and HTTP headers.
 */
export const REDACT_PATHS: string[] = [
  ...['password', 'pass', 'token', 'apiToken', 'vrPassword', 'authorization', 'cookie', 'cookies'].flatMap(
    (key) => [key, `*.${key}`, `*.*.${key}`],
  ),
  'headers["set-cookie"]',
  '*.headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers.cookie',
  // The Config and VrSite credentials, should either ever be logged whole.
  ...['vrUsername', 'site.username'].flatMap((key) => [key, `*.${key}`]),
];

export interface LoggerOptions {
  /** Where lines go; standard error by default, so stdout stays free for command output. */
  stream?: DestinationStream;
  /** Human-readable lines instead of JSON; by default when standard error is a terminal. */
  pretty?: boolean;
  /** Colours in pretty lines; by default unless NO_COLOR is set. */
  color?: boolean;
}

/** Whether a terminal may get colours: a TTY, NO_COLOR unset (https://no-color.org), TERM not dumb. */
export function colorAllowed(isTTY: boolean, env: Record<string, string | undefined> = process.env): boolean {
  return isTTY && !env.NO_COLOR && env.TERM !== 'dumb';
}

/** pino JSON on stderr; readable lines instead when stderr is a terminal (redirect it to get JSON). */
export function createLogger(
  level: string = 'info',
  bindings: Record<string, unknown> = {},
  options: LoggerOptions = {},
): Logger {
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  const color = options.color ?? colorAllowed(process.stderr.isTTY === true);
  const target = options.stream ?? (pretty ? process.stderr : pino.destination({ fd: 2, sync: false }));
  const stream: DestinationStream = pretty
    ? { write: (line: string) => target.write(prettyLine(line, color)) }
    : target;
  return pino(
    {
      level,
      base: { pid: process.pid, ...bindings },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // Every error logged, Error or string: its first line and stack frames, no Playwright call
      // log, no cookie or credentials (src/safe-errors.ts).
      serializers: { err: serializeError },
      hooks: {
        // `logger.error(error)` makes the error's whole message the line's msg: the first line only.
        logMethod(args, method) {
          const [first, ...rest] = args as unknown[];
          if (first instanceof Error && typeof rest[0] !== 'string') {
            return method.apply(this, [{ err: first }, safeErrorMessage(first)] as never);
          }
          return method.apply(this, args);
        },
      },
    },
    stream,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });

const jobLog = new AsyncLocalStorage<Logger>();

/** Runs `fn` for one job: whatever it calls logs, through jobLoggerOr, with the job's fields. */
export function withJobLogger<T>(logger: Logger, fn: () => Promise<T>): Promise<T> {
  return jobLog.run(logger, fn);
}

/** The logger of the job this call runs for, else `fallback` (a shared unit's own logger). */
export function jobLoggerOr(fallback: Logger): Logger {
  return jobLog.getStore() ?? fallback;
}

const LEVELS: Record<number, [name: string, ansi: string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '36'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};
/** Shown first, in this order, because they say which job a line is about. */
const CONTEXT = ['process', 'queue', 'jobId', 'productRef', 'attempt', 'runId'];
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v']);

function shown(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value);
}

/** One pino JSON line as `12:00:01.234 INFO  [context] message key=value`, with the error's stack below. */
export function prettyLine(json: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json);
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const paint = (code: string, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const [name, ansi] = LEVELS[Number(entry.level)] ?? [String(entry.level), '0'];
  const time = new Date(Number(entry.time ?? Date.now())).toISOString().slice(11, 23);
  const context = CONTEXT.filter((k) => entry[k] !== undefined).map((k) => `${k}=${shown(entry[k])}`);
  const err = entry.err as { message?: string; stack?: string } | undefined;
  const rest = Object.entries(entry)
    .filter(([k]) => !HIDDEN.has(k) && !CONTEXT.includes(k) && k !== 'err')
    .map(([k, v]) => `${k}=${shown(v)}`);
  if (err && typeof err === 'object' && err.message) rest.push(`err=${shown(err.message)}`);
  else if (err !== undefined) rest.push(`err=${shown(err)}`);
  const parts = [
    paint('2', time),
    paint(ansi, name),
    context.length ? paint('2', `[${context.join(' ')}]`) : '',
    String(entry.msg ?? ''),
    rest.length ? paint('2', rest.join(' ')) : '',
  ].filter(Boolean);
  const stack = err?.stack && Number(entry.level) >= 50 ? `\n${paint('2', err.stack)}` : '';
  return `${parts.join(' ')}${stack}\n`;
}
