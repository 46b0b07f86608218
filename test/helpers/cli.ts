import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What `npm run build` writes, and what it is built from. */
const BUILT = ['dist/cli.js', 'simulator/dist/index.js'];
const SOURCES = [
  'src',
  'simulator/src',
  'tsconfig.json',
  'tsconfig.build.json',
  'simulator/tsconfig.build.json',
];

function newestSource(path: string): { path: string; mtimeMs: number } {
  const stat = statSync(path);
  if (!stat.isDirectory()) return { path, mtimeMs: stat.mtimeMs };
  let newest = { path, mtimeMs: 0 };
  for (const name of readdirSync(path)) {
    const candidate = newestSource(join(path, name));
    if (candidate.mtimeMs > newest.mtimeMs) newest = candidate;
  }
  return newest;
}

let cliCommandCache: string[] | undefined;
/**
 * How the tests run `vr-lister`: the built dist/cli.js (`npm test` builds it once; tsx on every
 * start cost about a second each). TEST_CLI=source runs src/cli.ts through tsx instead, for a
 * quick loop on one file without rebuilding.
 */
export function cliArgs(): string[] {
  if (cliCommandCache) return cliCommandCache;
  if (process.env.TEST_CLI === 'source') {
    cliCommandCache = ['--import', 'tsx', join(REPO_ROOT, 'src/cli.ts')];
    return cliCommandCache;
  }
  const source = SOURCES.map((path) => newestSource(join(REPO_ROOT, path))).reduce((a, b) =>
    b.mtimeMs > a.mtimeMs ? b : a,
  );
  for (const built of BUILT) {
    const path = join(REPO_ROOT, built);
    const problem = !existsSync(path)
      ? `${built} is missing`
      : statSync(path).mtimeMs < source.mtimeMs
        ? `${built} is older than ${source.path.slice(REPO_ROOT.length)}`
        : undefined;
    if (problem) {
      throw new Error(
        `${problem}: run \`npm run build\` first (npm test does), or set TEST_CLI=source to run the CLI through tsx`,
      );
    }
  }
  cliCommandCache = [join(REPO_ROOT, BUILT[0]!)];
  return cliCommandCache;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `vr-lister ARGS` (see cliArgs) in a child process with exactly the given environment. */
export function runCli(args: string[], env: Record<string, string>, input?: string): Promise<CliResult> {
  const command = cliArgs();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...command, ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

export interface CliProcess {
  child: ReturnType<typeof spawn>;
  /** stdout and stderr, interleaved as they came. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Once the process exited and its output is all read. */
  closed: Promise<{ code: number | null }>;
}

/** Starts a long-running `vr-lister` command (a worker) in a child process. */
export function startCli(args: string[], env: Record<string, string>): CliProcess {
  return startProcess(process.execPath, [...cliArgs(), ...args], env);
}

/** Starts `command` in the repository with exactly the given environment (and a PATH and HOME). */
export function startProcess(command: string, args: string[], env: Record<string, string>): CliProcess {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const closed = new Promise<{ code: number | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code }));
  });
  closed.catch(() => {}); // awaited by those who want it; a spawn error must not go unhandled otherwise
  return { child, output: () => output, exited, closed };
}
