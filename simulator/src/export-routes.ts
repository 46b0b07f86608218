/** The export download: only after the export page, with it as Referer, and with the export faults. */
import type { SiteContext } from './context.ts';
import { exportChunks, streamExport } from './export.ts';
import { HTML, type Req, type Res, send } from './http.ts';
import { maintenancePage, notFoundPage } from './pages.ts';
import type { Session } from './state.ts';

const EXPORT_VISIT_WINDOW_MS = 10 * 60 * 1000;

export async function download(ctx: SiteContext, req: Req, res: Res, session: Session): Promise<void> {
  const { store, variant: v } = ctx;
  const now = Date.now();
  const referer = req.headers.referer ?? '';
  const visited = session.exportPageAt !== undefined && now - session.exportPageAt <= EXPORT_VISIT_WINDOW_MS;
  if (!visited || !referer.includes('/instruments/export_inventory')) {
    send(res, 404, HTML, notFoundPage(true));
    return;
  }
  const f = store.faults;
  if (f.failNextExports > 0) {
    f.failNextExports--;
    send(res, 503, HTML, maintenancePage(), { 'retry-after': '60' });
    return;
  }
  store.counters.exports++;
  const rows = store
    .listings()
    .filter((l) => l.visible_from <= now && !l.deleted)
    .sort((a, b) => a.product_id - b.product_id);
  const shrink = f.shrinkNextExports > 0;
  if (shrink) f.shrinkNextExports--;
  const truncate = f.truncateNextExports > 0;
  if (truncate) f.truncateNextExports--;
  const chunks = exportChunks(ctx.writer, rows, { shrink, truncate });
  const waited = await streamExport(res, v.export, chunks, f.exportLatencyMs, ctx.delay, ctx.aborted);
  ctx.noteClientWait(res, waited);
}
