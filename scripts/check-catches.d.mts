/** Types for scripts/check-catches.mjs, for its test. */
export function checkCatches(repoRoot: string): { offenders: string[]; seen: number };
