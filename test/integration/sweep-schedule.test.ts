import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { trackOutage } from '../../src/outage.ts';
import { createRedis, RESOLVE_QUEUE } from '../../src/queues.ts';
import { RECONCILE_JOB, SWEEP_JOB, SweepSchedule } from '../../src/resolution/sweep-schedule.ts';
import type { FlushJobData } from '../../src/resolution/trigger.ts';
import { captureLogs, WARN } from '../helpers/log-capture.ts';
import { deleteKeys, REDIS_URL, randomName, waitFor } from '../helpers/services.ts';

const MISSING = /the sweep was missing from Redis/;

// Only Redis is involved: no database for this file.
describe('sweep schedule', () => {
  const prefixes: string[] = [];
  const closing: (() => Promise<unknown>)[] = [];
  let admin: Redis;

  before(() => {
    admin = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  });

  after(async () => {
    for (const close of closing.reverse()) await close().catch(() => {});
    for (const prefix of prefixes) await deleteKeys(admin, `${prefix}:*`);
    admin.disconnect();
  });

  /** A schedule on a connection and queue of its own (the worker's kind), under a fresh prefix. */
  function makeSchedule(everyMs: number, reconcileEveryMs?: number) {
    const prefix = randomName('vrlt');
    prefixes.push(prefix);
    const connection = createRedis(REDIS_URL);
    const queue = new Queue<FlushJobData>(RESOLVE_QUEUE, { connection, prefix });
    const logs = captureLogs();
    const schedule = new SweepSchedule({
      queue,
      connection,
      everyMs,
      reconcileEveryMs,
      logger: logs.logger,
      outage: trackOutage(logs.logger, 'Redis', 'test'),
    });
    closing.push(
      () => schedule.stop(),
      () => queue.close(),
      async () => connection.disconnect(),
    );
    return { schedule, queue, connection, logs };
  }

  test('RECONCILE_INTERVAL_MS schedules the reconcile on the same queue; 0 removes a schedule left from before', async () => {
    const { schedule, queue, connection } = makeSchedule(600_000, 3_600_000);
    await schedule.start();
    const scheduler = await queue.getJobScheduler(RECONCILE_JOB);
    assert.equal(scheduler?.every, 3_600_000);
    assert.equal(scheduler?.name, RECONCILE_JOB);
    await schedule.stop();
    // The same queue, restarted with the reconcile off.
    const off = new SweepSchedule({
      queue,
      connection,
      everyMs: 600_000,
      reconcileEveryMs: 0,
      logger: captureLogs().logger,
      outage: trackOutage(captureLogs().logger, 'Redis', 'test'),
    });
    await off.start();
    await off.stop();
    assert.equal(await queue.getJobScheduler(RECONCILE_JOB), undefined);
    assert.equal((await queue.getJobScheduler(SWEEP_JOB))?.every, 600_000);
  });

  test('start() schedules the sweep every interval and sets the global concurrency to 1', async () => {
    const { schedule, queue, logs } = makeSchedule(600_000);
    await schedule.start();
    const scheduler = await queue.getJobScheduler(SWEEP_JOB);
    assert.equal(scheduler?.every, 600_000);
    assert.equal(await queue.getGlobalConcurrency(), 1);
    assert.equal(logs.matching(MISSING).length, 0, 'scheduling at start is no warning');
    await schedule.stop();
  });

  test('a reconnect puts the scheduler and the concurrency back', async () => {
    // A long interval: what brings them back is the reconnect, not the periodic check.
    const { schedule, queue, connection } = makeSchedule(600_000);
    await schedule.start();
    await queue.removeJobScheduler(SWEEP_JOB);
    await queue.removeGlobalConcurrency();
    assert.equal(await queue.getJobScheduler(SWEEP_JOB), undefined);
    const id = await connection.client('ID');
    await admin.client('KILL', 'ID', String(id));
    await waitFor('the sweep scheduled again', () => queue.getJobScheduler(SWEEP_JOB), 10_000);
    await waitFor(
      'the concurrency set again',
      async () => (await queue.getGlobalConcurrency()) === 1,
      10_000,
    );
    assert.notEqual(await connection.client('ID'), id, 'it was a new connection');
    await schedule.stop();
  });

  test('the periodic check puts a missing scheduler back and warns once', async () => {
    const { schedule, queue, logs } = makeSchedule(200);
    await schedule.start();
    await queue.removeJobScheduler(SWEEP_JOB);
    await waitFor('the sweep scheduled again', () => queue.getJobScheduler(SWEEP_JOB), 10_000);
    await waitFor('the warning', () => logs.matching(MISSING, WARN).length > 0, 10_000);
    await schedule.stop();
    assert.equal(logs.matching(MISSING, WARN).length, 1, 'one warning for one loss');
  });

  test('stop() removes its ready listener, waits for a check in progress, and is idempotent', async () => {
    const { schedule, queue, connection } = makeSchedule(600_000);
    // Connected first: while connecting, BullMQ holds a 'ready' listener of its own for a moment.
    await queue.waitUntilReady();
    const listeners = connection.listenerCount('ready');
    const started = schedule.start();
    assert.equal(connection.listenerCount('ready'), listeners + 1);
    const first = schedule.stop();
    assert.equal(schedule.stop(), first, 'a second stop is the same stop');
    await first;
    assert.ok(await queue.getJobScheduler(SWEEP_JOB), 'the first check finished before stop() resolved');
    assert.equal(connection.listenerCount('ready'), listeners);
    await started;
  });
});
