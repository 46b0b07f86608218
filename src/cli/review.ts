import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { linkRow } from '../api/link.ts';
import { retryRow } from '../api/retry.ts';
import { listReview, type ReviewItem } from '../api/review.ts';
import { loadConfig } from '../config.ts';
import type { VrJob } from '../db/schema.ts';
import { withTimeout } from '../lifecycle.ts';
import {
  addCreationJobs,
  CREATE_QUEUE,
  type CreateJobData,
  createRedis,
  creationJobOptions,
  RESOLVE_QUEUE,
} from '../queues.ts';
import { type FlushJobData, requestFlush } from '../resolution/trigger.ts';
import { out, positiveInt, UsageError, withDatabase } from './common.ts';

const QUEUE_TIMEOUT_MS = 5_000;

/** Hands a changed row to its queue; when Redis doesn't answer, the sweep does it later. */
async function queueAfter(action: 'requeued' | 'resolving' | 'linked', row: VrJob): Promise<string> {
  if (action === 'linked') return '';
  const config = loadConfig();
  const connection = createRedis(config.redisUrl, { forProducer: true });
  connection.on('error', () => {});
  const prefix = config.queuePrefix;
  const create = new Queue<CreateJobData>(CREATE_QUEUE, { connection, prefix });
  const resolve = new Queue<FlushJobData>(RESOLVE_QUEUE, { connection, prefix });
  try {
    if (action === 'requeued') {
      await addCreationJobs(
        { queue: create, jobOptions: creationJobOptions(config), queueTimeoutMs: QUEUE_TIMEOUT_MS },
        [row],
      );
    } else await withTimeout(requestFlush(resolve, 'cli retry'), QUEUE_TIMEOUT_MS, 'Redis');
    return '';
  } catch {
    return ' (saved; Redis did not take it, the sweep will)';
  } finally {
    await Promise.allSettled([create.close(), resolve.close()]);
    connection.disconnect();
  }
}

/** `vr-lister retry JOB [--resubmit]`: a failed or needs_review job back in the pipeline. */
export async function commandRetry(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { resubmit: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('usage: vr-lister retry JOB [--resubmit] [--json]');
  const id = positiveInt(positionals[0], 'JOB');
  const config = loadConfig();
  const outcome = await withDatabase(config, (database) =>
    retryRow({ database }, id, { resubmit: values.resubmit }),
  );
  if (outcome.kind === 'not_found') throw new UsageError(`job ${id} not found`);
  if (outcome.kind === 'conflict') throw new UsageError(`cannot retry: ${outcome.message}`);
  const note = await queueAfter(outcome.kind, outcome.row);
  if (values.json) return out(JSON.stringify({ action: outcome.kind, id, status: outcome.row.status }));
  const said = {
    linked: `job ${id} completed: its product is already linked to V&R listing ${outcome.row.vrListingId}`,
    resolving: `job ${id}: looking for its listing in the V&R export again (never submitted twice)`,
    requeued: `job ${id}: back to creation${values.resubmit ? ', submitted again as you said it is not on V&R' : ''}`,
  }[outcome.kind];
  out(`${said}${note}`);
}

/** `vr-lister link JOB VR_ID`: a person says which V&R listing is the job's. */
export async function commandLink(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length !== 2) throw new UsageError('usage: vr-lister link JOB VR_ID [--json]');
  const id = positiveInt(positionals[0], 'JOB');
  const vrListingId = positiveInt(positionals[1], 'VR_ID');
  const outcome = await withDatabase(loadConfig(), (database) => linkRow({ database }, id, vrListingId));
  if (outcome.kind === 'not_found') throw new UsageError(`job ${id} not found`);
  if (outcome.kind === 'conflict') throw new UsageError(`cannot link: ${outcome.message}`);
  if (values.json) return out(JSON.stringify({ action: 'linked', id, vrListingId }));
  out(`job ${id} completed with V&R listing ${vrListingId}`);
}

/** One job in review as text: reason, what we asked beside each candidate, evidence, the two commands. */
export function formatReviewItem(item: ReviewItem): string {
  const asked = item.asked;
  const lines = [
    `job ${item.id}  ${item.productRef}  [${item.kind}]  in review since ${item.since}`,
    `  why: ${item.reason}`,
    `  asked: ${asked.brand} ${asked.model}, price ${asked.price}${asked.year === null ? '' : `, year ${asked.year}`}${asked.category ? `, ${asked.category}` : ''}`,
  ];
  if (!item.candidates.length) lines.push('  candidates: none in the export');
  for (const c of item.candidates) {
    const what =
      c.brand === null
        ? 'not shown by the export'
        : `${c.brand} ${c.model}, price ${c.price ?? '?'}${c.year === null ? '' : `, year ${c.year}`}`;
    lines.push(
      `  candidate ${c.vrListingId}: ${what}${c.created ? `, created by ${c.created}` : ''}${c.url ? `  ${c.url}` : ''}`,
    );
  }
  lines.push(
    item.evidence.length
      ? `  evidence: ${item.evidence.map((e) => `${e.name} (${e.step}) ${e.url}`).join(', ')}`
      : '  evidence: none saved',
  );
  lines.push(`  decide: ${item.actions.link}  |  ${item.actions.resubmit}`);
  return lines.join('\n');
}

/** `vr-lister review [--json]`: the jobs a person must decide. */
export async function commandReview(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError('usage: vr-lister review [--json]');
  const config = loadConfig();
  const items = await withDatabase(config, (database) => listReview(database.db, config.vrBaseUrl));
  if (values.json) return out(JSON.stringify(items));
  if (!items.length) return out('no job needs review');
  out(`${items.length} job${items.length === 1 ? '' : 's'} in review:\n`);
  out(items.map(formatReviewItem).join('\n\n'));
}
