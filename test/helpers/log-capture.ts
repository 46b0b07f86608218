import { pino } from 'pino';
import type { Logger } from '../../src/logger.ts';
import type { OUTAGE_EVENT } from '../../src/outage.ts';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A real pino logger whose JSON lines a test can read back (to count warnings, say). */
export function captureLogs(level = 'debug'): {
  logger: Logger;
  lines: LogLine[];
  matching(re: RegExp, minLevel?: number): LogLine[];
} {
  const lines: LogLine[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return {
    logger,
    lines,
    matching: (re, minLevel = 0) => lines.filter((l) => l.level >= minLevel && re.test(l.msg)),
  };
}

export const WARN = 40;

/** The last `n` lines, one per line (with their time), for a failure's message. */
export function lastLines(lines: LogLine[], n = 40): string {
  return lines
    .slice(-n)
    .map(({ level, msg, pid, hostname, ...rest }) => `${level} ${msg} ${JSON.stringify(rest)}`)
    .join('\n');
}

/** The pino JSON lines in a child process's output (other lines are skipped). */
export function parseLogLines(output: string): LogLine[] {
  return output.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
}

type OutageEvent = (typeof OUTAGE_EVENT)[keyof typeof OUTAGE_EVENT];

/** The lines where `dependency` (`Redis`, `Postgres`, `V&R`) went down, stayed down or came back. */
export function outageLines(lines: LogLine[], dependency: string, event: OutageEvent): LogLine[] {
  return lines.filter((l) => l.event === event && l.dependency === dependency);
}
