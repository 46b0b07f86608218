import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli, startProcess } from '../helpers/cli.ts';

const NO_CHROMIUM = { CHROMIUM_PATH: '/nonexistent', LOG_LEVEL: 'info' };
const SITE = { VR_BASE_URL: 'http://127.0.0.1:9', VR_USERNAME: 'demo', VR_PASSWORD: 'demo' };

for (const [what, args, env] of [
  ['vr-lister start', ['start'], NO_CHROMIUM],
  ['vr-lister worker create', ['worker', 'create'], { ...NO_CHROMIUM, ...SITE }],
] as const) {
  test(`${what} without Chromium: one line saying where it looked and how to install it, exit 2`, async () => {
    // Nothing else answers either: the check comes before any connection (or the simulator) is made.
    const result = await runCli([...args], {
      ...env,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none',
      REDIS_URL: 'redis://127.0.0.1:9',
    });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, '');
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /^Chromium not found at \/nonexistent \(CHROMIUM_PATH\)/);
    assert.match(lines[0]!, /apt-get install chromium/);
    assert.match(lines[0]!, /set CHROMIUM_PATH/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });
}

test('npm start without Chromium: the same line, exit 2, no stack trace', async () => {
  const npmStart = startProcess('npm', ['start', '--silent'], NO_CHROMIUM);
  const result = { code: (await npmStart.closed).code, output: npmStart.output() };
  assert.equal(result.code, 2, result.output);
  assert.equal(result.output.trim().split('\n').length, 1, result.output);
  assert.match(
    result.output,
    /^Chromium not found at \/nonexistent \(CHROMIUM_PATH\): .*apt-get install chromium/,
  );
  assert.doesNotMatch(result.output, /\n\s+at /);
});
