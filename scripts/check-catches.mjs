#!/usr/bin/env node
/**
 * The swallowed-error check (part of `npm run check:static`). A `.catch(() => {})` in src/ drops an
 * error without a word; each one must say why that is fine, in a `//` comment on its line or the
 * line before (several in a row may share the one above them). One that matters to an operator logs instead (`logger.warn({ err, event }, ...)`).
 *
 * `node scripts/check-catches.mjs [repo-root]`; checkCatches(root) is exported for a test.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SWALLOW = '.catch(() => {})';
const hasComment = (line) => line?.includes('//') ?? false;

/** A comment on the line or the line before; a run of swallows in a row may share one comment above it. */
function explained(lines, index) {
  let first = index;
  while (first > 0 && lines[first - 1].includes(SWALLOW) && !hasComment(lines[first - 1])) first -= 1;
  return hasComment(lines[index]) || hasComment(lines[first - 1]);
}

function sourceFiles(dir) {
  const files = [];
  if (!existsSync(dir)) return files;
  (function walk(current) {
    for (const name of readdirSync(current)) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mts|js|mjs)$/.test(name)) files.push(path);
    }
  })(dir);
  return files;
}

/** Every uncommented swallow under src/, as `file:line`, and how many swallows it saw in all. */
export function checkCatches(repoRoot) {
  const root = resolve(repoRoot);
  const offenders = [];
  let seen = 0;
  for (const file of sourceFiles(join(root, 'src'))) {
    const path = relative(root, file).split(sep).join('/');
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, index) => {
      if (!line.includes(SWALLOW)) return;
      seen += 1;
      if (!explained(lines, index)) offenders.push(`${path}:${index + 1}`);
    });
  }
  return { offenders, seen };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { offenders, seen } = checkCatches(process.argv[2] ?? join(import.meta.dirname, '..'));
  if (offenders.length) {
    for (const offender of offenders)
      console.error(`${offender}: .catch(() => {}) without a comment saying why the error can't matter`);
    process.exit(1);
  }
  console.log(`catches: ${seen} swallowed errors, each with its reason`);
}
