import { connectApiRedis } from '../src/api/main.ts';
import { silentLogger } from '../src/logger.ts';
import { buildTestApi } from '../test/helpers/api.ts';
import { setupServices } from '../test/helpers/services.ts';

export interface EnqueueResult {
  listings: number;
  via: 'library' | 'api';
  seconds: number;
  listingsPerSecond: number;
}

function listings(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    productRef: `ENQ-${i}`,
    brand: 'Fender',
    model: `Stratocaster ${i}`,
    price: 1000 + (i % 500),
    year: 1960 + (i % 40),
    finish: 'Sunburst',
    description: `<p>Bench listing ${i}: a well kept instrument, original case.</p>`,
  }));
}

/** `count` listings through the producer library's `enqueueListings`, into a fresh install. */
export async function runEnqueueCase(count: number): Promise<EnqueueResult> {
  const services = await setupServices();
  const producer = services.producer();
  try {
    const all = listings(count);
    // Connections warmed up: a first call opens them.
    await producer.enqueueListings([{ ...all[0]!, productRef: 'ENQ-warm' }]);
    const start = performance.now();
    const jobs = await producer.enqueueListings(all);
    const seconds = (performance.now() - start) / 1000;
    if (jobs.length !== count) throw new Error(`enqueued ${jobs.length} of ${count}`);
    return { listings: count, via: 'library', seconds, listingsPerSecond: count / seconds };
  } finally {
    await services.cleanup();
  }
}

/**
 * The same listings through the HTTP API (`POST /api/vr/jobs`): against BENCH_API_URL (with
 * BENCH_API_TOKEN) when set, otherwise against an API started here on a fresh install.
 * BENCH_API_CHUNK listings per request (default 1000: a JSON array), BENCH_API_CONCURRENCY requests
 * in flight (4).
 */
export async function runEnqueueApiCase(count: number): Promise<EnqueueResult> {
  const chunk = Number(process.env.BENCH_API_CHUNK ?? 1000);
  const concurrency = Number(process.env.BENCH_API_CONCURRENCY ?? 4);
  const external = process.env.BENCH_API_URL;
  const services = external ? undefined : await setupServices();
  const redis = services ? connectApiRedis(services.redisUrl, silentLogger) : undefined;
  const token = external ? process.env.BENCH_API_TOKEN : 'bench-api-token-0123456789';
  const app =
    services && redis ? await buildTestApi(services, { env: { API_TOKEN: token! }, redis }) : undefined;
  try {
    const base = external ?? (await app!.listen({ host: '127.0.0.1', port: 0 }));
    const run = `${Date.now().toString(36)}`;
    const all = listings(count).map((l) => ({ ...l, productRef: `${l.productRef}-${run}` }));
    const bodies: string[] = [];
    for (let i = 0; i < all.length; i += chunk) {
      const part = all.slice(i, i + chunk);
      bodies.push(JSON.stringify(chunk === 1 ? part[0] : part));
    }
    const url = new URL('/api/vr/jobs', base);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++]!;
          const response = await fetch(url, { method: 'POST', headers, body });
          if (!response.ok)
            throw new Error(`POST ${url} answered ${response.status}: ${await response.text()}`);
          await response.arrayBuffer();
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    return { listings: count, via: 'api', seconds, listingsPerSecond: count / seconds };
  } finally {
    await app?.close();
    redis?.disconnect();
    await services?.cleanup();
  }
}
