import { parseArgs } from 'node:util';
import { type Job, Queue } from 'bullmq';
import { type Config, loadConfig } from '../config.ts';
import { connectDatabase } from '../db/client.ts';
import {
  type JobView,
  jobView,
  type LastResolution,
  listJobs,
  statusReport,
  type VerificationReport,
} from '../db/queries.ts';
import { JOB_STATUSES, type JobStatus } from '../db/schema.ts';
import { colorAllowed } from '../logger.ts';
import { CREATE_QUEUE, type CreateJobData, createRedis, RESOLVE_QUEUE } from '../queues.ts';
import { FLUSH_JOB, type FlushJobData } from '../resolution/trigger.ts';
import {
  readSiteState,
  type SiteStateRecord,
  siteStateLine,
  siteStateWithBreaker,
} from '../vr/site-state.ts';
import { interrupted, out, positiveInt, UsageError } from './common.ts';

/** What `vr-lister watch` shows, and prints as one JSON object per refresh with --json. */
export interface WatchSnapshot {
  at: string;
  counts: Record<JobStatus, number>;
  pending_count: number;
  oldest_pending: string | null;
  last_resolution: LastResolution | null;
  /** The read-backs: counts, and the newest listings V&R stored other than asked. */
  verification?: VerificationReport;
  /** The listing the creation worker holds (the in_progress row). */
  creating: { id: number; productRef: string; attempt: number; since: string } | null;
  /** A flush downloading the export right now. */
  flush_running: { reason: string; since: string | null } | null;
  /** The next flush waiting in the resolution queue, and when it is due. */
  next_flush: { reason: string; state: 'waiting' | 'delayed'; due_at: string } | null;
  /** V&R as the workers last saw it (blocked, login refused); null when Redis did not answer. */
  site_state?: SiteStateRecord | null;
  /** Only when watching particular jobs (the demo): those jobs, as `vr-lister jobs --json` shows them. */
  jobs?: JobView[];
}

export interface WatchSources {
  snapshot(trackedIds?: number[]): Promise<WatchSnapshot>;
  close(): Promise<void>;
}

function iso(ms: number | undefined | null): string | null {
  return ms ? new Date(ms).toISOString() : null;
}

/** The flush running now and the next one due, read from the resolution queue. */
export async function flushSchedule(
  queue: Queue<FlushJobData>,
): Promise<Pick<WatchSnapshot, 'flush_running' | 'next_flush'>> {
  const [active, waiting, delayed] = await Promise.all([
    queue.getActive(0, 20),
    queue.getWaiting(0, 20),
    queue.getDelayed(0, 20),
  ]);
  const isFlush = (job: Job<FlushJobData> | undefined): job is Job<FlushJobData> => job?.name === FLUSH_JOB;
  const running = active.find(isFlush);
  const next = [
    ...waiting.filter(isFlush).map((job) => ({ job, state: 'waiting' as const, due: job.timestamp })),
    ...delayed.filter(isFlush).map((job) => ({
      job,
      state: 'delayed' as const,
      due: job.timestamp + (job.delay || job.opts.delay || 0),
    })),
  ].sort((a, b) => a.due - b.due)[0];
  return {
    flush_running: running ? { reason: running.data.reason, since: iso(running.processedOn) } : null,
    next_flush: next
      ? { reason: next.job.data.reason, state: next.state, due_at: new Date(next.due).toISOString() }
      : null,
  };
}

/** Postgres for the counts and the job being created, the resolution queue for the flushes. */
export function openWatchSources(config: Config): WatchSources {
  const database = connectDatabase(config.databaseUrl, { max: 2 });
  const connection = createRedis(config.redisUrl, { forProducer: true });
  connection.on('error', () => {});
  const queue = new Queue<FlushJobData>(RESOLVE_QUEUE, { connection, prefix: config.queuePrefix });
  const createQueue = new Queue<CreateJobData>(CREATE_QUEUE, { connection, prefix: config.queuePrefix });
  return {
    async snapshot(trackedIds) {
      const { db } = database;
      const [report, [creating], [active], flushes, site, tracked] = await Promise.all([
        statusReport(db),
        listJobs(db, { status: 'in_progress', limit: 1 }),
        createQueue.getActive(0, 0),
        flushSchedule(queue),
        siteStateWithBreaker(
          db,
          readSiteState(connection, config.queuePrefix).catch(() => null),
        ),
        trackedIds?.length
          ? listJobs(db, {
              afterId: Math.min(...trackedIds) - 1,
              limit: Math.max(...trackedIds) - Math.min(...trackedIds) + 1,
            })
          : undefined,
      ]);
      const wanted = new Set(trackedIds);
      return {
        at: new Date().toISOString(),
        ...report,
        creating: creating
          ? {
              id: creating.id,
              productRef: creating.productRef,
              attempt: creating.attempts,
              // When the worker took the job; the row's updated_at moves with every step.
              since: new Date(
                active?.data.rowId === creating.id && active.processedOn
                  ? active.processedOn
                  : creating.updatedAt,
              ).toISOString(),
            }
          : null,
        ...flushes,
        site_state: site,
        ...(tracked ? { jobs: tracked.filter((row) => wanted.has(row.id)).map(jobView) } : {}),
      };
    },
    async close() {
      // Best effort on the way out: Redis may be away; nothing is written here.
      await queue.close().catch(() => {});
      await createQueue.close().catch(() => {});
      connection.disconnect();
      await database.close();
    },
  };
}

/** "4s", "2m05s", "1h02m". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface RenderOptions {
  /** Several lines, redrawn in place, with a spinner; otherwise one plain line per refresh. */
  tty: boolean;
  color: boolean;
  frame: number;
  now: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const STATUS_COLOR: Record<JobStatus, string> = {
  queued: '0',
  in_progress: '36',
  completed_pending_id: '34',
  completed: '32',
  failed: '31',
  needs_review: '33',
};
const STATUS_LABEL: Record<JobStatus, string> = {
  queued: 'queued',
  in_progress: 'in progress',
  completed_pending_id: 'waiting for id',
  completed: 'completed',
  failed: 'failed',
  needs_review: 'needs review',
};

function describeFlush(s: WatchSnapshot, now: number): string {
  const parts: string[] = [];
  if (s.flush_running)
    parts.push(
      `running (${s.flush_running.reason}${s.flush_running.since ? `, ${formatAge(now - Date.parse(s.flush_running.since))}` : ''})`,
    );
  if (s.next_flush) {
    const due = Date.parse(s.next_flush.due_at) - now;
    parts.push(`next ${due > 0 ? `in ${formatAge(due)}` : 'now'} (${s.next_flush.reason})`);
  }
  return parts.length ? parts.join(', ') : 'none scheduled';
}

/** One refresh of `vr-lister watch`, as text. Pure: the caller decides where it goes. */
export function renderWatch(s: WatchSnapshot, o: RenderOptions): string {
  const paint = (code: string, text: string) =>
    o.color && code !== '0' ? `\x1b[${code}m${text}\x1b[0m` : text;
  const creating = s.creating
    ? `${s.creating.productRef} (attempt ${s.creating.attempt}, ${formatAge(o.now - Date.parse(s.creating.since))})`
    : null;
  const site = s.site_state && s.site_state.state !== 'ok' ? siteStateLine(s.site_state) : null;
  const mismatch = s.verification?.counts.mismatch
    ? `read-back: ${s.verification.counts.mismatch} mismatch (${s.verification.mismatches
        .map((m) => `${m.productRef}: ${m.fields.join(', ')}`)
        .join('; ')})`
    : null;
  if (!o.tty) {
    return [
      ...(site ? [`V&R: ${site}`] : []),
      ...(mismatch ? [mismatch] : []),
      `${s.at} ${JOB_STATUSES.map((status) => `${status}=${s.counts[status]}`).join(' ')}`,
      `creating: ${creating ?? 'nothing'}`,
      `flush: ${describeFlush(s, o.now)}`,
    ].join(' | ');
  }
  const spinner = paint('36', SPINNER[o.frame % SPINNER.length]!);
  const lines = [
    `${spinner} ${paint('1', 'vr-lister')}  ${new Date(s.at).toISOString().slice(11, 19)} UTC  ${paint('2', '(Ctrl-C to stop)')}`,
    `  ${JOB_STATUSES.map((status) => `${STATUS_LABEL[status]} ${paint(STATUS_COLOR[status], paint('1', String(s.counts[status])))}`).join('   ')}`,
    `  creating   ${creating ? paint('36', creating) : paint('2', 'nothing')}`,
    `  flush      ${describeFlush(s, o.now)}`,
  ];
  if (site) lines.splice(1, 0, `  ${paint('1', paint('31', `V&R: ${site}`))}`);
  if (mismatch) lines.push(`  ${paint('1', paint('31', mismatch))}`);
  const last = s.last_resolution;
  if (last)
    lines.push(
      `  last flush #${last.id} ${last.finishedAt ? `${formatAge(o.now - Date.parse(last.finishedAt))} ago` : ''}: ${last.matched ?? 0} matched, ${last.unmatched ?? 0} unmatched${last.error ? `, ${paint('31', `error: ${last.error}`)}` : ''}`,
    );
  if (s.jobs?.length) {
    const width = Math.max(...s.jobs.map((j) => j.productRef.length));
    lines.push('');
    for (const job of s.jobs) {
      const checked =
        job.verification?.status === 'mismatch'
          ? `  ${paint('31', `mismatch: ${job.verification.differences.map((d) => d.field).join(', ')}`)}`
          : job.verification?.status === 'ok'
            ? `  ${paint('32', 'read back ok')}`
            : '';
      const id = job.vrListingId ? paint('32', `V&R id ${job.vrListingId}`) + checked : paint('2', '…');
      lines.push(
        `  ${job.productRef.padEnd(width)}  ${paint(STATUS_COLOR[job.status], STATUS_LABEL[job.status].padEnd(14))}  ${id}${job.error && job.status !== 'completed' ? `  ${paint('2', job.error)}` : ''}`,
      );
    }
  }
  return lines.join('\n');
}

/** Redraws a block of lines in place on a terminal. */
export function redrawer(stream: { write(text: string): unknown }) {
  let previous = 0;
  return {
    draw(text: string) {
      const up = previous > 0 ? `\x1b[${previous}A\r\x1b[J` : '';
      stream.write(`${up}${text}\n`);
      previous = text.split('\n').length;
    },
  };
}

export interface WatchLoopOptions<S> {
  read(): Promise<S>;
  show(snapshot: S, frame: number): void;
  /** Stop once this is true (the demo: every job resolved). */
  done?(snapshot: S): boolean;
  onError?(error: unknown): void;
  intervalMs: number;
  signal: AbortSignal;
  once?: boolean;
}

/** Reads and shows a snapshot every interval until done, aborted, or after one with `once`. */
export async function watchLoop<S>(o: WatchLoopOptions<S>): Promise<S | undefined> {
  let last: S | undefined;
  for (let frame = 0; !o.signal.aborted; frame += 1) {
    try {
      last = await o.read();
      o.show(last, frame);
      if (o.once || o.done?.(last)) return last;
    } catch (error) {
      if (o.once || !o.onError) throw error;
      o.onError(error);
    }
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        o.signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = setTimeout(wake, o.intervalMs);
      o.signal.addEventListener('abort', wake, { once: true });
    });
  }
  return last;
}

/** How a snapshot reaches the screen: NDJSON, one plain line, or a redrawn colour block. */
export function snapshotPrinter(opts: { json: boolean; tty: boolean; color: boolean }) {
  const screen = redrawer(process.stdout);
  return (snapshot: WatchSnapshot, frame: number) => {
    if (opts.json) return out(JSON.stringify(snapshot));
    const text = renderWatch(snapshot, { tty: opts.tty, color: opts.color, frame, now: Date.now() });
    if (opts.tty) screen.draw(text);
    else out(text);
  };
}

/** `vr-lister watch [--json] [--once] [--interval MS]`. */
export async function commandWatch(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      once: { type: 'boolean', default: false },
      interval: { type: 'string', default: '1000' },
    },
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  const intervalMs = positiveInt(values.interval, '--interval');
  const config = loadConfig();
  const tty = process.stdout.isTTY === true && !values.json;
  const sources = openWatchSources(config);
  const stop = interrupted();
  if (tty) process.stdout.write('\x1b[?25l');
  try {
    await watchLoop({
      read: () => sources.snapshot(),
      show: snapshotPrinter({ json: values.json, tty, color: colorAllowed(tty) }),
      onError: (error) => process.stderr.write(`watch: ${(error as Error).message ?? error}\n`),
      intervalMs,
      signal: stop.signal,
      once: values.once,
    });
  } finally {
    if (tty) process.stdout.write('\x1b[?25h');
    stop.dispose();
    await sources.close();
  }
}
