/**
 * Redis and Postgres servers of a test's own, on free ports, for the tests that stop and restart
 * them. The shared services on 6379 and 5432 are never touched: other test files and CI use them.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { chmod, chown, mkdtemp, rename, rm, utimes } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createMigratedDatabase, migrationsKey, waitFor } from './services.ts';

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

/** Runs a command as the `postgres` user (initdb and the server refuse root). */
function asPostgres(args: string[], cwd: string) {
  return run('runuser', ['-u', 'postgres', '--', ...args], { cwd, maxBuffer: 10 * 1024 * 1024 });
}

/** A new directory under the temp dir, owned by `postgres`, mode 700. */
async function postgresOwnedDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: gidOut } = await run('id', ['-g', 'postgres']);
  await chown(dir, Number(stdout.trim()), Number(gidOut.trim()));
  await chmod(dir, 0o700);
  return dir;
}

function pgCtl(bin: string, dir: string, port: number) {
  return (action: string, ...extra: string[]) =>
    asPostgres(
      [
        join(bin, 'pg_ctl'),
        '-D',
        join(dir, 'data'),
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
        '-l',
        join(dir, 'log'),
        '-w',
        ...extra,
        action,
      ],
      dir,
    );
}

const IMAGE_PREFIX = 'vrl-pg-image-';
const images = new Map<string, Promise<string>>();

/**
 * A stopped cluster to copy, made once (initdb, then the migrated template database of
 * createMigratedDatabase) and kept under the temp dir, keyed by the server's version and the
 * migrations: each private Postgres starts from a copy of its data directory instead of its own
 * initdb and migration. It is built under a temporary name and renamed when complete, so a
 * parallel file that built it too just throws its copy away.
 */
export function postgresImage(bin: string): Promise<string> {
  let image = images.get(bin);
  if (!image) {
    image = buildPostgresImage(bin);
    images.set(bin, image);
    image.catch(() => images.delete(bin));
  }
  return image;
}

async function buildPostgresImage(bin: string): Promise<string> {
  const { stdout: version } = await run(join(bin, 'postgres'), ['--version']);
  const key = createHash('sha256').update(version).update(migrationsKey()).digest('hex').slice(0, 16);
  const image = join(tmpdir(), `${IMAGE_PREFIX}${key}`);
  if (existsSync(join(image, 'data', 'PG_VERSION'))) return image;
  const dir = await postgresOwnedDir(`${IMAGE_PREFIX}building-`);
  const port = await freePort();
  const ctl = pgCtl(bin, dir, port);
  try {
    await asPostgres(
      [join(bin, 'initdb'), '-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync'],
      dir,
    );
    await ctl('start');
    try {
      await createMigratedDatabase(`postgres://postgres@127.0.0.1:${port}/postgres`);
    } finally {
      await ctl('stop', '-m', 'fast');
    }
    await rm(join(dir, 'log'), { force: true });
    await rename(dir, image);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    if (existsSync(join(image, 'data', 'PG_VERSION'))) return image; // another file finished first
    throw error;
  }
  // Images of other migrations or servers unused for a day: nobody starts from them any more.
  for (const name of readdirSync(tmpdir())) {
    const path = join(tmpdir(), name);
    if (name.startsWith(IMAGE_PREFIX) && path !== image && statSync(path).mtimeMs < Date.now() - 86_400_000)
      await rm(path, { recursive: true, force: true });
  }
  return image;
}

/**
 * A throw-away PostgreSQL cluster on a free port, run by the `postgres` user (the server refuses
 * root), its socket in its own directory: a copy of postgresImage(), so it already holds the
 * migrated template.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const image = await postgresImage(bin);
  const now = new Date();
  await utimes(image, now, now); // in use: not a day-old image for another checkout to clear away
  const port = await freePort();
  const dir = await postgresOwnedDir('vrl-pg-');
  const data = join(dir, 'data');
  const ctl = pgCtl(bin, dir, port);
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
    await asPostgres(['cp', '-a', join(image, 'data'), data], dir);
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
