#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { type Config, ConfigError, loadConfig, requireVrSite } from './config.ts';
import { connectDatabase } from './db/client.ts';
import { runMigrations } from './db/migrate.ts';
import { jobView, listJobs, statusReport } from './db/queries.ts';
import { JOB_STATUSES, type JobStatus } from './db/schema.ts';
import { ValidationError, validateListings } from './listing.ts';
import { createLogger } from './logger.ts';
import { readListingsFile } from './producer/input-file.ts';
import {
  AlreadyListedError,
  createProducer,
  type EnqueuedJob,
  QueueUnavailableError,
} from './producer/producer.ts';
import { stopOnSignals } from './signals.ts';

const HELP = `vr-lister: lists instruments on Vintage & Rare and resolves their V&R ids in batches.

Usage: vr-lister <command> [options]

Commands:
  migrate                  apply the database migrations in drizzle/ (creates the database if missing)
  start                    everything in one process: migrations, API, both workers, and the built-in
                           V&R simulator when VR_BASE_URL is unset
  api                      the HTTP API (/api/vr/..., /metrics, /healthz, /readyz) and Bull Board
                           at /admin/queues
  worker create            the creation worker (needs VR_BASE_URL, VR_USERNAME, VR_PASSWORD)
  worker resolve           the resolution worker and the periodic sweep
  resolve [--json]         download the export now, resolve what it can, and print the outcome
  simulator [options]      run the V&R simulator alone (--help for its options)
  enqueue FILE [--json]    enqueue listings from a CSV or JSON file (- for standard input)
  status [--json]          counts per status, pending resolutions, last resolution
  jobs [--status S] [--json] [--limit N]
                           one line (or object) per job
  help                     this text

Configuration comes from the environment (see README.md): DATABASE_URL, REDIS_URL, VR_BASE_URL,
VR_USERNAME, VR_PASSWORD, QUEUE_PREFIX, MAX_BATCH_SIZE, API_PORT, API_TOKEN, CHROMIUM_PATH, ...`;

/** A failure the user can act on: printed without a stack trace. */
class UsageError extends Error {}

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

function err(text: string): void {
  process.stderr.write(`${text}\n`);
}

async function withDatabase<T>(config: Config, fn: (db: ReturnType<typeof connectDatabase>) => Promise<T>) {
  const database = connectDatabase(config.databaseUrl, { max: 2 });
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

async function commandEnqueue(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false }, 'chunk-size': { type: 'string', default: '500' } },
    allowPositionals: true,
  });
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw new UsageError('usage: vr-lister enqueue FILE (a CSV or JSON file, or -)');
  const chunkSize = Number(values['chunk-size']);
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new UsageError('--chunk-size must be a positive integer');
  const config = loadConfig();
  // Validate the whole file before writing anything: one bad listing rejects the file.
  const listings = validateListings(await readListingsFile(file));
  const producer = createProducer({
    databaseUrl: config.databaseUrl,
    redisUrl: config.redisUrl,
    queuePrefix: config.queuePrefix,
    createAttempts: config.createAttempts,
    createBackoffMs: config.createBackoffMs,
    logger: createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel),
  });
  const jobs: EnqueuedJob[] = [];
  try {
    for (let start = 0; start < listings.length; start += chunkSize) {
      jobs.push(...(await producer.enqueueListings(listings.slice(start, start + chunkSize))));
      if (!values.json) err(`enqueued ${jobs.length}/${listings.length}`);
    }
  } finally {
    await producer.close();
  }
  if (values.json) {
    out(JSON.stringify(jobs));
    return;
  }
  const created = jobs.filter((j) => j.created).length;
  out(`${created} listing(s) enqueued, ${jobs.length - created} already in the pipeline.`);
}

async function commandStatus(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const config = loadConfig();
  const report = await withDatabase(config, ({ db }) => statusReport(db));
  if (values.json) {
    out(JSON.stringify(report));
    return;
  }
  for (const status of JOB_STATUSES) out(`${status.padEnd(22)} ${report.counts[status]}`);
  out(
    `pending resolutions    ${report.pending_count}${report.oldest_pending ? ` (oldest ${report.oldest_pending})` : ''}`,
  );
  const last = report.last_resolution;
  out(
    last
      ? `last resolution        #${last.id} ${last.finishedAt}: ${last.matched ?? 0} matched, ${last.unmatched ?? 0} unmatched, ${last.rowsScanned ?? 0} rows${last.error ? `, error: ${last.error}` : ''}`
      : 'last resolution        none yet',
  );
}

async function commandJobs(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      status: { type: 'string' },
      limit: { type: 'string', default: '100000' },
    },
  });
  const status = values.status;
  if (status !== undefined && !JOB_STATUSES.includes(status as JobStatus)) {
    throw new UsageError(`--status must be one of ${JOB_STATUSES.join(', ')}`);
  }
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
  const config = loadConfig();
  const rows = await withDatabase(config, ({ db }) =>
    listJobs(db, { status: status as JobStatus | undefined, limit }),
  );
  const views = rows.map(jobView);
  if (values.json) {
    out(JSON.stringify(views));
    return;
  }
  for (const job of views) {
    out(
      [
        job.id,
        job.productRef,
        job.status,
        job.vrListingId ?? '-',
        `attempts=${job.attempts}`,
        job.error ?? '',
      ]
        .join('\t')
        .trimEnd(),
    );
  }
}

async function commandMigrate(): Promise<void> {
  const config = loadConfig();
  await runMigrations(config.databaseUrl);
  out('migrations applied');
}

async function commandWorker(args: string[]): Promise<void> {
  const [kind, ...rest] = args;
  if (rest.length) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
  const config = loadConfig();
  const site = requireVrSite(config);
  const logger = createLogger(config.logLevel, { process: `worker-${kind}` });
  if (kind === 'create') {
    const { startCreationProcess } = await import('./creation/main.ts');
    const running = startCreationProcess({ config, site, logger });
    stopOnSignals(logger, config.shutdownTimeoutMs, running.stop);
    return;
  }
  if (kind === 'resolve') {
    const { startResolutionProcess } = await import('./resolution/main.ts');
    const running = startResolutionProcess({ config, site, logger });
    stopOnSignals(logger, config.shutdownTimeoutMs, running.stop);
    return;
  }
  throw new UsageError('usage: vr-lister worker create|resolve');
}

async function commandResolve(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
  const config = loadConfig();
  const site = requireVrSite(config);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const { runFlush } = await import('./resolution/flush.ts');
  const { VrHttpSession } = await import('./vr/http-session.ts');
  const database = connectDatabase(config.databaseUrl, { max: 3 });
  try {
    const session = new VrHttpSession(site, logger, config.pageTimeoutMs);
    const result = await runFlush({ database, session, config, logger }, 'cli');
    const summary = {
      resolved: result.resolved,
      failed: result.failed + result.needsReview,
      errors: result.errors,
    };
    if (values.json) out(JSON.stringify(summary));
    else {
      out(
        `resolved ${result.resolved}, still waiting ${result.waiting}, failed ${result.failed}, needs review ${result.needsReview} (${result.rowsScanned} export rows)`,
      );
      for (const e of result.errors) out(`  ${e}`);
    }
  } finally {
    await database.close();
  }
}

async function commandApi(): Promise<void> {
  const config = loadConfig();
  const site = requireVrSite(config);
  const logger = createLogger(config.logLevel, { process: 'api' });
  const { startApiProcess } = await import('./api/main.ts');
  const running = await startApiProcess({ config, site, logger });
  out(`API listening on ${running.url}`);
  stopOnSignals(logger, config.shutdownTimeoutMs, running.stop);
}

async function commandStart(args: string[]): Promise<void> {
  if (args.length) throw new UsageError(`unexpected arguments: ${args.join(' ')}`);
  const { startAll } = await import('./start.ts');
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { process: 'start' });
  const running = await startAll(config, logger, out);
  stopOnSignals(logger, config.shutdownTimeoutMs, running.stop);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(HELP);
      return;
    case 'migrate':
      return commandMigrate();
    case 'simulator': {
      const { runSimulatorCommand } = await import('./simulator/main.ts');
      return runSimulatorCommand(args);
    }
    case 'worker':
      return commandWorker(args);
    case 'resolve':
      return commandResolve(args);
    case 'api':
      return commandApi();
    case 'start':
      return commandStart(args);
    case 'enqueue':
      return commandEnqueue(args);
    case 'status':
      return commandStatus(args);
    case 'jobs':
      return commandJobs(args);
    default:
      throw new UsageError(`unknown command: ${command}\n\n${HELP}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof UsageError) {
    err(error.message);
    process.exitCode = 2;
  } else if (error instanceof ValidationError) {
    err('Nothing was enqueued: invalid listing(s):');
    for (const e of error.errors)
      err(`  ${e.index === undefined ? '' : `listing ${e.index}: `}${e.field} ${e.message}`);
    process.exitCode = 1;
  } else if (error instanceof AlreadyListedError || error instanceof QueueUnavailableError) {
    err(error.message);
    process.exitCode = 1;
  } else if (String((error as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) {
    err((error as Error).message);
    process.exitCode = 2;
  } else {
    err(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  }
});
