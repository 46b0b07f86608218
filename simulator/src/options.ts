import type { CloudflareMode } from './gate.ts';
import type { DroppableElement } from './variants.ts';

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  catalogRows?: number;
  pageLatencyMs?: number;
  submitLatencyMs?: number;
  ajaxLatencyMs?: number;
  /** Total extra time spread over the export download. */
  exportLatencyMs?: number;
  /** Time after creation before a new listing shows in the export. */
  indexDelayMs?: number;
  /**
   * Multiplies every wait the site makes: the latencies, the index delay, the variant's editor
   * start-up and the pages' own pauses (the challenge, the cookie banner). 1 (default) = the
   * timings as given; 0.05 = twenty times faster. Lifetimes (sessions, clearances, a toast on
   * screen) are not waits and stay as given.
   */
  timeScale?: number;
  /** Fraction (0..1) of Publish submits answered 500 without creating the listing. */
  submitFailRate?: number;
  seed?: number;
  username?: string;
  password?: string;
  /** Session lifetime since login; 0 = never expires. */
  sessionTtlMs?: number;
  /** The Cloudflare-like gate: `auto` (default) lets a real browser through by itself. */
  cloudflare?: CloudflareMode;
  /** Also refuse a browser that gives automation away (`navigator.webdriver`, HeadlessChrome). */
  cloudflareHeadlessBlock?: boolean;
  /** Lifetime of a `cf_clearance` cookie; 0 (default) = a year. */
  clearanceTtlMs?: number;
  /** Markup variant for what nobody has seen of the real site (0 = default). */
  variant?: number;
  /** Elements left out of the add form, as a site redesign would. */
  dropElements?: readonly DroppableElement[];
  /**
   * Called when a response has been sent, with how long the simulator took to answer it (from the
   * request's arrival to the last byte written). Benchmarks add these up: the site's own time.
   */
  onRequestServed?: (served: ServedRequest) => void;
}

export interface ServedRequest {
  method: string;
  path: string;
  status: number;
  startedAt: number;
  /** From the request's arrival to the last byte handed to the socket. */
  ms: number;
  /** Part of `ms` spent waiting for the client to read (backpressure): the client's time, not the site's. */
  clientWaitMs: number;
}
