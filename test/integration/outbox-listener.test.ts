import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { OUTAGE_EVENT, trackOutage } from '../../src/outage.ts';
import { OUTBOX_CHANNEL } from '../../src/queues.ts';
import { OUTBOX_LISTENER_APP, OutboxListener } from '../../src/resolution/outbox-listener.ts';
import { captureLogs, outageLines } from '../helpers/log-capture.ts';
import { PG_ADMIN_URL, setupServices, type TestServices, waitFor } from '../helpers/services.ts';

describe('outbox listener', () => {
  let services: TestServices;
  let admin: postgres.Sql;
  const running: OutboxListener[] = [];

  before(async () => {
    services = await setupServices();
    admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  });

  after(async () => {
    await Promise.allSettled(running.map((l) => l.stop()));
    await admin.end();
    await services.cleanup();
  });

  /** A listener on this file's database whose onNotify counts its runs (and may hold them). */
  function startListener({
    heartbeatMs = 200,
    hold,
  }: {
    heartbeatMs?: number;
    hold?: () => Promise<void>;
  } = {}) {
    const logs = captureLogs();
    const runs = { count: 0, active: 0, maxActive: 0 };
    const listener = new OutboxListener({
      databaseUrl: services.databaseUrl,
      sql: services.database.sql,
      heartbeatMs,
      onNotify: async () => {
        runs.count += 1;
        runs.active += 1;
        runs.maxActive = Math.max(runs.maxActive, runs.active);
        try {
          await hold?.();
        } finally {
          runs.active -= 1;
        }
      },
      outage: trackOutage(logs.logger, 'Postgres', 'test'),
    });
    running.push(listener);
    return { listener, runs, logs, started: listener.start() };
  }

  const notify = () => services.database.sql`select pg_notify(${OUTBOX_CHANNEL}, '')`;
  /** The listener's backends in this file's database (found by its application_name). */
  const listenerPids = async () =>
    (
      await services.database.sql<{ pid: number }[]>`
        select pid from pg_stat_activity
        where datname = current_database() and application_name = ${OUTBOX_LISTENER_APP}`
    ).map((r) => r.pid);
  const dbName = () => new URL(services.databaseUrl).pathname.slice(1);

  test('a NOTIFY on the outbox channel runs onNotify, and so does the LISTEN being in place', async () => {
    const { listener, runs, started } = startListener();
    await started;
    await waitFor('the drain after LISTEN', () => runs.count >= 1, 10_000);
    const before = runs.count;
    await notify();
    await waitFor('the drain after NOTIFY', () => runs.count > before, 10_000);
    await listener.stop();
  });

  test('many notifications coalesce: onNotify never runs twice at once, and runs fewer times', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { listener, runs, started } = startListener({ heartbeatMs: 60_000, hold: () => gate });
    await started;
    // The run after LISTEN is held while the notifications arrive.
    await waitFor('the first run', () => runs.active === 1, 10_000);
    // A listener of the test's own says when they have been delivered.
    const probe = postgres(services.databaseUrl, { max: 1, onnotice: () => {} });
    let heard = 0;
    await probe.listen(OUTBOX_CHANNEL, () => {
      heard += 1;
    });
    const many = 30;
    await services.database.sql.begin(async (tx) => {
      for (let i = 0; i < many; i += 1) await tx`select pg_notify(${OUTBOX_CHANNEL}, ${String(i)})`;
    });
    await waitFor('the notifications delivered', () => heard >= many, 10_000);
    await probe.end();
    release();
    await waitFor('the coalesced run', () => runs.count >= 2, 10_000);
    // stop() waits for the drain in progress: the count is final.
    await listener.stop();
    assert.equal(runs.maxActive, 1, 'one run at a time');
    assert.ok(runs.count < many, `${runs.count} runs for ${many} notifications`);
  });

  test('its backend killed: it listens again, the drain runs, and a later NOTIFY is heard', async () => {
    const { listener, runs, started } = startListener();
    await started;
    await waitFor('the drain after LISTEN', () => runs.count >= 1, 10_000);
    const [pid, ...others] = await listenerPids();
    assert.ok(pid, 'the listener has a backend with its application_name');
    assert.equal(others.length, 0);
    const before = runs.count;
    await admin`select pg_terminate_backend(${pid})`;
    await waitFor(
      'a new backend listening',
      async () => (await listenerPids()).some((p) => p !== pid),
      10_000,
    );
    await waitFor('the drain after listening again', () => runs.count > before, 10_000);
    const afterReconnect = runs.count;
    await waitFor(
      'a NOTIFY heard after the reconnect',
      async () => {
        await notify();
        return runs.count > afterReconnect;
      },
      10_000,
    );
    await listener.stop();
  });

  test('killed while the database refuses connections: the heartbeat notices, reports the outage, and listens again once it is back', async () => {
    const { listener, runs, logs, started } = startListener();
    await started;
    await waitFor('the drain after LISTEN', () => runs.count >= 1, 10_000);
    const [pid] = await listenerPids();
    assert.ok(pid);
    // Nothing runs onNotify while the database refuses connections.
    const before = runs.count;
    // postgres.js's own re-listen right after the kill fails too: only the heartbeat brings it back.
    await admin.unsafe(`alter database "${dbName()}" allow_connections false`);
    try {
      await admin`select pg_terminate_backend(${pid})`;
      await waitFor(
        'the outage reported with the listener',
        () =>
          outageLines(logs.lines, 'Postgres', OUTAGE_EVENT.down).find((l) => l.listener === OUTBOX_CHANNEL),
        10_000,
      );
    } finally {
      await admin.unsafe(`alter database "${dbName()}" allow_connections true`);
    }
    await waitFor(
      'a new backend listening',
      async () => (await listenerPids()).some((p) => p !== pid),
      10_000,
    );
    await waitFor('the drain after listening again', () => runs.count > before, 10_000);
    await waitFor(
      'the outage over',
      () => outageLines(logs.lines, 'Postgres', OUTAGE_EVENT.up).find((l) => l.listener === OUTBOX_CHANNEL),
      10_000,
    );
    const afterReconnect = runs.count;
    await notify();
    await waitFor('a NOTIFY heard after the reconnect', () => runs.count > afterReconnect, 10_000);
    await listener.stop();
  });

  test('stop() ends its connection and is idempotent', async () => {
    const { listener, started } = startListener();
    await started;
    assert.equal((await listenerPids()).length, 1);
    const first = listener.stop();
    assert.equal(listener.stop(), first, 'a second stop is the same stop');
    await first;
    await waitFor('no backend left', async () => (await listenerPids()).length === 0, 10_000);
    await listener.stop();
  });

  test('stop() before start() does nothing and resolves', async () => {
    const listener = new OutboxListener({
      databaseUrl: services.databaseUrl,
      sql: services.database.sql,
      onNotify: async () => {},
      outage: trackOutage(captureLogs().logger, 'Postgres', 'test'),
    });
    await listener.stop();
    assert.equal((await listenerPids()).length, 0);
  });
});
