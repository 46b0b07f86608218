/** What one attempt at an action found (src/creation/actions.ts). */
export type ActionResult =
  | { outcome: 'done'; evidence: string }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'skipped'; reason: string };

/** V&R's answer left the outcome unclear: the next attempt looks at V&R before doing anything. */
export class ActionUnclearError extends Error {
  override name = 'ActionUnclearError';
}
