import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { resumeAndRelease } from '../api/resume.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { CREATE_QUEUE, type CreateJobData, createRedis } from '../queues.ts';
import { out, UsageError, withDatabase } from './common.ts';

/**
 * `vr-lister resume`: the circuit breaker paused creation (3 listings in a row ended unknown and
 * never shown, or read back wrong); a person looked at them and lets creation go on.
 */
export async function commandResume(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError('usage: vr-lister resume [--json]');
  const config = loadConfig();
  const connection = createRedis(config.redisUrl, { forProducer: true });
  connection.on('error', () => {});
  const createQueue = new Queue<CreateJobData>(CREATE_QUEUE, { connection, prefix: config.queuePrefix });
  createQueue.on('error', () => {}); // Redis down: resumeAndRelease says the jobs run when their hold ends
  try {
    const outcome = await withDatabase(config, (database) =>
      resumeAndRelease({
        db: database.db,
        createQueue,
        logger: createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel),
      }),
    );
    if (values.json) return out(JSON.stringify({ wasPaused: outcome.wasPaused, released: outcome.released }));
    if (!outcome.wasPaused) return out('creation was not paused: nothing to resume');
    out(
      outcome.released === null
        ? 'creation resumed; Redis did not answer, so the held jobs start when their hold ends (within an hour)'
        : `creation resumed; ${outcome.released} held job(s) released`,
    );
  } finally {
    await createQueue.close().catch(() => {}); // closing only: the outcome is already written
    connection.disconnect();
  }
}
