#!/usr/bin/env node
/**
 * The import check (part of `npm run check:static`). It fails when:
 *
 * 1. src/ has a circular import (type-only imports included: they still couple modules);
 * 2. a file in src/ imports a higher layer. The layers, highest first:
 *
 *      cli        cli/, cli.ts, index.ts (entry points: nothing in src/ imports them)
 *      api        api/, start.ts, metrics.ts (only the API serves metrics), simulator-loader.ts
 *      workers    creation/, resolution/, webhooks/
 *      producer   producer/, queues.ts (the queues and addCreationJobs, which the producer enqueues through)
 *      domain     listing/, images/, vr/, chromium.ts (the browser's launch check)
 *      db         db/
 *      config     config.ts, and what everything may use: net/ (the address policy config parses),
 *                 logger.ts, log-events.ts, lifecycle.ts, signals.ts, outage.ts, safe-errors.ts,
 *                 errors.ts (the error bases)
 *
 *    A file may import its own layer and any lower one, never a higher one. Type-only imports count.
 *    A file that fits none of the above (a new top-level file or folder) fails too, so that its
 *    place is decided here and not by accident. KNOWN_EXCEPTIONS lists the few edges that go up
 *    today, each with why; a new one fails;
 * 3. simulator/ (its source and its tests) reaches the product other than through
 *    `vr-lister/site-data`: a relative import into src/, or any other `vr-lister` entry;
 * 4. src/ imports simulator/ statically (`start` and `vr-lister simulator` load it on demand).
 *
 * `node scripts/check-imports.mjs [repo-root]`; checkImports(root) is exported for its test.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Layers, highest first: each member is a folder of src/ (ending in /) or a top-level file. */
export const LAYERS = [
  { name: 'cli', members: ['cli/', 'cli.ts', 'index.ts'] },
  { name: 'api/start', members: ['api/', 'start.ts', 'metrics.ts', 'simulator-loader.ts'] },
  { name: 'workers', members: ['creation/', 'resolution/', 'webhooks/'] },
  { name: 'producer', members: ['producer/', 'queues.ts'] },
  { name: 'domain', members: ['listing/', 'images/', 'vr/', 'chromium.ts'] },
  { name: 'db', members: ['db/'] },
  {
    name: 'config',
    members: [
      'config.ts',
      'net/',
      'logger.ts',
      'log-events.ts',
      'lifecycle.ts',
      'signals.ts',
      'outage.ts',
      'safe-errors.ts',
      'errors.ts',
    ],
  },
];

/**
 * Upward imports that exist today, by file (relative to src/). Each is a real coupling that the
 * layer order does not describe; moving the shared piece down would remove it.
 */
export const KNOWN_EXCEPTIONS = new Map([
  // Config validates VR_DEFAULT_CATEGORY against the shipped tree and VR_SHIPPING_FEES against the
  // regions, and returns listingDefaults: the listing vocabulary it parses lives in listing/ and vr/.
  ['config.ts -> listing/listing.ts', 'shipping regions and ListingDefaults, parsed from the environment'],
  ['config.ts -> vr/categories.ts', 'VR_DEFAULT_CATEGORY is checked against the shipped category tree'],
  // The jobs table stores the validated listing as JSON, typed as such (a type-only import).
  ['db/schema.ts -> listing/listing.ts', 'the type of the listing stored in vr_jobs.payload'],
]);

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every import in `source`: its specifier, and whether it is static (a dynamic import() is not). */
export function importsOf(source) {
  const found = [];
  for (const m of source.matchAll(IMPORT)) {
    if (m[2] !== undefined) found.push({ specifier: m[2], static: true });
    else found.push({ specifier: m[3], static: false });
  }
  return found;
}

function sourceFiles(dir) {
  const files = [];
  if (!existsSync(dir)) return files;
  (function walk(current) {
    for (const name of readdirSync(current)) {
      if (name === 'node_modules' || name === 'dist') continue;
      const path = join(current, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) files.push(path);
    }
  })(dir);
  return files;
}

/** The layer index (0 = highest) of a file under src/, or undefined if no layer names it. */
export function layerOf(pathInSrc) {
  const top = pathInSrc.includes('/') ? `${pathInSrc.split('/')[0]}/` : pathInSrc;
  const index = LAYERS.findIndex((layer) => layer.members.includes(top));
  return index === -1 ? undefined : index;
}

const layerName = (index) => LAYERS[index]?.name ?? '?';

/** Checks the repository at `root`; returns what is wrong, one line each, and how many modules it read. */
export function checkImports(repoRoot) {
  const root = resolve(repoRoot);
  const srcRoot = join(root, 'src');
  const simulatorRoot = join(root, 'simulator');
  const inside = (path, dir) => path === dir || path.startsWith(dir + sep);
  const problems = [];

  // Layers and cycles in src/.
  const srcFiles = sourceFiles(srcRoot);
  const known = new Set(srcFiles);
  const graph = new Map();
  for (const file of srcFiles) {
    const from = relative(srcRoot, file).split(sep).join('/');
    const fromLayer = layerOf(from);
    if (fromLayer === undefined)
      problems.push(`src/${from}: in no layer (add it to LAYERS in scripts/check-imports.mjs)`);
    const deps = [];
    for (const { specifier, static: isStatic } of importsOf(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier);
      if (inside(target, simulatorRoot) && isStatic)
        problems.push(`src/${from}: imports the simulator statically (${specifier}); load it on demand`);
      if (!known.has(target)) continue;
      deps.push(target);
      const to = relative(srcRoot, target).split(sep).join('/');
      const toLayer = layerOf(to);
      if (fromLayer === undefined || toLayer === undefined || toLayer >= fromLayer) continue;
      if (KNOWN_EXCEPTIONS.has(`${from} -> ${to}`)) continue;
      problems.push(
        `src/${from} (layer ${layerName(fromLayer)}) imports src/${to} (layer ${layerName(toLayer)}, higher)`,
      );
    }
    graph.set(file, deps);
  }
  const state = new Map();
  function visit(node, stack) {
    state.set(node, 'visiting');
    stack.push(node);
    for (const dep of graph.get(node) ?? []) {
      if (state.get(dep) === 'visiting')
        problems.push(
          `circular import: ${[...stack.slice(stack.indexOf(dep)), dep].map((f) => relative(srcRoot, f)).join(' -> ')}`,
        );
      else if (!state.has(dep)) visit(dep, stack);
    }
    stack.pop();
    state.set(node, 'done');
  }
  for (const file of srcFiles) if (!state.has(file)) visit(file, []);

  // The simulator's one way in.
  const simulatorFiles = sourceFiles(simulatorRoot);
  for (const file of simulatorFiles) {
    const from = relative(root, file).split(sep).join('/');
    for (const { specifier } of importsOf(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.') && inside(resolve(dirname(file), specifier), srcRoot))
        problems.push(`${from}: imports the product directly (${specifier}); use vr-lister/site-data`);
      else if (
        (specifier === 'vr-lister' || specifier.startsWith('vr-lister/')) &&
        specifier !== 'vr-lister/site-data'
      )
        problems.push(`${from}: imports ${specifier}; the simulator's only way in is vr-lister/site-data`);
    }
  }
  return { problems, modules: srcFiles.length + simulatorFiles.length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(import.meta.dirname, '..'));
  const { problems, modules } = checkImports(root);
  if (problems.length) {
    for (const problem of problems) console.error(problem);
    process.exit(1);
  }
  console.log(`imports: ${modules} modules, no cycle, layers kept, the simulator apart`);
}
