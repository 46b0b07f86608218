#!/usr/bin/env node
// Fails when src/ has a circular import (type-only imports included: they still couple modules).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', 'src');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.ts')) files.push(path);
  }
})(root);

const graph = new Map();
for (const file of files) {
  const source = readFileSync(file, 'utf8');
  const deps = [
    ...source.matchAll(
      /(?:import|export)[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g,
    ),
  ]
    .map((m) => resolve(dirname(file), m[1] ?? m[2]))
    .filter((dep) => graph.has(dep) || files.includes(dep));
  graph.set(file, deps);
}

const state = new Map();
const cycles = [];
function visit(node, stack) {
  state.set(node, 'visiting');
  stack.push(node);
  for (const dep of graph.get(node) ?? []) {
    if (state.get(dep) === 'visiting') cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
    else if (!state.has(dep)) visit(dep, stack);
  }
  stack.pop();
  state.set(node, 'done');
}
for (const file of files) if (!state.has(file)) visit(file, []);

if (cycles.length) {
  for (const cycle of cycles)
    console.error(`circular import: ${cycle.map((f) => relative(root, f)).join(' -> ')}`);
  process.exit(1);
}
console.log(`no circular imports in ${files.length} modules`);
