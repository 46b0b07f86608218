import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../helpers/cli.ts';

const run = promisify(execFile);

/** Ours, each holding a secret or an address of ours: none may reach Chromium. */
const OURS = ['VR_PASSWORD', 'VR_SESSION_KEY', 'DATABASE_URL', 'API_TOKEN', 'REDIS_URL', 'WEBHOOK_SECRET'];

test('Chromium runs in its sandbox when the worker is not root, and sees none of our variables', {
  timeout: 120_000,
}, async () => {
  const secrets = OURS.map((name) => `${name}='probe-${name.toLowerCase()}-value'`).join(' ');
  const probe = `${secrets} node --import tsx test/helpers/sandbox-probe.ts`;
  // As root (CI, this machine) the probe runs as `nobody`, as the image runs as `node`: root
  // itself is the one case where Chromium can't be sandboxed.
  const { stdout } =
    process.getuid?.() === 0
      ? await run('su', ['nobody', '-s', '/bin/sh', '-c', `cd '${REPO_ROOT}' && HOME=/tmp ${probe}`])
      : await run('/bin/sh', ['-c', probe], { cwd: REPO_ROOT });
  const { uid, text, environ } = JSON.parse(stdout) as { uid: number; text: string; environ: string[][] };
  assert.notEqual(uid, 0);
  assert.match(text, /Layer 1 Sandbox\s+Namespace/);
  assert.match(text, /Seccomp-BPF sandbox\s+Yes/);
  assert.match(text, /You are adequately sandboxed/);
  assert.ok(environ.length > 0, 'the browser process was found');
  for (const names of environ) {
    assert.ok(names.includes('PATH'), `Chromium keeps what it needs: ${names.join(' ')}`);
    for (const name of OURS) assert.ok(!names.includes(name), `Chromium's environment holds ${name}`);
  }
});
