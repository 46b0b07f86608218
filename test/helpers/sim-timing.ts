/**
 * The simulator's `timeScale` for tests where its waits only cost time (the editor's start-up, the
 * challenge's pause): twenty times faster. A test whose point is a wait (a slow submit to kill a
 * worker in, an index delay to race) keeps the site's own timings instead.
 */
export const FAST_SITE = { timeScale: 0.05 } as const;
