/** Types for scripts/check-imports.mjs, for its test. */
export const LAYERS: readonly { name: string; members: readonly string[] }[];
export const KNOWN_EXCEPTIONS: ReadonlyMap<string, string>;
export function importsOf(source: string): { specifier: string; static: boolean }[];
export function layerOf(pathInSrc: string): number | undefined;
export function checkImports(repoRoot: string): { problems: string[]; modules: number };
