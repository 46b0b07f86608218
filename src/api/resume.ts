import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { releaseGatedJobs } from '../creation/probation.ts';
import type { Db } from '../db/client.ts';
import { resumeCreation, type SiteTrust } from '../db/site-trust.ts';
import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import type { CreateJobData } from '../queues.ts';
import type { ApiContext } from './context.ts';

export interface ResumeOutcome {
  /** False when creation was not paused (the suspect streak is cleared anyway). */
  wasPaused: boolean;
  /** Jobs the breaker held that were brought forward; null when Redis did not take it. */
  released: number | null;
  trust: SiteTrust;
}

/**
 * A person looked at the suspect listings and lets creation go on: the pause and the streak are
 * cleared in Postgres, then the jobs the breaker held are brought forward (if Redis fails here they
 * still run when their hold ends, PAUSED_HOLD_MS).
 */
export async function resumeAndRelease(deps: {
  db: Db;
  createQueue: Queue<CreateJobData>;
  logger: Logger;
}): Promise<ResumeOutcome> {
  const { trust, wasPaused } = await resumeCreation(deps.db);
  const released = await releaseGatedJobs(deps.createQueue).catch((error) => {
    deps.logger.warn({ err: error, event: LOG_EVENT.heldJobsNotPromoted }, 'could not release the held jobs');
    return null;
  });
  if (wasPaused)
    deps.logger.info({ event: LOG_EVENT.creationResumed, released }, 'creation resumed by a person');
  return { wasPaused, released, trust };
}

export function registerResumeRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/api/vr/resume', async () => {
    const outcome = await resumeAndRelease({
      db: ctx.database.db,
      createQueue: ctx.createQueue,
      logger: ctx.logger,
    });
    return { wasPaused: outcome.wasPaused, released: outcome.released };
  });
}
