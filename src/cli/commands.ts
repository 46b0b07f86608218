import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { type Config, loadConfig, requireVrSite } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import { runMigrations } from '../db/migrate.ts';
import { jobView, listJobs, statusReport } from '../db/queries.ts';
import { JOB_STATUSES, type JobStatus } from '../db/schema.ts';
import { listSiteFacts } from '../db/site-facts.ts';
import { withTimeout } from '../lifecycle.ts';
import { validateListings } from '../listing/listing.ts';
import { createLogger } from '../logger.ts';
import { readListingsFile } from '../producer/input-file.ts';
import type { EnqueuedJob } from '../producer/producer.ts';
import { CREATE_QUEUE, createRedis, RESOLVE_QUEUE } from '../queues.ts';
import {
  readSiteState,
  type SiteStateRecord,
  siteStateLine,
  siteStateWithBreaker,
} from '../vr/site-state.ts';
import { out, positiveInt, producerFromConfig, UsageError, withDatabase } from './common.ts';
import { progressReporter } from './progress.ts';
import { factsLearnedLines } from './round-trip.ts';

const jsonOption = { json: { type: 'boolean', default: false } } as const;

export async function commandEnqueue(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...jsonOption, 'chunk-size': { type: 'string', default: '500' } },
    allowPositionals: true,
  });
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw new UsageError('usage: vr-lister enqueue FILE (a CSV or JSON file, or -)');
  const chunkSize = positiveInt(values['chunk-size'], '--chunk-size');
  const config = loadConfig();
  // Validate the whole file before writing anything: one bad listing rejects the file.
  const listings = validateListings(await readListingsFile(file), config.listingDefaults);
  const producer = producerFromConfig(config);
  // A chunk at a time, each in one transaction: the bar shows real progress on big files.
  const progress = progressReporter(process.stderr, listings.length, {
    label: 'enqueued',
    quiet: values.json,
  });
  const jobs: EnqueuedJob[] = [];
  try {
    for (let start = 0; start < listings.length; start += chunkSize) {
      jobs.push(...(await producer.enqueueListings(listings.slice(start, start + chunkSize))));
      progress.update(jobs.length);
    }
  } finally {
    progress.finish();
    await producer.close();
  }
  if (values.json) {
    out(JSON.stringify(jobs));
    return;
  }
  const created = jobs.filter((j) => j.created).length;
  out(`${created} listing(s) enqueued, ${jobs.length - created} already in the pipeline.`);
}

/** V&R's state as the workers published it; null when Redis doesn't answer within 2 s. */
async function siteStateFor(config: Config): Promise<SiteStateRecord | null> {
  const redis = createRedis(config.redisUrl, { forProducer: true });
  redis.on('error', () => {});
  try {
    return await withTimeout(readSiteState(redis, config.queuePrefix), 2_000, 'Redis');
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

export async function commandStatus(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: jsonOption });
  const config = loadConfig();
  const [[report, facts], site] = await withDatabase(config, ({ db }) =>
    Promise.all([
      Promise.all([statusReport(db), listSiteFacts(db)]),
      siteStateWithBreaker(db, siteStateFor(config)),
    ]),
  );
  if (values.json) {
    out(JSON.stringify({ ...report, site_state: site, site_facts: facts }));
    return;
  }
  // First, and loud: nothing moves until a person acts.
  if (site && site.state !== 'ok') out(`V&R: ${siteStateLine(site)}\n`);
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
  const v = report.verification;
  out(
    `read-back              ${v.counts.ok} ok, ${v.counts.mismatch} mismatch, ${v.counts.pending} pending, ${v.counts.skipped} skipped`,
  );
  for (const m of v.mismatches)
    out(`  MISMATCH job ${m.jobId} ${m.productRef} (V&R ${m.vrListingId ?? '-'}): ${m.fields.join(', ')}`);
  const learned = factsLearnedLines(facts);
  if (learned.length) out(`\n${learned.join('\n')}`);
}

export async function commandJobs(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { ...jsonOption, status: { type: 'string' }, limit: { type: 'string', default: '100000' } },
  });
  const status = values.status;
  if (status !== undefined && !JOB_STATUSES.includes(status as JobStatus)) {
    throw new UsageError(`--status must be one of ${JOB_STATUSES.join(', ')}`);
  }
  const limit = positiveInt(values.limit, '--limit');
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

export async function commandMigrate(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: jsonOption });
  const config = loadConfig();
  await runMigrations(config.databaseUrl);
  out(values.json ? JSON.stringify({ migrated: true }) : 'migrations applied');
}

export async function commandResolve(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: jsonOption });
  const config = loadConfig();
  const site = requireVrSite(config);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const { runFlush } = await import('../resolution/flush.ts');
  const { openBrowserSession } = await import('../vr/open-session.ts');
  const database = connectDatabase(config.databaseUrl, { max: 3 });
  const session = openBrowserSession({ config, site, database, logger });
  try {
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
    await session.close();
    await database.close();
  }
}

export interface HealthReport {
  ok: boolean;
  postgres: boolean;
  redis: boolean;
  /** With --worker: how many workers of that kind are connected to Redis. */
  workers?: number;
  errors: string[];
}

/**
 * `vr-lister health [--worker create|resolve]`: Postgres and Redis answer and, with --worker, a worker
 * of that kind is connected to its queue. Exit status 1 when not healthy (a container health check).
 */
export async function commandHealth(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { ...jsonOption, worker: { type: 'string' } } });
  const queueName =
    values.worker === undefined ? undefined : { create: CREATE_QUEUE, resolve: RESOLVE_QUEUE }[values.worker];
  if (values.worker !== undefined && !queueName) throw new UsageError('--worker must be create or resolve');
  const config = loadConfig();
  const report: HealthReport = { ok: false, postgres: false, redis: false, errors: [] };
  const database = connectDatabase(config.databaseUrl, { max: 1 });
  const redis = createRedis(config.redisUrl, { forProducer: true });
  redis.on('error', () => {});
  try {
    await database.sql`select 1`.then(
      () => (report.postgres = true),
      (error: Error) => report.errors.push(`postgres: ${error.message}`),
    );
    await redis.ping().then(
      () => (report.redis = true),
      (error: Error) => report.errors.push(`redis: ${error.message}`),
    );
    if (queueName && report.redis) {
      const queue = new Queue(queueName, { connection: redis, prefix: config.queuePrefix });
      report.workers = await queue.getWorkersCount().catch((error: Error) => {
        report.errors.push(`workers: ${error.message}`);
        return 0;
      });
      await queue.close().catch(() => {}); // read-only check: nothing to lose
      if (!report.workers) report.errors.push(`no ${values.worker} worker connected`);
    }
  } finally {
    redis.disconnect();
    await database.close().catch(() => {}); // the report is complete; closing is best effort
  }
  report.ok = report.errors.length === 0;
  if (values.json) out(JSON.stringify(report));
  else out(report.ok ? 'healthy' : `unhealthy: ${report.errors.join('; ')}`);
  if (!report.ok) process.exitCode = 1;
}
