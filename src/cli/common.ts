import type { Config } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { createLogger } from '../logger.ts';
import { createProducer, type Producer } from '../producer/producer.ts';

/** A failure the user can act on: printed without a stack trace, exit status 2. */
export class UsageError extends Error {}

export function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function err(text: string): void {
  process.stderr.write(`${text}\n`);
}

export async function withDatabase<T>(
  config: Config,
  fn: (db: ReturnType<typeof connectDatabase>) => Promise<T>,
): Promise<T> {
  const database = connectDatabase(config.databaseUrl, { max: 2 });
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

/** A positive whole number from an option, or a UsageError naming it. */
export function positiveInt(value: string | undefined, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer`);
  return n;
}

/** Resolves on the first SIGINT or SIGTERM: long-running read-only commands stop cleanly on Ctrl-C. */
export function interrupted(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', abort);
      process.off('SIGTERM', abort);
    },
  };
}

/** A producer for a CLI command: the process's configuration, quiet logs unless asked for more. */
export function producerFromConfig(config: Config): Producer {
  return createProducer({
    databaseUrl: config.databaseUrl,
    redisUrl: config.redisUrl,
    queuePrefix: config.queuePrefix,
    createAttempts: config.createAttempts,
    createBackoffMs: config.createBackoffMs,
    markerTemplate: config.refMarkerTemplate,
    logger: createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel),
  });
}
