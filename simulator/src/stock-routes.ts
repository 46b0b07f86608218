/**
 * Marking sold, restoring and deleting: `product_id` in; out `true`/`false`, an empty body, or JSON
 * `{"success": …}` by variant (variant id mod 3).
 */
import type { SiteContext } from './context.ts';
import { type Req, type Res, readUrlEncoded, send } from './http.ts';

export type StockAction = 'mark_as_sold' | 'restore_from_sold' | 'delete_item';

/** `/ajax/mark_as_sold/<random>`, `/ajax/restore_from_sold/<random>`, `/ajax/delete_item`. */
export function stockAction(method: string, path: string): StockAction | undefined {
  if (method !== 'POST') return undefined;
  if (path === '/ajax/delete_item') return 'delete_item';
  const m = /^\/ajax\/(mark_as_sold|restore_from_sold)\/[^/]+$/.exec(path);
  return m ? (m[1] as StockAction) : undefined;
}

export async function changeStock(ctx: SiteContext, req: Req, res: Res, action: StockAction): Promise<void> {
  const body = await readUrlEncoded(req);
  await ctx.delay(ctx.options.ajaxLatencyMs);
  const id = Number(body.get('product_id'));
  const patch = action === 'delete_item' ? { deleted: true } : { sold: action === 'mark_as_sold' };
  const done = Number.isInteger(id) && ctx.store.updateListing(id, patch) !== undefined;
  // All three were seen on the real site; none proves anything (the client confirms from the listing).
  const answer = ['text', 'empty', 'json'][ctx.variant.id % 3];
  const reply =
    answer === 'empty' ? '' : answer === 'json' ? JSON.stringify({ success: done }) : String(done);
  send(res, 200, answer === 'json' ? 'application/json' : 'text/html; charset=UTF-8', reply);
}
