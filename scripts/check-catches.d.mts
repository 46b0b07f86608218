/** Types for scripts/check-catches.mjs, for its test. */
export const PENDING: ReadonlySet<string>;
export function checkCatches(repoRoot: string): { offenders: string[]; seen: number };
