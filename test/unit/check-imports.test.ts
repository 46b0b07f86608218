import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkImports } from '../../scripts/check-imports.mjs';
import { REPO_ROOT } from '../helpers/cli.ts';

/** A repository of the given files (path → source) in a temp dir. */
async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'vrl-imports-'));
  for (const [path, source] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), source);
  }
  return root;
}

describe('the import check', () => {
  const roots: string[] = [];
  const make = async (files: Record<string, string>) => {
    const root = await tree(files);
    roots.push(root);
    return checkImports(root).problems;
  };
  after(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

  test('passes on this repository', () => {
    assert.deepEqual(checkImports(REPO_ROOT).problems, []);
  });

  describe('on a small tree that keeps the rules', () => {
    let problems: string[];
    before(async () => {
      problems = await make({
        'src/config.ts': 'export const a = 1;\n',
        'src/db/client.ts': "import { a } from '../config.ts';\nexport const b = a;\n",
        'src/api/server.ts': "import { b } from '../db/client.ts';\nimport type { X } from './routes.ts';\n",
        'src/api/routes.ts': 'export type X = 1;\n',
        'src/simulator-loader.ts': "export const load = () => import('../simulator/src/index.ts');\n",
        'simulator/src/index.ts': "import { EXPORT_COLUMNS } from 'vr-lister/site-data';\n",
      });
    });
    test('finds nothing', () => assert.deepEqual(problems, []));
  });

  test('fails when a file in src/db/ imports from src/api/, a value or a type', async () => {
    const problems = await make({
      'src/db/queries.ts':
        "import { buildApi } from '../api/server.ts';\nimport type { Route } from '../api/routes.ts';\n",
      'src/api/server.ts': 'export const buildApi = 1;\n',
      'src/api/routes.ts': 'export type Route = 1;\n',
    });
    assert.deepEqual(problems, [
      'src/db/queries.ts (layer db) imports src/api/server.ts (layer api/start, higher)',
      'src/db/queries.ts (layer db) imports src/api/routes.ts (layer api/start, higher)',
    ]);
  });

  test('fails on a cycle inside one layer, and on a file in no layer', async () => {
    const problems = await make({
      'src/vr/a.ts': "import { b } from './b.ts';\nexport const a = b;\n",
      'src/vr/b.ts': "import { a } from './a.ts';\nexport const b = a;\n",
      'src/gadgets/c.ts': 'export const c = 1;\n',
    });
    assert.ok(
      problems.some((p) => /^circular import: vr\/a\.ts -> vr\/b\.ts -> vr\/a\.ts$/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.includes('src/gadgets/c.ts: in no layer (add it to LAYERS in scripts/check-imports.mjs)'),
    );
  });

  test('fails when the simulator reaches the product other than through vr-lister/site-data, or src/ imports it statically', async () => {
    const problems = await make({
      'src/vr/categories.ts': 'export const tree = [];\n',
      'src/start.ts': "import { startSimulator } from '../simulator/src/index.ts';\n",
      'simulator/src/index.ts':
        "import { tree } from '../../src/vr/categories.ts';\nimport { x } from 'vr-lister';\n",
      'simulator/test/a.test.ts': "import { y } from '../../src/vr/categories.ts';\n",
    });
    assert.deepEqual(problems.sort(), [
      'simulator/src/index.ts: imports the product directly (../../src/vr/categories.ts); use vr-lister/site-data',
      "simulator/src/index.ts: imports vr-lister; the simulator's only way in is vr-lister/site-data",
      'simulator/test/a.test.ts: imports the product directly (../../src/vr/categories.ts); use vr-lister/site-data',
      'src/start.ts: imports the simulator statically (../simulator/src/index.ts); load it on demand',
    ]);
  });
});
