import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../helpers/cli.ts';

const run = promisify(execFile);

test('Chromium runs in its sandbox when the worker is not root', { timeout: 120_000 }, async () => {
  const probe = 'node --import tsx test/helpers/sandbox-probe.ts';
  // As root (CI, this machine) the probe runs as `nobody`, as the image runs as `node`: root
  // itself is the one case where Chromium can't be sandboxed.
  const { stdout } =
    process.getuid?.() === 0
      ? await run('su', ['nobody', '-s', '/bin/sh', '-c', `cd '${REPO_ROOT}' && HOME=/tmp ${probe}`])
      : await run('/bin/sh', ['-c', probe], { cwd: REPO_ROOT });
  const { uid, text } = JSON.parse(stdout) as { uid: number; text: string };
  assert.notEqual(uid, 0);
  assert.match(text, /Layer 1 Sandbox\s+Namespace/);
  assert.match(text, /Seccomp-BPF sandbox\s+Yes/);
  assert.match(text, /You are adequately sandboxed/);
});
