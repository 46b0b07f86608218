/** What every site route gets: options, state, the gate, the variant, and shared answers. */
import type { CategoryNode } from 'vr-lister/site-data';
import type { Listing } from './catalog.ts';
import type { ExportWriter } from './export.ts';
import type { Gate } from './gate.ts';
import { HTML, type Res, send } from './http.ts';
import { addItemPage, type FieldErrors, maintenancePage } from './pages.ts';
import type { Store } from './state.ts';
import type { DroppableElement, Variant } from './variants.ts';

export interface SiteOptions {
  username: string;
  password: string;
  pageLatencyMs: number;
  submitLatencyMs: number;
  ajaxLatencyMs: number;
  /** SimulatorOptions.timeScale: for the waits the pages' scripts make themselves. */
  timeScale: number;
}

export interface SiteContext {
  options: SiteOptions;
  store: Store;
  gate: Gate;
  variant: Variant;
  tree: readonly CategoryNode[];
  dropped: ReadonlySet<DroppableElement>;
  writer: ExportWriter;
  delay(ms: number): Promise<void>;
  aborted(): boolean;
  /** Records time spent waiting for a slow client, so onRequestServed can leave it out. */
  noteClientWait(res: Res, ms: number): void;
}

export function sendMaintenance(ctx: SiteContext, res: Res): void {
  const { store } = ctx;
  const until = store.faults.downUntil;
  const retryAfter = until > Date.now() ? Math.ceil((until - Date.now()) / 1000) : 60;
  send(res, 503, HTML, maintenancePage(), { 'retry-after': String(retryAfter) });
}

/** The add form, with a fresh unique_id. */
export function formPage(
  ctx: SiteContext,
  extra: {
    published?: boolean;
    errors?: FieldErrors;
    generalError?: string | undefined;
    editing?: Listing;
    message?: string;
  },
): string {
  const { store, variant: v } = ctx;
  return addItemPage({
    variant: v,
    tree: ctx.tree,
    uniqueId: store.newUniqueId(),
    timeScale: ctx.options.timeScale,
    dropped: ctx.dropped,
    ...(extra.published ? { published: true } : {}),
    ...(extra.errors ? { errors: extra.errors } : {}),
    ...(extra.generalError ? { generalError: extra.generalError } : {}),
    ...(extra.editing ? { editing: extra.editing } : {}),
    ...(extra.message ? { message: extra.message } : {}),
  });
}
