import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/cli.ts';
import {
  type Compose,
  composeProblems,
  composeSchemaErrors,
  dockerfileLint,
  dockerfileProblems,
  durationSeconds,
} from '../helpers/deploy-rules.ts';

const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const composeText = readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8');
const compose = parse(composeText, { merge: true }) as Compose;

/** `text` with `from` replaced; fails if `from` isn't there, so a mutation can't silently do nothing. */
function mutate(text: string, from: string | RegExp, to: string): string {
  const changed = text.replace(from, to);
  assert.notEqual(changed, text, `mutation ${from} applies`);
  return changed;
}

test('the Dockerfile passes the dockerfile-utils linter, errors and warnings alike', () => {
  assert.deepEqual(dockerfileLint(dockerfile), []);
  // The linter's answers are LSP diagnostics: an error is severity 1, a warning 2. Both count.
  assert.match(dockerfileLint(mutate(dockerfile, /^EXPOSE 3000$/m, 'EXPOSE abc')).join('\n'), /error/);
  assert.match(dockerfileLint(`MAINTAINER someone\n${dockerfile}`).join('\n'), /warning: MAINTAINER/);
});

test('the Dockerfile is multi-stage, non-root, installs Chromium, and hands signals to Node', () => {
  assert.deepEqual(dockerfileProblems(dockerfile), []);
});

test('each Dockerfile rule catches what it is about', () => {
  const runtimeAt = dockerfile.lastIndexOf('\nFROM ');
  const [head, runtime] = [dockerfile.slice(0, runtimeAt), dockerfile.slice(runtimeAt)];
  const inRuntime = (from: string | RegExp, to: string) => head + mutate(runtime, from, to);
  const cases: [string, string, RegExp][] = [
    ['single stage', runtime.replace(/AS runtime/, ''), /not multi-stage/],
    ['dev dependencies', inRuntime('npm ci --omit=dev', 'npm ci'), /npm ci --omit=dev/],
    ['no chromium', inRuntime(/ chromium /, ' '), /chromium not installed/],
    ['root', inRuntime(/^USER \w+$/m, 'USER root'), /runs as root/],
    ['no USER', inRuntime(/^USER \w+$/m, ''), /runs as root/],
    ['shell-form CMD', inRuntime(/^CMD \[.*\]$/m, 'CMD api'), /exec form/],
    ['shell-form ENTRYPOINT', inRuntime(/^ENTRYPOINT \[.*\]$/m, 'ENTRYPOINT node dist/cli.js'), /exec form/],
    ['npm as PID 1', inRuntime(/^ENTRYPOINT \[.*\]$/m, 'ENTRYPOINT ["npm", "run", "cli"]'), /not node/],
    ['no CHROMIUM_PATH', inRuntime(/CHROMIUM_PATH=\S+/, 'X=1'), /CHROMIUM_PATH/],
    ['no HEALTHCHECK', inRuntime(/^HEALTHCHECK[^\n]*(\\\n[^\n]*)*\n/m, ''), /HEALTHCHECK/],
    ['no dist from build', inRuntime(/^COPY --from=build \S*\/app\/dist [^\n]*$/m, ''), /dist not copied/],
    [
      'no simulator',
      inRuntime(/^COPY --from=build[^\n]*simulator[^\n]*$/m, ''),
      /simulator\/dist\) not copied/,
    ],
  ];
  for (const [what, text, expected] of cases) {
    assert.match(dockerfileProblems(text).join('\n'), expected, what);
  }
});

test('compose.yaml is valid against the Compose Specification schema', () => {
  assert.deepEqual(composeSchemaErrors(compose), []);
  // And the schema does reject a broken file.
  assert.notDeepEqual(
    composeSchemaErrors({
      services: { api: { restart: 'unless-stopped', healthcheck: { retries: 'many' } } },
    }),
    [],
  );
});

test('compose.yaml runs every process with health checks, restarts and a long enough grace period', () => {
  assert.deepEqual(composeProblems(compose, composeText), []);
  assert.equal(durationSeconds('2m30s'), 150);
  assert.ok(Number.isNaN(durationSeconds('soon')));
});

test('each compose rule catches what it is about', () => {
  const broken = (change: (c: Compose) => void): string => {
    const copy = structuredClone(compose);
    change(copy);
    return composeProblems(copy, composeText).join('\n');
  };
  const cases: [string, (c: Compose) => void, RegExp][] = [
    ['a missing service', (c) => delete c.services['worker-resolve'], /worker-resolve missing/],
    ['no AOF', (c) => (c.services.redis!.command = ['redis-server']), /AOF/],
    ['eviction', (c) => (c.services.redis!.command = ['redis-server', '--appendonly', 'yes']), /may evict/],
    ['no redis volume', (c) => delete c.services.redis!.volumes, /redis: no volume/],
    ['no postgres volume', (c) => delete c.services.postgres!.volumes, /postgres: no data volume/],
    [
      'no healthcheck',
      (c) => delete c.services['worker-create']!.healthcheck,
      /worker-create: no healthcheck/,
    ],
    ['no restart', (c) => delete c.services.api!.restart, /api: restart/],
    [
      'a worker check that only pings Postgres',
      (c) => (c.services['worker-resolve']!.healthcheck = { test: ['CMD', 'node', 'dist/cli.js', 'status'] }),
      /worker-resolve: the healthcheck/,
    ],
    ['no init', (c) => delete c.services['worker-create']!.init, /worker-create: no init/],
    [
      'no shared evidence',
      (c) => delete c.services.api!.volumes,
      /api: ARTIFACTS_DIR is not on the shared artifacts volume/,
    ],
    [
      'Chromium unsandboxable',
      (c) => delete c.services['worker-resolve']!.security_opt,
      /worker-resolve: no seccomp profile/,
    ],
    ['short grace', (c) => (c.services['worker-create']!.stop_grace_period = '60s'), /SHUTDOWN_TIMEOUT/],
    ['no grace', (c) => delete c.services.redis!.stop_grace_period, /redis: no stop_grace_period/],
    ['simulator always on', (c) => delete c.services.simulator!.profiles, /demo profile/],
    ['migrate restarts', (c) => (c.services.migrate!.restart = 'on-failure'), /one-shot/],
    [
      'workers start before migrations',
      (c) => (c.services['worker-resolve']!.depends_on = { postgres: { condition: 'service_healthy' } }),
      /worker-resolve: does not wait for migrate/,
    ],
    ['API on every interface', (c) => (c.services.api!.ports = ['3000:3000']), /api: port 3000:3000/],
    ['Redis published', (c) => (c.services.redis!.ports = ['127.0.0.1:6379:6379']), /redis: port/],
    [
      'optional API token',
      (c) => (c.services.api!.environment = { ...c.services.api!.environment, API_TOKEN: 'x' }),
      /API_TOKEN not required/,
    ],
  ];
  for (const [what, change, expected] of cases) assert.match(broken(change), expected, what);
  assert.match(
    composeProblems(compose, `${composeText}\n# POSTGRES_PASSWORD: hunter2\n`).join('\n'),
    /literal password/,
  );
});
