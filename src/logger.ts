import { type Logger, pino } from 'pino';

export type { Logger };

/** pino JSON on stderr, so stdout stays free for command output (`--json`, the simulator's URL). */
export function createLogger(level: string = 'info', bindings: Record<string, unknown> = {}): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, ...bindings },
      redact: {
        // Also the Config and VrSite keys, one and two levels down, should either ever be logged whole.
        paths: [
          'password',
          '*.password',
          '*.*.password',
          'token',
          '*.token',
          'authorization',
          '*.authorization',
          '*.headers.authorization',
          'cookie',
          '*.cookie',
          '*.headers.cookie',
          'apiToken',
          '*.apiToken',
          'vrPassword',
          '*.vrPassword',
          'vrUsername',
          '*.vrUsername',
          'site.username',
          '*.site.username',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
