/**
 * The simulator's `timeScale` for tests where its waits only cost time (the editor's start-up, the
 * challenge's pause): twenty times faster. A test whose point is a wait (a slow submit to kill a
 * worker in, an index delay to race) keeps the site's own timings instead.
 */
export const FAST_SITE = { timeScale: 0.05 } as const;

/**
 * What to give a FAST_SITE simulator for a wait the test needs as it is (an index delay to race, a
 * slow export to trigger during): the simulator scales every wait it is given by timeScale.
 */
export const realMs = (ms: number): number => ms / FAST_SITE.timeScale;
