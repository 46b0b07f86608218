import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { sql } from 'drizzle-orm';
import { unzipSync, zipSync } from 'fflate';
import type { BrowserContext, Page } from 'playwright-core';
import type { Db } from '../db/client.ts';
import { type JobArtifact, vrJobs } from '../db/schema.ts';
import { withTimeout } from '../lifecycle.ts';
import { htmlWithoutPasswords } from '../vr/page-scripts/session.ts';

/**
 * Evidence of a page a creation step didn't expect (the form not appearing, a selector missing, an
 * unknown Publish verdict, a refused login): a screenshot, the page's HTML and the listing's Playwright
 * trace, saved under `ARTIFACTS_DIR/<job id>/` and recorded in `vr_jobs.artifacts`.
 *
 * Usage, around one listing:
 *
 *   await beginListingTrace(page.context(), jobId);
 *   ...its steps...
 *   // on an unexpected page (the trace holds the listing up to here):
 *   const saved = await captureEvidence({ page, dir: jobArtifactsDir(root, jobId), step: 'publish', secrets: [password] });
 *   await recordArtifacts(db, jobId, saved);
 *   // otherwise:
 *   await endListingTrace(page.context());
 *
 * Nothing here may leak the V&R password or session: the password field is emptied in the saved
 * HTML; every secret (as typed, URL-encoded, form-encoded, JSON-escaped once and twice, HTML-escaped)
 * and every cookie and localStorage value the context holds is overwritten in the HTML and in every
 * file of the trace zip, network bodies included; the trace's cookie lists, storage states and
 * Cookie/Set-Cookie headers are replaced whole. Files are 0600 in 0700 folders: evidence is for the
 * operator, not for every account on the machine.
 */

/** What a step that went wrong saved: three files, or fewer when the page was already gone. */
export type SavedArtifacts = JobArtifact[];

// One trace chunk at a time per context: Playwright records a context, not a page.
const chunks = new WeakMap<BrowserContext, { started: boolean; open: string | undefined }>();

function traceState(context: BrowserContext) {
  let state = chunks.get(context);
  if (!state) {
    state = { started: false, open: undefined };
    chunks.set(context, state);
  }
  return state;
}

/**
 * Starts recording a listing: every action, its arguments and the network, no DOM snapshots nor
 * screencast (cheap enough to run on every listing). One chunk per listing, not per step: each
 * chunk costs the browser a round trip to start and another to stop. A chunk still open from an
 * earlier listing is dropped first.
 */
export async function beginListingTrace(context: BrowserContext, jobId: number): Promise<void> {
  const state = traceState(context);
  if (state.open !== undefined) {
    await context.tracing.stopChunk().catch(() => {}); // a chunk the browser lost: nothing to keep
    state.open = undefined;
  }
  await startChunk(context, state, jobId);
}

/**
 * Keeps a step inside the listing's trace: free when the context is recording, and starts a chunk
 * when it is not (a context made during the listing, such as one adopting a newer session).
 */
export async function continueListingTrace(context: BrowserContext, jobId: number): Promise<void> {
  const state = traceState(context);
  if (state.open === undefined) await startChunk(context, state, jobId);
}

async function startChunk(context: BrowserContext, state: ReturnType<typeof traceState>, jobId: number) {
  const title = `listing ${jobId}`;
  if (!state.started) {
    // No DOM snapshots (they cost ~100 ms a listing at Publish): the HTML and the screenshot carry the page.
    await context.tracing.start({ snapshots: false, screenshots: false, title });
    state.started = true;
  } else {
    await context.tracing.startChunk({ title });
  }
  state.open = title;
}

/** Ends a listing that went as expected: its trace is dropped. */
export async function endListingTrace(context: BrowserContext): Promise<void> {
  const state = chunks.get(context);
  if (state?.open === undefined) return;
  state.open = undefined;
  await context.tracing.stopChunk().catch(() => {}); // the listing went well: its trace is dropped anyway
}

/** A job's folder of evidence. */
export function jobArtifactsDir(root: string, jobId: number | string): string {
  return resolve(root, String(jobId));
}

const ARTIFACT_NAME = /^[a-z0-9][a-z0-9-]{0,60}-\d{13}(-\d+)?\.(png|html|trace\.zip)$/;

/** A name this module could have written: no path separators, no dots but the extension's. */
export function isArtifactName(name: string): boolean {
  return ARTIFACT_NAME.test(name);
}

/** The file of a recorded artifact, or undefined for any name this module would not have written. */
export function artifactPath(root: string, jobId: number, name: string): string | undefined {
  if (!isArtifactName(name)) return undefined;
  const dir = jobArtifactsDir(root, jobId);
  const path = resolve(dir, name);
  return path.startsWith(`${dir}/`) ? path : undefined;
}

export function artifactContentType(name: string): string {
  if (name.endsWith('.png')) return 'image/png';
  if (name.endsWith('.html')) return 'text/html; charset=utf-8';
  return 'application/zip';
}

/** Every form a secret may take in a page, a URL, a form body or a JSON trace event. */
function secretForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    const html = secret
      .replaceAll('&', '&amp;')
      .replaceAll('<', '&lt;')
      .replaceAll('>', '&gt;')
      .replaceAll('"', '&quot;');
    for (const form of [
      secret,
      encodeURIComponent(secret),
      new URLSearchParams({ s: secret }).toString().slice(2),
      JSON.stringify(secret).slice(1, -1),
      // Twice: a script text holding the secret as a JSON literal, itself recorded as JSON in a trace.
      JSON.stringify(JSON.stringify(secret).slice(1, -1)).slice(1, -1),
      html,
      html.replaceAll("'", '&#39;'),
      Buffer.from(secret, 'utf8').toString('base64').replace(/=+$/, ''),
    ]) {
      if (form.length > 0) forms.add(form);
    }
  }
  return [...forms];
}

/** Overwrites each occurrence of each form, byte for byte, with `*` (lengths kept: no offset moves). */
function scrubBytes(data: Uint8Array, forms: readonly string[]): { data: Uint8Array; hits: number } {
  let hits = 0;
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (const form of forms) {
    const needle = Buffer.from(form, 'utf8');
    for (let at = buffer.indexOf(needle); at >= 0; at = buffer.indexOf(needle, at + needle.length)) {
      buffer.fill(0x2a, at, at + needle.length);
      hits += 1;
    }
  }
  return { data, hits };
}

/** The forms to overwrite, longest first (a form containing another is overwritten whole). */
function scrubForms(secrets: readonly string[], sessionValues: readonly string[]): string[] {
  return [...new Set([...secretForms(secrets), ...sessionValues])].sort((a, b) => b.length - a.length);
}

export function scrubText(
  text: string,
  secrets: readonly string[],
  sessionValues: readonly string[] = [],
): string {
  let out = text;
  for (const form of scrubForms(secrets, sessionValues)) out = out.replaceAll(form, '*'.repeat(form.length));
  return out;
}

const REDACTED = '[redacted]';
const SESSION_HEADER = /^(cookie|set-cookie)$/i;

/**
 * A trace event with the session taken out: the result of `cookies()` or `storageState()` (a
 * `cookies` or `origins` list anywhere in it) and the value of every Cookie and Set-Cookie header
 * (a HAR entry's `{name, value}` pairs) are replaced. The walk is generic: Playwright's event
 * shapes are not a contract.
 */
function withoutSession(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSession);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const name = (value as { name?: unknown }).name;
  const header = typeof name === 'string' && SESSION_HEADER.test(name) && 'value' in value;
  return Object.fromEntries(
    entries.map(([key, field]) => {
      if (header && key === 'value') return [key, REDACTED];
      if ((key === 'cookies' || key === 'origins') && Array.isArray(field)) return [key, REDACTED];
      return [key, withoutSession(field)];
    }),
  );
}

/** A JSON-lines file of a trace (`*.trace`, `*.network`) with the session taken out of each event. */
function redactTraceEvents(data: Uint8Array): Uint8Array<ArrayBuffer> {
  const lines = Buffer.from(data).toString('utf8').split('\n');
  const out = lines.map((line) => {
    if (!line.trim()) return line;
    try {
      return JSON.stringify(withoutSession(JSON.parse(line)));
    } catch {
      return line; // not an event: the byte scrub below still covers it
    }
  });
  return Uint8Array.from(Buffer.from(out.join('\n'), 'utf8'));
}

/**
 * Rewrites a trace zip: the session's lists and headers replaced, then every secret and every
 * session value overwritten in every file. Returns the overwrites made by the byte scrub.
 */
export async function scrubTraceZip(
  path: string,
  secrets: readonly string[],
  sessionValues: readonly string[] = [],
): Promise<number> {
  const forms = scrubForms(secrets, sessionValues);
  const files = unzipSync(new Uint8Array(await readFile(path)));
  let hits = 0;
  for (const [name, data] of Object.entries(files)) {
    const events = /\.(trace|network)$/.test(name) ? redactTraceEvents(data) : data;
    hits += scrubBytes(events, forms).hits;
    files[name] = events;
  }
  await writeFile(path, zipSync(files, { level: 6 }), { mode: PRIVATE_FILE });
  await chmod(path, PRIVATE_FILE);
  return hits;
}

const PRIVATE_FILE = 0o600;
const PRIVATE_DIR = 0o700;

/**
 * Creates the evidence folder, and any parent missing (ARTIFACTS_DIR itself), as 0700; an existing
 * evidence folder is tightened. An existing ARTIFACTS_DIR is the operator's to set.
 */
export async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  await chmod(dir, PRIVATE_DIR);
}

/**
 * Every cookie and localStorage value the context holds now, long enough to be a session's (8
 * characters: a consent flag's "1" or "yes" is no secret, and overwriting it everywhere would
 * ruin the evidence). Read after the trace chunk has stopped, so this read is not traced itself.
 */
async function sessionValues(context: BrowserContext): Promise<string[]> {
  const state = await withTimeout(context.storageState(), EVIDENCE_STEP_TIMEOUT_MS, 'the session').catch(
    () => undefined,
  );
  if (!state) return [];
  const values = [
    ...state.cookies.map((c) => c.value),
    ...state.origins.flatMap((o) => o.localStorage.map((item) => item.value)),
  ];
  const forms = values
    .filter((v) => v.length >= 8)
    .flatMap((v) => [v, encodeURIComponent(v), JSON.stringify(v).slice(1, -1)]);
  return [...new Set(forms)];
}

/** The page's HTML with every password field's value emptied, and every secret overwritten. */
export async function redactedHtml(
  page: Page,
  secrets: readonly string[],
  sessionValues: readonly string[] = [],
): Promise<string> {
  const html = await page.evaluate(htmlWithoutPasswords).then(
    (value) => String(value),
    () => page.content(),
  );
  return scrubText(html, secrets, sessionValues);
}

/** How long one piece of evidence (screenshot, HTML) may take before it is given up. */
const EVIDENCE_STEP_TIMEOUT_MS = 10_000;

export interface CaptureOptions {
  page: Page;
  /** The job's folder (jobArtifactsDir). */
  dir: string;
  /** The step that met the unexpected page: `open-form`, `fill-form`, `publish`, `login`. */
  step: string;
  /** Values that must not reach the disk (the V&R password). */
  secrets: readonly string[];
  now?: Date;
}

/**
 * Saves the screenshot, the HTML and the listing's trace so far (if beginListingTrace was called). Each
 * file that could be written is returned; a page already closed still gets its trace saved. Never
 * throws: evidence must not turn one failure into another.
 */
export async function captureEvidence(options: CaptureOptions): Promise<SavedArtifacts> {
  const { page, dir, secrets } = options;
  const now = options.now ?? new Date();
  const step =
    options.step
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'step';
  const base = `${step}-${now.getTime()}`;
  const at = now.toISOString();
  const saved: SavedArtifacts = [];
  try {
    await privateDir(dir);
  } catch {
    return saved;
  }
  // Two failures in the same millisecond (a retry) must not overwrite each other.
  let stem = base;
  for (let n = 1; await exists(join(dir, `${stem}.html`)); n += 1) stem = `${base}-${n}`;
  const context = page.context();
  // The trace stops first: what is read below (the session's values, the page) stays out of it.
  const state = chunks.get(context);
  let trace: string | undefined;
  if (state?.open !== undefined) {
    state.open = undefined;
    trace = join(dir, `${stem}.trace.zip`);
    // Bounded like the rest: a browser busy with a hung Publish must not hold the lane.
    await withTimeout(
      context.tracing.stopChunk({ path: trace }),
      EVIDENCE_STEP_TIMEOUT_MS,
      'the trace',
    ).catch(async () => {
      // The browser went away with the trace, or never wrote it; remove any part written.
      await rm(trace!, { force: true }).catch(() => {});
      trace = undefined;
    });
  }
  const session = await sessionValues(context);
  if (!page.isClosed()) {
    // Side by side: on a page whose Publish request still hangs both wait out their timeout, and
    // one after the other held up the lane twice as long.
    const png = join(dir, `${stem}.png`);
    const screenshot = async () => {
      try {
        await page.screenshot({ path: png, fullPage: true, timeout: EVIDENCE_STEP_TIMEOUT_MS });
        await chmod(png, PRIVATE_FILE);
        return true;
      } catch {
        // A crashed or navigating page: the HTML and the trace may still be had.
        await rm(png, { force: true }).catch(() => {});
        return false;
      }
    };
    const html = async () => {
      try {
        // A page whose Publish request still hangs never answers an evaluate: don't wait on it.
        const text = await withTimeout(
          redactedHtml(page, secrets, session),
          EVIDENCE_STEP_TIMEOUT_MS,
          'the page',
        );
        await writeFile(join(dir, `${stem}.html`), text, { mode: PRIVATE_FILE });
        return true;
      } catch {
        return false; // as above
      }
    };
    const [pngSaved, htmlSaved] = await Promise.all([screenshot(), html()]);
    if (pngSaved) saved.push({ name: `${stem}.png`, step: options.step, at });
    if (htmlSaved) saved.push({ name: `${stem}.html`, step: options.step, at });
  }
  if (trace) {
    try {
      await scrubTraceZip(trace, secrets, session);
      saved.push({ name: `${stem}.trace.zip`, step: options.step, at });
    } catch {
      // A trace that can't be cleaned is not kept.
      await rm(trace, { force: true }).catch(() => {});
    }
  }
  return saved;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Appends to the job's `artifacts` list. */
export async function recordArtifacts(db: Db, rowId: number, artifacts: SavedArtifacts): Promise<void> {
  if (artifacts.length === 0) return;
  await db
    .update(vrJobs)
    .set({
      artifacts: sql`coalesce(${vrJobs.artifacts}, '[]'::jsonb) || ${JSON.stringify(artifacts)}::jsonb`,
    })
    .where(sql`${vrJobs.id} = ${rowId}`);
}

/** "see artifacts 12/publish-1700000000000.png, …": for a job's error and log lines. */
export function describeArtifacts(jobId: number, artifacts: SavedArtifacts): string {
  if (artifacts.length === 0) return 'no evidence could be saved';
  return `evidence: ${artifacts.map((a) => `${jobId}/${a.name}`).join(', ')}`;
}

/** Deletes evidence older than the retention, and job folders left empty. Returns files deleted. */
export async function pruneArtifacts(root: string, retentionDays: number, now = Date.now()): Promise<number> {
  const cutoff = now - retentionDays * 24 * 3_600_000;
  let deleted = 0;
  const dirs = await readdir(resolve(root), { withFileTypes: true }).catch(() => []);
  for (const entry of dirs) {
    if (!entry.isDirectory()) continue;
    const dir = join(resolve(root), entry.name);
    const files = await readdir(dir).catch(() => [] as string[]);
    let left = files.length;
    for (const file of files) {
      const info = await stat(join(dir, file)).catch(() => undefined);
      if (info?.isFile() && info.mtimeMs < cutoff) {
        await rm(join(dir, file), { force: true });
        deleted += 1;
        left -= 1;
      }
    }
    // Best effort: an emptied folder left is retried next sweep.
    if (left === 0) await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
  return deleted;
}
