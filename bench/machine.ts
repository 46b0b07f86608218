import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Redis } from 'ioredis';
import { chromium } from 'playwright-core';
import postgres from 'postgres';
import { PG_ADMIN_URL, REDIS_URL } from '../test/helpers/services.ts';

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1]!.trim();
  } catch {}
  return os.cpus()[0]?.model ?? 'unknown';
}

/** The machine and the versions of everything the benchmark runs against. */
export async function describeMachine(chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium') {
  const sql = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const [pg] = await sql`show server_version`;
    const info = await redis.info('server');
    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
    const chromiumVersion = browser.version();
    await browser.close();
    let kernel = os.release();
    try {
      kernel = execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim();
    } catch {}
    return {
      cpuModel: cpuModel(),
      cores: os.cpus().length,
      memoryGB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      kernel,
      node: process.version,
      postgres: String(pg?.server_version ?? 'unknown'),
      redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
      chromium: chromiumVersion,
      playwrightCore: JSON.parse(
        readFileSync(new URL('../node_modules/playwright-core/package.json', import.meta.url), 'utf8'),
      ).version as string,
    };
  } finally {
    await sql.end();
    redis.disconnect();
  }
}

/** 1-minute load average now, and what the benchmark itself is not: other processes' CPU. */
export function loadNow() {
  const [one, five] = os.loadavg();
  return { loadavg1: Math.round(one! * 100) / 100, loadavg5: Math.round(five! * 100) / 100 };
}
