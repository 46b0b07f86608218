import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colorAllowed, createLogger, jobLoggerOr, prettyLine, withJobLogger } from '../../src/logger.ts';

function capture() {
  const lines: string[] = [];
  return { lines, stream: { write: (line: string) => void lines.push(line) } };
}

test('passwords, tokens, cookies and authorization headers never reach the log', () => {
  const { lines, stream } = capture();
  const logger = createLogger('info', { process: 'test' }, { stream, pretty: false });
  logger.info(
    {
      password: 'p1-secret',
      site: { baseUrl: 'http://v', username: 'u', password: 'p2-secret' },
      config: { apiToken: 'p3-secret', vrPassword: 'p4-secret' },
      token: 'p5-secret',
      req: { headers: { authorization: 'Bearer p6-secret', cookie: 'sid=p7-secret' } },
      res: { headers: { 'set-cookie': 'sid=p8-secret' } },
      form: { pass: 'p9-secret' },
      cookies: [{ name: 'sid', value: 'p10-secret' }],
    },
    'login',
  );
  logger.child({ authorization: 'Basic p11-secret' }).warn('child');
  assert.equal(lines.length, 2);
  const text = lines.join('');
  assert.doesNotMatch(text, /secret/);
  assert.match(text, /\[redacted\]/);
  // The V&R user name is a credential too; harmless fields stay.
  const entry = JSON.parse(lines[0]!);
  assert.equal(entry.site.username, '[redacted]');
  assert.equal(entry.site.baseUrl, 'http://v');
  assert.equal(entry.process, 'test');
  assert.equal(entry.msg, 'login');
});

test('pretty lines: level, context first, fields, no JSON; colours only when asked', () => {
  const { lines, stream } = capture();
  const logger = createLogger('info', { process: 'worker-create' }, { stream, pretty: true, color: false });
  logger
    .child({ queue: 'vr-create', jobId: 'listing-1-0', productRef: 'SKU 1', attempt: 2 })
    .info({ step: 'form filled', password: 'nope-secret' }, 'published');
  logger.error({ err: new Error('boom') }, 'failed');
  assert.equal(lines.length, 2);
  assert.match(
    lines[0]!,
    /^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[process=worker-create queue=vr-create jobId=listing-1-0 productRef="SKU 1" attempt=2\] published step="form filled" password=\[redacted\]\n$/,
  );
  assert.doesNotMatch(lines.join(''), /\x1b\[/);
  assert.match(lines[1]!, /ERROR \[process=worker-create\] failed err=boom\nError: boom\n {4}at /);

  const colored = prettyLine(JSON.stringify({ level: 40, time: 0, msg: 'careful' }), true);
  assert.match(colored, /\x1b\[33mWARN/);
  assert.equal(prettyLine('not json', true), 'not json\n');
});

test('colours only on a terminal, and never with NO_COLOR or TERM=dumb', () => {
  assert.equal(colorAllowed(true, {}), true);
  assert.equal(colorAllowed(false, {}), false);
  assert.equal(colorAllowed(true, { NO_COLOR: '1' }), false);
  assert.equal(colorAllowed(true, { TERM: 'dumb' }), false);
});

test("a job's logger travels with the call, across awaits, and only within it", async () => {
  const shared = createLogger('info', { unit: 'shared' }, { stream: { write: () => {} } });
  const job = shared.child({ jobId: '7' });
  assert.equal(jobLoggerOr(shared), shared);
  const seen = await withJobLogger(job, async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return jobLoggerOr(shared);
  });
  assert.equal(seen, job);
  assert.equal(jobLoggerOr(shared), shared, 'gone after the job');
});
