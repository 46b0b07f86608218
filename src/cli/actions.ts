import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../config.ts';
import { ACTION_STATUSES, type ActionKind, type ActionStatus } from '../db/schema.ts';
import { SHIPPING_REGIONS } from '../listing/listing.ts';
import {
  type ActionView,
  listActions,
  type RequestedAction,
  UnknownListingError,
} from '../producer/actions.ts';
import { out, positiveInt, producerFromConfig, UsageError, withDatabase } from './common.ts';

/** The refs, each checked before anything is written: one unknown ref and nothing is asked. */
async function requireKnown(refs: string[]): Promise<void> {
  const config = loadConfig();
  const known = await withDatabase(config, async ({ db }) => {
    const rows = await db.execute(sql`
      select product_ref from vr_product_links where product_ref = any(${sql.param(refs)}::text[])
      union select product_ref from vr_jobs where product_ref = any(${sql.param(refs)}::text[])`);
    return new Set([...rows].map((row) => String(row.product_ref)));
  });
  const unknown = refs.find((ref) => !known.has(ref));
  if (unknown !== undefined) throw new UnknownListingError(unknown);
}

function line(action: RequestedAction): string {
  const what = `${action.productRef}: ${action.kind} (action ${action.id}, ${action.status})`;
  return action.created ? `${what} recorded` : `${what}: ${action.message ?? 'nothing to do'}`;
}

async function ask(
  refs: string[],
  json: boolean,
  request: (producer: ReturnType<typeof producerFromConfig>, ref: string) => Promise<RequestedAction>,
): Promise<void> {
  await requireKnown(refs);
  const producer = producerFromConfig(loadConfig());
  const done: RequestedAction[] = [];
  try {
    for (const ref of refs) done.push(await request(producer, ref));
  } finally {
    await producer.close();
  }
  out(json ? JSON.stringify(done) : done.map(line).join('\n'));
}

function refsOf(args: string[], usage: string, options: Record<string, { type: 'boolean' | 'string' }> = {}) {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean' }, ...options },
    allowPositionals: true,
  });
  if (positionals.length === 0) throw new UsageError(`usage: ${usage}`);
  return { values: values as Record<string, string | boolean | undefined>, refs: positionals };
}

const simpleKinds: Record<'sold' | 'restore', ActionKind> = { sold: 'mark_sold', restore: 'restore' };

/** `vr-lister sold REF...` and `vr-lister restore REF...`. */
export async function commandStock(command: 'sold' | 'restore', args: string[]): Promise<void> {
  const { values, refs } = refsOf(args, `vr-lister ${command} REF... [--json]`);
  const kind = simpleKinds[command];
  await ask(refs, values.json === true, (producer, ref) =>
    kind === 'mark_sold' ? producer.markSold(ref) : producer.restoreListing(ref),
  );
}

/** `vr-lister delete REF... [--yes]`: asks on a terminal, refuses without --yes otherwise. */
export async function commandDelete(args: string[]): Promise<void> {
  const { values, refs } = refsOf(args, 'vr-lister delete REF... [--yes] [--json]', {
    yes: { type: 'boolean' },
  });
  if (values.yes !== true) {
    if (!process.stdin.isTTY)
      throw new UsageError(
        'vr-lister delete removes listings from V&R: pass --yes to confirm (not on a terminal)',
      );
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await prompt.question(
      `Delete ${refs.length} listing(s) from V&R (${refs.join(', ')})? [y/N] `,
    );
    prompt.close();
    if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError('nothing deleted');
  }
  await ask(refs, values.json === true, (producer, ref) => producer.deleteListing(ref));
}

const number = (value: string | boolean | undefined) =>
  typeof value === 'string' ? (value.trim() === '' ? Number.NaN : Number(value)) : undefined;

/** `vr-lister update REF --price N [--processing-time "3 Days"] [--fee REGION=N]... [--local-pickup on|off] [--description HTML]`. */
export async function commandUpdate(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      json: { type: 'boolean' },
      price: { type: 'string' },
      'processing-time': { type: 'string' },
      description: { type: 'string' },
      fee: { type: 'string', multiple: true },
      'local-pickup': { type: 'string' },
    },
    allowPositionals: true,
  });
  const usage =
    'usage: vr-lister update REF [--price N] [--processing-time "3 Days"] [--fee REGION=N]... [--local-pickup on|off] [--description HTML]';
  if (positionals.length !== 1) throw new UsageError(usage);
  const fees: Record<string, number> = {};
  for (const given of values.fee ?? []) {
    const m = /^([a-z]+)=(.*)$/.exec(given);
    if (!m)
      throw new UsageError(`--fee must be REGION=N, one of ${SHIPPING_REGIONS.join(', ')} (got "${given}")`);
    fees[m[1]!] = number(m[2]) ?? Number.NaN;
  }
  const pickup = values['local-pickup'];
  if (pickup !== undefined && pickup !== 'on' && pickup !== 'off')
    throw new UsageError('--local-pickup must be on or off');
  const shipping =
    Object.keys(fees).length || pickup !== undefined
      ? {
          ...(Object.keys(fees).length ? { fees } : {}),
          ...(pickup !== undefined ? { localPickup: pickup === 'on' } : {}),
        }
      : undefined;
  const changes = {
    ...(values.price !== undefined ? { price: number(values.price) } : {}),
    ...(values['processing-time'] !== undefined ? { processingTime: values['processing-time'] } : {}),
    ...(values.description !== undefined ? { description: values.description } : {}),
    ...(shipping ? { shipping } : {}),
  };
  const ref = positionals[0]!;
  await ask([ref], values.json === true, (producer) => producer.updateListing(ref, changes));
}

/** `vr-lister photos REF URL... [--json]`: replaces every photo of the listing with these. */
export async function commandPhotos(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (positionals.length < 2) throw new UsageError('usage: vr-lister photos REF URL... [--json]');
  const [ref, ...photos] = positionals as [string, ...string[]];
  await ask([ref], values.json === true, (producer) => producer.replacePhotos(ref, photos));
}

/** One object per action in `actions --json`. */
export function actionSummary(a: ActionView) {
  return {
    id: a.id,
    productRef: a.productRef,
    kind: a.kind,
    status: a.status,
    vrListingId: a.vrListingId === null ? null : String(a.vrListingId),
    error: a.error,
  };
}

/** `vr-lister actions [--status S] [--json] [--limit N]`: newest first. */
export async function commandActions(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean' },
      status: { type: 'string' },
      limit: { type: 'string', default: '1000' },
    },
  });
  const status = values.status as ActionStatus | undefined;
  if (status !== undefined && !ACTION_STATUSES.includes(status))
    throw new UsageError(`--status must be one of ${ACTION_STATUSES.join(', ')}`);
  const limit = positiveInt(values.limit, '--limit');
  const actions = await withDatabase(loadConfig(), ({ db }) => listActions(db, { status, limit }));
  if (values.json) {
    out(JSON.stringify(actions.map(actionSummary)));
    return;
  }
  if (!actions.length) return out('no actions');
  for (const a of actions)
    out(
      `${a.id}\t${a.productRef}\t${a.kind}\t${a.status}\t${a.vrListingId ?? '-'}${a.error ? `\t${a.error}` : ''}`,
    );
}
