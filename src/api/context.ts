import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { ProducerDeps } from '../producer/producer.ts';
import type { CreateJobData } from '../queues.ts';
import type { FlushJobData } from '../resolution/trigger.ts';

/** What the route modules share: built once per app by buildApi. */
export interface ApiContext {
  database: Database;
  config: Config;
  logger: Logger;
  redis: Redis;
  createQueue: Queue<CreateJobData>;
  resolveQueue: Queue<FlushJobData>;
  /** The producer's own dependencies: the API enqueues exactly as the library does. */
  producer: ProducerDeps;
}
