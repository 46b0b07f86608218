import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A virtual display for a visible browser where there is no screen (a container, a server). */
export interface VirtualDisplay {
  display: string;
  stop(): void;
}

/**
 * Starts Xvfb on a free display number, when it is installed (the Docker image carries it).
 * Resolves once the display's socket exists; undefined when Xvfb isn't there.
 */
export async function startXvfb(): Promise<VirtualDisplay | undefined> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const number = 90 + Math.floor(Math.random() * 400);
    if (existsSync(`/tmp/.X11-unix/X${number}`) || existsSync(`/tmp/.X${number}-lock`)) continue;
    let child: ChildProcess;
    try {
      child = spawn('Xvfb', [`:${number}`, '-screen', '0', '1366x900x24', '-nolisten', 'tcp'], {
        stdio: 'ignore',
      });
    } catch {
      return undefined;
    }
    const started = await new Promise<boolean>((resolve) => {
      child.once('error', () => resolve(false));
      child.once('exit', () => resolve(false));
      const poll = setInterval(() => {
        if (existsSync(`/tmp/.X11-unix/X${number}`)) {
          clearInterval(poll);
          resolve(true);
        }
      }, 50);
      setTimeout(() => {
        clearInterval(poll);
        resolve(false);
      }, 5_000).unref();
    });
    if (started) return { display: `:${number}`, stop: () => child.kill() };
    child.kill();
  }
  return undefined;
}
