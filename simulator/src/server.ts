/**
 * `startSimulator`: a stand-in for Vintage & Rare that behaves like the real site as captured
 * (markup, routes, cookies, the Cloudflare gate), with knobs and faults for tests; the README's
 * simulator section lists what it imitates and what it adds.
 * This file only wires the parts together: state.ts, gate.ts, routes.ts, export.ts, pages.ts.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { shippedCategoryTree } from 'vr-lister/site-data';
import type { Source } from './catalog.ts';
import { exportWriter } from './export.ts';
import { createGate } from './gate.ts';
import { HTML, HttpError, type Res, send } from './http.ts';
import type { SimulatorOptions } from './options.ts';
import { INTERNAL_ERROR_PAGE } from './pages.ts';
import { createSite } from './routes.ts';
import { createStore, type FaultSettings, type SimState } from './state.ts';
import { variant as variantById } from './variants.ts';

export type { Source } from './catalog.ts';
export type { CloudflareMode, CookieForBrowser } from './gate.ts';
export type { ServedRequest, SimulatorOptions } from './options.ts';
export type { FaultSettings, SimCounters, SimListing, SimPhoto, SimState } from './state.ts';
export { VARIANTS } from './variants.ts';

export interface Simulator {
  /** Base URL, e.g. http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  /** The markup variant served. */
  variant: number;
  state(source?: Source): SimState;
  /** Same as POST /__sim/faults. */
  setFaults(patch: Partial<FaultSettings>): FaultSettings;
  close(): Promise<void>;
}

/** Past this, a wait of a second would take over a day: a mistake, not a slow site. */
export const MAX_TIME_SCALE = 100_000;
/** The `auto` challenge page's "Verifying..." before it passes by itself. */
const CHALLENGE_PASS_MS = 250;

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const variant = variantById(opts.variant ?? 0);
  const timeScale = opts.timeScale ?? 1;
  if (!Number.isFinite(timeScale) || timeScale < 0 || timeScale > MAX_TIME_SCALE) {
    throw new Error(`simulator timeScale must be a number from 0 to ${MAX_TIME_SCALE}, got ${timeScale}`);
  }
  const store = createStore({
    catalogRows: opts.catalogRows ?? 1500,
    seed: opts.seed ?? 1,
    sessionTtlMs: opts.sessionTtlMs ?? 0,
    indexDelayMs: opts.indexDelayMs ?? 0,
    submitFailRate: opts.submitFailRate ?? 0,
    exportLatencyMs: opts.exportLatencyMs ?? 0,
    timeScale,
  });
  const gate = createGate(
    {
      mode: opts.cloudflare ?? 'auto',
      headlessBlock: opts.cloudflareHeadlessBlock ?? false,
      clearanceTtlMs: opts.clearanceTtlMs ?? 0,
      challengePassMs: Math.round(CHALLENGE_PASS_MS * timeScale),
    },
    store.counters,
  );
  const sockets = new Set<Socket>();
  const clientWait = new WeakMap<Res, number>();
  const closing = new AbortController();

  /** Every latency the routes add goes through here, so timeScale scales them all. */
  async function delay(ms: number): Promise<void> {
    const scaled = ms * timeScale;
    if (scaled <= 0 || closing.signal.aborted) return;
    try {
      await sleep(scaled, undefined, { signal: closing.signal });
    } catch {
      // closing
    }
  }

  const handle = createSite({
    options: {
      username: opts.username ?? 'demo',
      password: opts.password ?? 'demo',
      pageLatencyMs: opts.pageLatencyMs ?? 0,
      submitLatencyMs: opts.submitLatencyMs ?? 0,
      ajaxLatencyMs: opts.ajaxLatencyMs ?? 0,
      timeScale,
    },
    store,
    gate,
    variant,
    tree: shippedCategoryTree(),
    dropped: new Set(opts.dropElements ?? []),
    writer: exportWriter(variant.export),
    delay,
    aborted: () => closing.signal.aborted,
    noteClientWait: (res, ms) => clientWait.set(res, (clientWait.get(res) ?? 0) + ms),
  });

  const onServed = opts.onRequestServed;
  const server = http.createServer((req, res) => {
    if (onServed) {
      const startedAt = performance.now();
      res.once('finish', () => {
        onServed({
          method: req.method ?? 'GET',
          path: new URL(req.url ?? '/', 'http://simulator.invalid').pathname,
          status: res.statusCode,
          startedAt,
          ms: performance.now() - startedAt,
          clientWaitMs: clientWait.get(res) ?? 0,
        });
      });
    }
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        send(res, err.status, 'text/plain; charset=utf-8', err.message);
      } else {
        send(res, 500, HTML, INTERNAL_ERROR_PAGE);
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('simulator: no TCP address');
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostForUrl === '0.0.0.0' ? '127.0.0.1' : hostForUrl === '[::]' ? '[::1]' : hostForUrl}:${address.port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    variant: variant.id,
    state: (source) => store.state(variant.id, gate.mode, source),
    setFaults: (patch) => store.setFaults(patch as Record<string, unknown>),
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
  };
}
