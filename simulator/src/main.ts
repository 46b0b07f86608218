import { parseArgs } from 'node:util';
import { CLOUDFLARE_MODES, type CloudflareMode } from './gate.ts';
import type { SimulatorOptions } from './options.ts';
import { MAX_TIME_SCALE, startSimulator } from './server.ts';
import { DROPPABLE_ELEMENTS, describeVariant, isDroppableElement, VARIANTS } from './variants.ts';

function variantsHelp(): string {
  return VARIANTS.map((v) =>
    describeVariant(v)
      .map((line, i) => `${i === 0 ? `    ${v.id}  ` : '       '}${line}`)
      .join('\n'),
  ).join('\n');
}

export const SIMULATOR_HELP = () => `Usage: vr-lister simulator [options]

Runs the V&R simulator: the real site's pages, routes, cookies and Cloudflare gate as far as they
are known, with test knobs and faults. Prints its URL on the first line of output.

Options:
  --port N               port to listen on (0 = random, default 0)
  --host H               address to bind (default 127.0.0.1)
  --catalog-rows N       rows in the generated starting catalogue (default 1500)
  --page-latency-ms N    extra latency of each page load (default 0)
  --submit-latency-ms N  extra latency of each Publish submit (default 0)
  --ajax-latency-ms N    extra latency of each AJAX call (default 0)
  --export-latency-ms N  extra time spread over each export download (default 0)
  --index-delay-ms N     delay before a new listing shows in the export (default 0)
  --time-scale X         multiplies every wait the site makes: the latencies above, the index delay,
                         the editor's start-up, the challenge's (default 1; 0.05 = 20 times faster)
  --submit-fail-rate X   fraction 0..1 of submits answered 500 without creating anything (default 0)
  --seed N               seed of the generated catalogue (default 1)
  --username U           accepted username (default demo)
  --password P           accepted password (default demo)
  --session-ttl-ms N     session lifetime since login, 0 = never expires (default 0)
  --cloudflare MODE      the Cloudflare-like gate: auto (default; a real browser passes by itself),
                         interactive (a person must tick the challenge's box), off
  --cloudflare-headless-block
                         also refuse a browser with navigator.webdriver or a HeadlessChrome User-Agent
  --clearance-ttl-ms N   lifetime of a cf_clearance cookie, 0 = a year (default 0)
  --variant N            markup variant for what nobody has seen of the real site (default 0):
${variantsHelp()}
  --drop-element E       leave an element out of the add form, as a redesign would (repeatable or
                         comma-separated): ${DROPPABLE_ELEMENTS.join(', ')}
  --help                 this text

Test routes (outside the gate): GET /__sim/state, GET|POST /__sim/faults, POST /__sim/expire-sessions,
POST /__sim/listings, POST /__sim/cloudflare/clearance {userAgent}, POST /__sim/cloudflare/revoke,
GET /__sim/sample-image.jpg.`;

type NumericKey =
  | 'port'
  | 'catalogRows'
  | 'pageLatencyMs'
  | 'submitLatencyMs'
  | 'ajaxLatencyMs'
  | 'exportLatencyMs'
  | 'indexDelayMs'
  | 'submitFailRate'
  | 'timeScale'
  | 'seed'
  | 'sessionTtlMs'
  | 'clearanceTtlMs'
  | 'variant';

const NUMERIC: ReadonlyArray<[flag: string, key: NumericKey, max: number, integer: boolean]> = [
  ['port', 'port', 65535, true],
  ['catalog-rows', 'catalogRows', 1_000_000, true],
  ['page-latency-ms', 'pageLatencyMs', 86_400_000, true],
  ['submit-latency-ms', 'submitLatencyMs', 86_400_000, true],
  ['ajax-latency-ms', 'ajaxLatencyMs', 86_400_000, true],
  ['export-latency-ms', 'exportLatencyMs', 86_400_000, true],
  ['index-delay-ms', 'indexDelayMs', 86_400_000 * 365, true],
  ['submit-fail-rate', 'submitFailRate', 1, false],
  ['time-scale', 'timeScale', MAX_TIME_SCALE, false],
  ['seed', 'seed', 2 ** 32 - 1, true],
  ['session-ttl-ms', 'sessionTtlMs', 86_400_000 * 365, true],
  ['clearance-ttl-ms', 'clearanceTtlMs', 86_400_000 * 365, true],
  ['variant', 'variant', VARIANTS.length - 1, true],
];

/** Parses the simulator's command-line options; throws an Error naming any bad option. */
export function parseSimulatorArgs(argv: string[]): SimulatorOptions | 'help' {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {
    host: { type: 'string' },
    username: { type: 'string' },
    password: { type: 'string' },
    help: { type: 'boolean' },
    cloudflare: { type: 'string' },
    'cloudflare-headless-block': { type: 'boolean' },
    'drop-element': { type: 'string', multiple: true },
  };
  for (const [flag] of NUMERIC) options[flag] = { type: 'string' };
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  if (values.help) return 'help';
  const opts: SimulatorOptions = {};
  for (const [flag, key, max, integer] of NUMERIC) {
    const raw = values[flag];
    if (raw === undefined) continue;
    const text = String(raw).trim();
    const n = Number(text);
    if (text === '' || !Number.isFinite(n) || n < 0 || n > max || (integer && !Number.isInteger(n))) {
      throw new Error(
        `Invalid value for --${flag}: ${JSON.stringify(raw)} (expected ${integer ? 'an integer' : 'a number'} from 0 to ${max})`,
      );
    }
    opts[key] = n;
  }
  for (const key of ['host', 'username', 'password'] as const) {
    const raw = values[key];
    if (raw === undefined) continue;
    if (typeof raw !== 'string' || raw === '')
      throw new Error(`Invalid value for --${key}: must not be empty`);
    opts[key] = raw;
  }
  if (values.cloudflare !== undefined) {
    const mode = String(values.cloudflare);
    if (!(CLOUDFLARE_MODES as readonly string[]).includes(mode)) {
      throw new Error(
        `Invalid value for --cloudflare: ${JSON.stringify(mode)} (expected ${CLOUDFLARE_MODES.join(', ')})`,
      );
    }
    opts.cloudflare = mode as CloudflareMode;
  }
  if (values['cloudflare-headless-block']) opts.cloudflareHeadlessBlock = true;
  const dropped = (values['drop-element'] as string[] | undefined)
    ?.flatMap((s) => s.split(','))
    .map((s) => s.trim());
  if (dropped) {
    for (const el of dropped) {
      if (!isDroppableElement(el)) {
        throw new Error(
          `Invalid value for --drop-element: ${JSON.stringify(el)} (expected ${DROPPABLE_ELEMENTS.join(', ')})`,
        );
      }
    }
    opts.dropElements = dropped.filter(isDroppableElement);
  }
  return opts;
}

/** `vr-lister simulator`: runs until SIGTERM or SIGINT, then closes and exits 0. */
export async function runSimulatorCommand(argv: string[]): Promise<void> {
  const parsed = parseSimulatorArgs(argv);
  if (parsed === 'help') {
    console.log(SIMULATOR_HELP());
    return;
  }
  const sim = await startSimulator(parsed);
  console.log(sim.url);
  console.log(
    `V&R simulator (variant ${sim.variant}, Cloudflare gate ${parsed.cloudflare ?? 'auto'}): log in as ${parsed.username ?? 'demo'} / ${parsed.password ?? 'demo'}; state at ${sim.url}/__sim/state`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(sig);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  console.error(`V&R simulator: ${signal}, shutting down`);
  await sim.close();
  process.exitCode = 0;
  // Exit even if something else still holds the event loop open.
  setTimeout(() => process.exit(0), 1000).unref();
}
