import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../helpers/cli.ts';

test('the committed migrations match src/db/schema.ts', async () => {
  const out = await mkdtemp(join(tmpdir(), 'vrl-drizzle-'));
  try {
    await cp(join(REPO_ROOT, 'drizzle'), out, { recursive: true });
    const before = await readdir(out);
    const { stdout, stderr } = await promisify(execFile)(
      join(REPO_ROOT, 'node_modules/.bin/drizzle-kit'),
      [
        'generate',
        '--dialect',
        'postgresql',
        '--schema',
        './src/db/schema.ts',
        '--out',
        relative(REPO_ROOT, out),
      ],
      { cwd: REPO_ROOT },
    );
    assert.deepEqual(await readdir(out), before, `drizzle-kit generated a new migration:\n${stdout}`);
    assert.match(stdout + stderr, /No schema changes/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
