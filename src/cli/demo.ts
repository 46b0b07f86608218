import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { loadConfig } from '../config.ts';
import type { JobView } from '../db/queries.ts';
import type { Listing } from '../listing/listing.ts';
import { colorAllowed } from '../logger.ts';
import { CREATE_QUEUE, createRedis } from '../queues.ts';
import { err, interrupted, out, positiveInt, producerFromConfig, UsageError } from './common.ts';
import { formatAge, openWatchSources, snapshotPrinter, type WatchSnapshot, watchLoop } from './watch.ts';

/** Twelve instruments whose brands the simulator knows (simulator/src/brands.ts), across categories. */
export const DEMO_LISTINGS: readonly Omit<Listing, 'productRef'>[] = [
  {
    brand: 'Fender',
    model: 'Stratocaster',
    year: 1962,
    finish: 'Sunburst',
    price: 18500,
    category: 'Guitars>Electric solid body',
  },
  {
    brand: 'Gibson',
    model: 'Les Paul Standard',
    year: 1959,
    finish: 'Cherry Sunburst',
    price: 285000,
    category: 'Guitars>Electric solid body',
  },
  {
    brand: 'PRS Paul Reed Smith',
    model: 'Custom 24',
    year: 2003,
    finish: 'Whale Blue',
    price: 2900,
    category: 'Guitars>Electric solid body',
  },
  {
    brand: 'Gretsch',
    model: '6120 Chet Atkins',
    year: 1957,
    finish: 'Western Orange',
    price: 14500,
    category: 'Guitars>Archtop>Electric',
  },
  {
    brand: 'Rickenbacker',
    model: '360/12',
    year: 1965,
    finish: 'Fireglo',
    price: 9800,
    category: 'Guitars>Semi-hollow body',
  },
  {
    brand: 'Martin',
    model: 'D-28',
    year: 1968,
    finish: 'Natural',
    price: 7400,
    category: 'Guitars>Flat top',
  },
  {
    brand: 'Guild',
    model: 'F-50',
    year: 1972,
    finish: 'Natural',
    price: 3100,
    category: 'Guitars>Flat top',
  },
  {
    brand: 'Fender',
    model: 'Precision Bass',
    year: 1961,
    finish: 'Olympic White',
    price: 12000,
    category: 'Basses>4 string',
  },
  {
    brand: 'Hofner',
    model: '500/1 Violin Bass',
    year: 1963,
    finish: 'Sunburst',
    price: 3900,
    category: 'Basses>4 string',
  },
  {
    brand: 'Vox',
    model: 'AC30',
    year: 1964,
    finish: 'Fawn',
    price: 4200,
    category: 'Amps>Combo',
  },
  {
    brand: 'Marshall',
    model: 'JTM45',
    year: 1966,
    finish: 'Black',
    price: 11500,
    category: 'Amps>Heads',
  },
  {
    brand: 'Ibanez',
    model: 'TS808 Tube Screamer',
    year: 1980,
    finish: 'Green',
    price: 650,
    category: 'Effects>Overdrive',
  },
].map((listing, i) => ({
  ...listing,
  // Shipped to the UK and Europe, to the USA for every other one, picked up for the amps.
  shipping: {
    fees: i % 2 === 0 ? { uk: 60, europe: 90, usa: 150 } : { uk: 60, europe: 90 },
    localPickup: listing.category.startsWith('Amps'),
  },
  description: `<p>${listing.year} ${listing.brand} ${listing.model} in ${listing.finish}. Listed by the vr-lister demo.</p>`,
}));

/** The demo's listings with product references unique to this run (a product is only ever listed once). */
export function demoListings(runId: string): Listing[] {
  return DEMO_LISTINGS.map((listing, i) => ({
    ...listing,
    productRef: `DEMO-${runId}-${String(i + 1).padStart(2, '0')}`,
  }));
}

const FINAL = new Set(['completed', 'failed', 'needs_review']);

export function allSettled(snapshot: WatchSnapshot, count: number): boolean {
  return (snapshot.jobs?.length ?? 0) === count && snapshot.jobs!.every((job) => FINAL.has(job.status));
}

/**
 * `vr-lister demo` (npm run demo): enqueues twelve listings into the running system (npm start)
 * and shows their V&R ids arriving, until every one is resolved. Exit 0 when all completed.
 */
export async function commandDemo(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      interval: { type: 'string', default: '1000' },
      'timeout-s': { type: 'string', default: '600' },
    },
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  const intervalMs = positiveInt(values.interval, '--interval');
  const timeoutMs = positiveInt(values['timeout-s'], '--timeout-s') * 1000;
  const config = loadConfig();

  // Nothing would ever happen without a creation worker: say so instead of waiting forever.
  const redis = createRedis(config.redisUrl, { forProducer: true });
  redis.on('error', () => {});
  try {
    const queue = new Queue(CREATE_QUEUE, { connection: redis, prefix: config.queuePrefix });
    const workers = await queue.getWorkersCount();
    await queue.close();
    if (workers === 0) {
      throw new UsageError(
        `No creation worker is running on queue prefix "${config.queuePrefix}". Start vr-lister first, with \`npm start\` in another terminal (same environment), then run the demo again.`,
      );
    }
  } finally {
    redis.disconnect();
  }

  const runId = Date.now().toString(36).toUpperCase();
  const listings = demoListings(runId);
  const producer = producerFromConfig(config);
  const jobs = await producer.enqueueListings(listings).finally(() => producer.close());
  const ids = jobs.map((job) => job.id);
  const started = Date.now();
  if (!values.json) {
    out(
      `Enqueued ${jobs.length} demo listings (${listings[0]!.productRef} to ${listings.at(-1)!.productRef}).`,
    );
    out('They are created one after another; their V&R ids arrive in batches, one export download each.\n');
  }

  const tty = process.stdout.isTTY === true && !values.json;
  const print = snapshotPrinter({ json: values.json, tty, color: colorAllowed(tty) });
  const announced = new Set<number>();
  const show = (snapshot: WatchSnapshot, frame: number) => {
    if (tty || values.json) return print(snapshot, frame);
    // Plain output: a line per refresh, and a line for each id as it arrives.
    print(snapshot, frame);
    for (const job of snapshot.jobs ?? []) {
      if (!FINAL.has(job.status) || announced.has(job.id)) continue;
      announced.add(job.id);
      out(describe(job));
    }
  };
  const stop = interrupted();
  const sources = openWatchSources(config);
  let last: WatchSnapshot | undefined;
  try {
    last = await watchLoop({
      read: () => sources.snapshot(ids),
      show,
      done: (snapshot) => allSettled(snapshot, ids.length),
      onError: (error) => err(`demo: ${(error as Error).message ?? error}`),
      intervalMs,
      signal: AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]),
    });
  } finally {
    stop.dispose();
    await sources.close();
  }
  const settled = last !== undefined && allSettled(last, ids.length);
  const completed = last?.jobs?.filter((job) => job.status === 'completed').length ?? 0;
  if (!values.json) {
    if (settled) {
      out(
        `\n${completed} of ${ids.length} listings have their V&R ids (${formatAge(Date.now() - started)}). See them with: npx vr-lister jobs`,
      );
    } else if (stop.signal.aborted) {
      out('\nStopped watching; the listings carry on. Follow them with: npx vr-lister watch');
    } else {
      out(`\nGave up waiting after ${formatAge(timeoutMs)}: ${completed} of ${ids.length} completed.`);
    }
  }
  if (stop.signal.aborted) return;
  if (!settled || completed !== ids.length) process.exitCode = 1;
}

function describe(job: JobView): string {
  return job.status === 'completed'
    ? `${job.productRef}  V&R id ${job.vrListingId}`
    : `${job.productRef}  ${job.status}: ${job.error ?? ''}`;
}
