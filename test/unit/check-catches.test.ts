import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { checkCatches } from '../../scripts/check-catches.mjs';
import { REPO_ROOT } from '../helpers/cli.ts';

describe('the swallowed-error check', () => {
  const roots: string[] = [];
  after(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));
  /** The check's offenders on a repository of the given files (path → source) in a temp dir. */
  const offendersIn = async (files: Record<string, string>) => {
    const root = await mkdtemp(join(tmpdir(), 'vrl-catches-'));
    roots.push(root);
    for (const [path, source] of Object.entries(files)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), source);
    }
    return checkCatches(root).offenders;
  };

  test('passes on this repository', () => {
    assert.deepEqual(checkCatches(REPO_ROOT).offenders, []);
  });

  test('accepts a reason on the line, on the line before, or above a run of them', async () => {
    const offenders = await offendersIn({
      'src/a.ts': [
        'await a.close().catch(() => {}); // best effort',
        '// The page may be gone.',
        'await b.close().catch(() => {});',
        '// Both best effort on the way out.',
        'await c.close().catch(() => {});',
        'await d.close().catch(() => {});',
      ].join('\n'),
    });
    assert.deepEqual(offenders, []);
  });

  test('lists a swallow with no reason as file:line', async () => {
    const offenders = await offendersIn({
      'src/b.ts': 'const x = 1;\nawait a.close().catch(() => {});\n',
      'src/vr/c.ts': 'await a.close().catch(() => {}); // said why\n',
    });
    assert.deepEqual(offenders, ['src/b.ts:2']);
  });
});
