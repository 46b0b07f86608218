import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { progressReporter, renderProgress } from '../../src/cli/progress.ts';
import { formatAge, redrawer, renderWatch, type WatchSnapshot } from '../../src/cli/watch.ts';
import { RESOLVE_QUEUE } from '../../src/queues.ts';
import { type FlushJobData, requestFlush } from '../../src/resolution/trigger.ts';
import { runCli, startCli } from '../helpers/cli.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';

const NOW = Date.parse('2026-01-01T12:00:10.000Z');
const snapshot: WatchSnapshot = {
  at: '2026-01-01T12:00:10.000Z',
  counts: { queued: 4, in_progress: 1, completed_pending_id: 2, completed: 7, failed: 1, needs_review: 0 },
  pending_count: 2,
  oldest_pending: '2026-01-01T12:00:00.000Z',
  last_resolution: null,
  creating: { id: 9, productRef: 'SKU-9', attempt: 2, since: '2026-01-01T12:00:05.000Z' },
  flush_running: null,
  next_flush: { reason: 'drain', state: 'delayed', due_at: '2026-01-01T12:00:14.000Z' },
  jobs: [
    {
      id: 1,
      productRef: 'SKU-1',
      status: 'completed',
      vrListingId: '123456',
      attempts: 1,
      resolutionAttempts: 1,
      submittedAt: null,
      error: null,
      artifacts: [],
      verification: {
        status: 'mismatch',
        differences: [{ field: 'shipping.fees.uk', asked: 40, found: null }],
        checkedAt: null,
      },
    },
  ],
};

describe('the watch and progress renderers', () => {
  test('not a terminal: one plain line, no escape codes, whatever the colour setting', () => {
    for (const color of [false, true]) {
      const line = renderWatch(snapshot, { tty: false, color, frame: 3, now: NOW });
      assert.equal(
        line,
        '2026-01-01T12:00:10.000Z queued=4 in_progress=1 completed_pending_id=2 completed=7 failed=1 needs_review=0 | creating: SKU-9 (attempt 2, 5s) | flush: next in 4s (drain)',
      );
    }
    const idle = { ...snapshot, creating: null, next_flush: null };
    assert.match(
      renderWatch(idle, { tty: false, color: false, frame: 0, now: NOW }),
      /creating: nothing \| flush: none scheduled$/,
    );
    const running = { ...snapshot, flush_running: { reason: 'batch', since: '2026-01-01T12:00:08.000Z' } };
    assert.match(
      renderWatch(running, { tty: false, color: false, frame: 0, now: NOW }),
      /flush: running \(batch, 2s\), next in 4s/,
    );
  });

  test('a terminal: a block of lines with a spinner; colours only when allowed (NO_COLOR)', () => {
    const plain = renderWatch(snapshot, { tty: true, color: false, frame: 0, now: NOW });
    assert.doesNotMatch(plain, /\x1b\[/);
    const lines = plain.split('\n');
    assert.match(lines[0]!, /^⠋ vr-lister {2}12:00:10 UTC/);
    assert.match(
      lines[1]!,
      /queued 4 {3}in progress 1 {3}waiting for id 2 {3}completed 7 {3}failed 1 {3}needs review 0/,
    );
    assert.match(plain, /creating {3}SKU-9 \(attempt 2, 5s\)/);
    assert.match(plain, /flush {6}next in 4s \(drain\)/);
    assert.match(plain, /SKU-1 {2}completed {7}V&R id 123456/);
    assert.notEqual(
      renderWatch(snapshot, { tty: true, color: false, frame: 1, now: NOW }).split('\n')[0],
      lines[0],
      'the spinner moves',
    );
    const colored = renderWatch(snapshot, { tty: true, color: true, frame: 0, now: NOW });
    assert.match(colored, /\x1b\[32m/);
    assert.equal(colored.replace(/\x1b\[\d+m/g, ''), plain);
  });

  test('a read-back mismatch is loud: its own line and the job marked, in both forms', () => {
    const withMismatch: WatchSnapshot = {
      ...snapshot,
      verification: {
        counts: { pending: 0, ok: 2, mismatch: 1, skipped: 0 },
        mismatches: [
          {
            jobId: 1,
            productRef: 'SKU-1',
            vrListingId: '123456',
            fields: ['shipping.fees.uk'],
            checkedAt: null,
          },
        ],
      },
    };
    const line = renderWatch(withMismatch, { tty: false, color: false, frame: 0, now: NOW });
    assert.match(line, /^read-back: 1 mismatch \(SKU-1: shipping\.fees\.uk\) \| /);
    const block = renderWatch(withMismatch, { tty: true, color: false, frame: 0, now: NOW });
    assert.match(block, /read-back: 1 mismatch \(SKU-1: shipping\.fees\.uk\)/);
    assert.match(block, /V&R id 123456 {2}mismatch: shipping\.fees\.uk/);
    const none = {
      ...withMismatch,
      verification: { counts: { pending: 0, ok: 3, mismatch: 0, skipped: 0 }, mismatches: [] },
    };
    assert.doesNotMatch(renderWatch(none, { tty: false, color: false, frame: 0, now: NOW }), /read-back/);
  });

  test('the redraw moves back over the previous block', () => {
    const written: string[] = [];
    const screen = redrawer({ write: (t: string) => written.push(t) });
    screen.draw('a\nb\nc');
    screen.draw('d');
    assert.deepEqual(written, ['a\nb\nc\n', '\x1b[3A\r\x1b[Jd\n']);
  });

  test('the progress bar on a terminal, plain lines elsewhere, nothing with --json', () => {
    assert.equal(
      renderProgress(50, 200, { width: 10, label: 'enqueued' }),
      '[###-------]  25%  50/200 enqueued',
    );
    assert.equal(renderProgress(0, 0, { width: 4 }), '[####] 100%  0/0');
    const tty: string[] = [];
    const bar = progressReporter({ isTTY: true, write: (t: string) => tty.push(t) }, 4, {
      label: 'enqueued',
    });
    bar.update(2);
    bar.update(4);
    bar.finish();
    assert.match(tty[0]!, /^\r\[#+-+\] {2}50% {2}2\/4 enqueued\x1b\[K$/);
    assert.equal(tty.at(-1), '\n');
    const pipe: string[] = [];
    const lines = progressReporter({ isTTY: false, write: (t: string) => pipe.push(t) }, 4, {
      label: 'enqueued',
    });
    lines.update(4);
    lines.finish();
    assert.deepEqual(pipe, ['enqueued 4/4\n']);
    const none: string[] = [];
    progressReporter({ isTTY: true, write: (t: string) => none.push(t) }, 4, { quiet: true }).update(4);
    assert.deepEqual(none, []);
  });

  test('ages', () => {
    assert.equal(formatAge(4_400), '4s');
    assert.equal(formatAge(125_000), '2m05s');
    assert.equal(formatAge(3_720_000), '1h02m');
    assert.equal(formatAge(-5), '0s');
  });
});

describe('vr-lister watch against Postgres and Redis', () => {
  let services: TestServices;
  let resolveQueue: Queue<FlushJobData>;

  before(async () => {
    services = await setupServices();
    resolveQueue = new Queue<FlushJobData>(RESOLVE_QUEUE, {
      connection: services.redis,
      prefix: services.queuePrefix,
    });
    await services
      .producer()
      .enqueueListings(
        ['W-1', 'W-2', 'W-3'].map((productRef) => ({ productRef, brand: 'Vox', model: 'AC30', price: 900 })),
      );
    await services.database
      .sql`update vr_jobs set status = 'in_progress', attempts = 2 where product_ref = 'W-2'`;
  });

  after(async () => {
    await resolveQueue.close();
    await services.cleanup();
  });

  test('--once --json: counts, the listing being created, and when the next flush is due', async () => {
    const before = Date.now();
    await requestFlush(resolveQueue, 'drain', 600_000);
    const after = Date.now();
    const result = await runCli(['watch', '--once', '--json'], services.env());
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const s = JSON.parse(lines[0]!) as WatchSnapshot;
    assert.deepEqual(s.counts, {
      queued: 2,
      in_progress: 1,
      completed_pending_id: 0,
      completed: 0,
      failed: 0,
      needs_review: 0,
    });
    assert.equal(s.creating?.productRef, 'W-2');
    assert.equal(s.creating?.attempt, 2);
    assert.equal(s.flush_running, null);
    assert.equal(s.next_flush?.reason, 'drain');
    assert.equal(s.next_flush?.state, 'delayed');
    const due = Date.parse(s.next_flush!.due_at);
    assert.ok(due >= before + 600_000 && due <= after + 600_000, s.next_flush!.due_at);
    assert.equal(s.jobs, undefined);
  });

  test('--once without a terminal: one plain line', async () => {
    const result = await runCli(['watch', '--once'], services.env());
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.split('\n').length, 2);
    assert.match(
      result.stdout,
      /queued=2 in_progress=1 .* \| creating: W-2 \(attempt 2, \d+s\) \| flush: next in 9m\d\ds \(drain\)\n$/,
    );
    assert.doesNotMatch(result.stdout, /\x1b/);
  });

  test('--json refreshes as NDJSON until SIGINT, then exits 0', async (t) => {
    const watch = startCli(['watch', '--json', '--interval', '100'], services.env());
    t.after(() => {
      if (watch.child.exitCode === null && watch.child.signalCode === null) watch.child.kill('SIGKILL');
    });
    await waitFor(
      'three refreshes',
      () =>
        watch
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{')).length >= 3,
    );
    watch.child.kill('SIGINT');
    const exit = await watch.exited;
    assert.equal(exit.code, 0, watch.output());
    for (const line of watch.output().trim().split('\n')) {
      assert.equal((JSON.parse(line) as WatchSnapshot).counts.queued, 2);
    }
  });

  test('bad options are usage errors', async () => {
    const result = await runCli(['watch', '--interval', 'soon'], services.env());
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--interval must be a positive integer/);
  });

  test('migrate and health print JSON with --json; health fails without the worker asked for', async () => {
    const migrate = await runCli(['migrate', '--json'], services.env());
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.deepEqual(JSON.parse(migrate.stdout), { migrated: true });
    const health = await runCli(['health', '--json'], services.env());
    assert.equal(health.code, 0, health.stderr);
    assert.deepEqual(JSON.parse(health.stdout), { ok: true, postgres: true, redis: true, errors: [] });
    const worker = await runCli(['health', '--worker', 'create', '--json'], services.env());
    assert.equal(worker.code, 1);
    assert.deepEqual(JSON.parse(worker.stdout), {
      ok: false,
      postgres: true,
      redis: true,
      workers: 0,
      errors: ['no create worker connected'],
    });
    const down = await runCli(['health'], services.env({ REDIS_URL: 'redis://127.0.0.1:1' }));
    assert.equal(down.code, 1);
    assert.match(down.stdout, /^unhealthy: redis: /);
  });
});
