import { parseArgs } from 'node:util';
import { type SimulatorOptions, startSimulator } from './server.ts';

export const SIMULATOR_HELP = `Usage: vr-lister simulator [options]

Runs the V&R simulator. Prints its URL on the first line of output.

Options:
  --port N               port to listen on (0 = random, default 0)
  --host H               address to bind (default 127.0.0.1)
  --catalog-rows N       rows in the generated starting catalogue (default 1500)
  --page-latency-ms N    extra latency of each page load (default 0)
  --submit-latency-ms N  extra latency of each Publish submit (default 0)
  --ajax-latency-ms N    extra latency of each AJAX call (default 0)
  --export-latency-ms N  extra time spread over each export download (default 0)
  --index-delay-ms N     delay before a new listing shows in the export (default 0)
  --submit-fail-rate X   fraction 0..1 of submits answered 500 without creating anything (default 0)
  --seed N               seed of the generated catalogue (default 1)
  --username U           accepted username (default demo)
  --password P           accepted password (default demo)
  --session-ttl-ms N     session lifetime since login, 0 = never expires (default 0)
  --help                 this text`;

type NumericKey = Exclude<keyof SimulatorOptions, 'host' | 'username' | 'password' | 'onRequestServed'>;

const NUMERIC: ReadonlyArray<[flag: string, key: NumericKey, max: number, integer: boolean]> = [
  ['port', 'port', 65535, true],
  ['catalog-rows', 'catalogRows', 1_000_000, true],
  ['page-latency-ms', 'pageLatencyMs', 86_400_000, true],
  ['submit-latency-ms', 'submitLatencyMs', 86_400_000, true],
  ['ajax-latency-ms', 'ajaxLatencyMs', 86_400_000, true],
  ['export-latency-ms', 'exportLatencyMs', 86_400_000, true],
  ['index-delay-ms', 'indexDelayMs', 86_400_000 * 365, true],
  ['submit-fail-rate', 'submitFailRate', 1, false],
  ['seed', 'seed', 2 ** 32 - 1, true],
  ['session-ttl-ms', 'sessionTtlMs', 86_400_000 * 365, true],
];

/** Parses the simulator's command-line options; throws an Error naming any bad option. */
export function parseSimulatorArgs(argv: string[]): SimulatorOptions | 'help' {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    host: { type: 'string' },
    username: { type: 'string' },
    password: { type: 'string' },
    help: { type: 'boolean' },
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
  return opts;
}

/** `vr-lister simulator`: runs until SIGTERM or SIGINT, then closes and exits 0. */
export async function runSimulatorCommand(argv: string[]): Promise<void> {
  const parsed = parseSimulatorArgs(argv);
  if (parsed === 'help') {
    console.log(SIMULATOR_HELP);
    return;
  }
  const sim = await startSimulator(parsed);
  console.log(sim.url);
  console.log(
    `V&R simulator: log in as ${parsed.username ?? 'demo'} / ${parsed.password ?? 'demo'}; state at ${sim.url}/__sim/state`,
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
