/**
 * Redis and Postgres servers of a test's own, on free ports, for the tests that stop and restart
 * them. The shared services on 6379 and 5432 are never touched: other test files and CI use them.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { chmod, chown, mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { waitFor } from './services.ts';

const run = promisify(execFile);

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: no goodbye to the clients). Its data is gone: no persistence. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** kill() then start(). */
  restart(): Promise<void>;
  /** Stops it for good; safe to call twice, and synchronous (usable in an exit handler). */
  stop(): void;
}

/** A redis-server child on a free port, without persistence. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const alive = async () => {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } finally {
      probe.disconnect();
    }
  };
  const start = async () => {
    if (child) return;
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    child.on('exit', () => {
      child = undefined;
    });
    await waitFor(`redis-server on port ${port}`, alive, 30_000);
  };
  const kill = async () => {
    const current = child;
    if (!current) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill('SIGKILL');
    await exited;
  };
  try {
    await start();
  } catch (error) {
    // Never answered: the caller has no handle to stop it with.
    child?.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    port,
    kill,
    start,
    restart: async () => {
      await kill();
      await start();
    },
    stop: () => {
      child?.kill('SIGKILL');
    },
  };
}

export interface PrivatePostgres {
  /** Admin URL (database `postgres`, user `postgres`, trust authentication). */
  url: string;
  port: number;
  /** A URL for another database on this server. */
  urlFor(database: string): string;
  /** `pg_ctl restart -m fast`: every connection is cut, the data stays. */
  restart(): Promise<void>;
  pgStop(): Promise<void>;
  pgStart(): Promise<void>;
  /** Stops the server and deletes its data directory; safe to call twice, and synchronous (usable in an exit handler). */
  stop(): void;
}

/** The newest PostgreSQL server binaries (Debian: /usr/lib/postgresql/<version>/bin), or PG_BIN_DIR. */
export function postgresBinDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0]) throw new Error(`no PostgreSQL server binaries under ${root} (set PG_BIN_DIR)`);
  return join(root, versions[0], 'bin');
}

/**
 * A throw-away PostgreSQL cluster on a free port, run by the `postgres` user (initdb refuses root),
 * its socket in its own directory.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'vrl-pg-'));
  const data = join(dir, 'data');
  const asPostgres = (args: string[]) =>
    run('runuser', ['-u', 'postgres', '--', ...args], { cwd: dir, maxBuffer: 10 * 1024 * 1024 });
  const ctl = (action: string, ...extra: string[]) =>
    asPostgres([
      join(bin, 'pg_ctl'),
      '-D',
      data,
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-l',
      join(dir, 'log'),
      '-w',
      ...extra,
      action,
    ]);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      execFileSync(
        'runuser',
        ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop'],
        {
          stdio: 'ignore',
        },
      );
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const uid = Number(stdout.trim());
    const { stdout: gidOut } = await run('id', ['-g', 'postgres']);
    await chown(dir, uid, Number(gidOut.trim()));
    await chmod(dir, 0o700);
    await asPostgres([join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    await ctl('start');
  } catch (error) {
    // The caller gets no handle to stop it with: a half-started cluster and its directory go now.
    stop();
    throw error;
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    urlFor: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    restart: async () => {
      await ctl('restart', '-m', 'fast');
    },
    pgStop: async () => {
      await ctl('stop', '-m', 'fast');
    },
    pgStart: async () => {
      await ctl('start');
    },
    stop,
  };
}
