#!/usr/bin/env node
import { commandCheckSite } from './cli/check-site.ts';
import {
  commandEnqueue,
  commandHealth,
  commandJobs,
  commandMigrate,
  commandResolve,
  commandStatus,
} from './cli/commands.ts';
import { err, out, UsageError } from './cli/common.ts';
import { commandDemo } from './cli/demo.ts';
import { commandApi, commandStart, commandWorker } from './cli/processes.ts';
import { commandLogin, commandSession, PersonActionError } from './cli/session.ts';
import { helpAnswer } from './cli/usage.ts';
import { commandWatch } from './cli/watch.ts';
import { ConfigError } from './config.ts';
import { InvalidActionError } from './listing/action.ts';
import { ValidationError } from './listing/listing.ts';
import { ActionQueueUnavailableError, ActionRefusedError, UnknownListingError } from './producer/actions.ts';
import { AlreadyListedError, QueueUnavailableError } from './producer/producer.ts';
import { sanitiseError } from './safe-errors.ts';
import { loadSimulator } from './simulator-loader.ts';

const HELP = `vr-lister: lists instruments on Vintage & Rare and resolves their V&R ids in batches.

Usage: vr-lister <command> [options]

Commands:
  migrate [--json]         apply the database migrations in drizzle/ (creates the database if missing)
  start [--json]           everything in one process: migrations, API, both workers, and the built-in
                           V&R simulator when VR_BASE_URL is unset; prints the URLs and the API token
  api                      the HTTP API (/api/vr/..., /metrics, /healthz, /readyz) and Bull Board
                           at /admin/queues
  worker create            the creation worker (needs VR_BASE_URL, VR_USERNAME, VR_PASSWORD)
  worker resolve           the resolution worker, the periodic sweep and the webhook sender
  resolve [--json]         download the export now, resolve what it can, and print the outcome
  reconcile [--json]       download the export and compare it with our listings: what a person sold,
                           deleted or repriced on V&R, by product ref; changes nothing
  simulator [options]      run the V&R simulator alone (--help for its options)
  enqueue FILE [--json] [--chunk-size N]
                           enqueue listings from a CSV or JSON file (- for standard input), N per
                           transaction, with a progress bar on a terminal
  status [--json]          counts per status, pending resolutions, last resolution
  jobs [--status S] [--json] [--limit N]
                           one line (or object) per job
  sold REF... [--json]     mark listings sold on V&R (done once the export shows them sold)
  restore REF... [--json]  take listings back from sold
  update REF [--price N] [--processing-time T] [--fee REGION=N]... [--local-pickup on|off]
         [--description HTML] [--json]
                           change a listing on V&R (only the fields given)
  photos REF URL... [--json]
                           replace every photo of a listing on V&R with these (1 to 20 image URLs)
  delete REF... [--yes] [--json]
                           delete listings from V&R (asks on a terminal; --yes otherwise)
  actions [--status S] [--json] [--limit N]
                           the actions asked, newest first, with their status
  watch [--json] [--once] [--interval MS]
                           live counts per status, the listing being created, the next flush;
                           --json prints one JSON object per refresh (NDJSON); Ctrl-C stops
  demo [--json]            enqueue 12 sample listings into the running system (npm start) and show
                           their V&R ids arriving; exit 0 once all are completed (npm run demo)
  login [--headed] [--timeout S]
                           open Chromium on V&R, wait for Cloudflare's challenge (click it in a visible
                           browser when it asks), log in, and store the session every worker uses
  session import FILE [--user-agent UA]
                           store cookies copied from your own browser (Playwright storage state, a
                           JSON cookie list, or Netscape cookies.txt) as the session every worker uses
  check-site [--json]      check V&R against what vr-lister needs (reachable, login, brand check, the
                           add form's elements, the category tree, the export); changes nothing
  check-site --round-trip [--price N] [--category PATH] [--brand B] [--wait-ms N]
                           opt-in: publish one test listing, wait for it in the export, read it
                           back, delete it; stores what it learnt about V&R
  review [--json]          the jobs in needs_review: why, their candidates beside what we asked (with
                           links to V&R), their evidence, and the two commands that decide them
  retry JOB [--resubmit]   put a failed or needs_review job back; --resubmit: you checked that it is
                           not on V&R, submit it again
  link JOB VR_ID           you found the job's listing on V&R: complete the job with that id
  resume [--json]          let creation go on after the circuit breaker paused it (3 listings in a
                           row ended unknown and never shown); look at them first (status, jobs)
  health [--worker create|resolve] [--json]
                           exit 0 when Postgres and Redis answer (and such a worker is connected)
  categories [--refresh] [--json]
                           V&R's category tree (leaf paths, or the tree as JSON); --refresh reads the
                           live form's cascade and writes it to data/vr-categories.json (--json: print it)
  help [COMMAND]           this text, or COMMAND's usage (also: vr-lister COMMAND --help)

Configuration comes from the environment (see README.md): DATABASE_URL, REDIS_URL, VR_BASE_URL,
VR_USERNAME, VR_PASSWORD, QUEUE_PREFIX, MAX_BATCH_SIZE, API_PORT, API_TOKEN, CHROMIUM_PATH, ...`;

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  const help = helpAnswer(argv, HELP);
  if (help?.kind === 'simulator') return main(['simulator', '--help']);
  if (help?.kind === 'unknown') throw new UsageError(`unknown command: ${help.command}\n\n${HELP}`);
  if (help?.kind === 'usage') return out(help.text);
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out(HELP);
      return;
    case 'migrate':
      return commandMigrate(args);
    case 'simulator': {
      const { runSimulatorCommand } = await loadSimulator();
      return runSimulatorCommand(args);
    }
    case 'worker':
      return commandWorker(args);
    case 'resolve':
      return commandResolve(args);
    case 'reconcile': {
      const { commandReconcile } = await import('./cli/reconcile.ts');
      return commandReconcile(args);
    }
    case 'api':
      return commandApi(args);
    case 'start':
      return commandStart(args);
    case 'enqueue':
      return commandEnqueue(args);
    case 'status':
      return commandStatus(args);
    case 'jobs':
      return commandJobs(args);
    case 'watch':
      return commandWatch(args);
    case 'sold':
    case 'restore':
    case 'update':
    case 'photos':
    case 'delete':
    case 'actions': {
      const actions = await import('./cli/actions.ts');
      if (command === 'update') return actions.commandUpdate(args);
      if (command === 'photos') return actions.commandPhotos(args);
      if (command === 'delete') return actions.commandDelete(args);
      if (command === 'actions') return actions.commandActions(args);
      return actions.commandStock(command, args);
    }
    case 'health':
      return commandHealth(args);
    case 'demo':
      return commandDemo(args);
    case 'login':
      return commandLogin(args);
    case 'session':
      return commandSession(args);
    case 'check-site':
      return commandCheckSite(args);
    case 'retry':
    case 'link':
    case 'review': {
      const { commandLink, commandRetry, commandReview } = await import('./cli/review.ts');
      if (command === 'review') return commandReview(args);
      return command === 'retry' ? commandRetry(args) : commandLink(args);
    }
    case 'resume': {
      const { commandResume } = await import('./cli/resume.ts');
      return commandResume(args);
    }
    case 'categories': {
      // Loaded on demand: --refresh brings in Playwright.
      const { commandCategories } = await import('./cli/categories.ts');
      return commandCategories(args);
    }
    default:
      throw new UsageError(`unknown command: ${command}\n\n${HELP}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof UsageError) {
    err(error.message);
    process.exitCode = 2;
  } else if (error instanceof ValidationError) {
    err('Nothing was enqueued: invalid listing(s):');
    for (const e of error.errors)
      err(`  ${e.index === undefined ? '' : `listing ${e.index}: `}${e.field} ${e.message}`);
    process.exitCode = 1;
  } else if (error instanceof InvalidActionError) {
    err('Nothing was written: invalid action:');
    for (const e of error.errors) err(`  ${e.field} ${e.message}`);
    process.exitCode = 1;
  } else if (
    error instanceof UnknownListingError ||
    error instanceof ActionRefusedError ||
    error instanceof ActionQueueUnavailableError ||
    error instanceof AlreadyListedError ||
    error instanceof QueueUnavailableError ||
    error instanceof PersonActionError
  ) {
    err(error.message);
    process.exitCode = 1;
  } else if (String((error as { code?: string }).code).startsWith('ERR_PARSE_ARGS')) {
    err((error as Error).message);
    process.exitCode = 2;
  } else {
    // Sanitised like every error that leaves a process: no call log, cookie or credentials.
    const safe = sanitiseError(error);
    err(safe.stack ?? safe.message);
    process.exitCode = 1;
  }
});
