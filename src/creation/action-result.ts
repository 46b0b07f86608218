/** What one attempt at an action found (src/creation/actions.ts). */
export type ActionResult =
  | { outcome: 'done'; evidence: string }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'skipped'; reason: string };

/** V&R's answer left the outcome unclear: the next attempt looks at V&R before doing anything. */
export class ActionUnclearError extends Error {
  override name = 'ActionUnclearError';
}

/**
 * One attempt at an action, as it goes: `sent` turns true just before anything that may change the
 * listing goes to V&R (a POST of the seller list, the edit form's submit). An attempt stopped by an
 * outage or a hold before that is not counted (releaseAction's refund).
 */
export interface ActionAttempt {
  sent: boolean;
}
