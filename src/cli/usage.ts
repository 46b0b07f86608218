/**
 * `vr-lister <command> --help`: each command's usage. A command without an entry here gets its
 * lines from the overview (`vr-lister help`), so a new command always has some help.
 */
const USAGE: Record<string, string> = {
  migrate: `Usage: vr-lister migrate [--json]

Applies the migrations in drizzle/ to DATABASE_URL, creating the database if it is missing.
  --json    print the outcome as one JSON object`,
  start: `Usage: vr-lister start [--json]

Everything in one process: migrations, the API, both workers and, when VR_BASE_URL is unset, the
built-in V&R simulator. Prints the URLs and the API token (generated unless API_TOKEN is set).
  --json    print the addresses and token as one JSON object`,
  api: `Usage: vr-lister api

The HTTP API on API_HOST:API_PORT (/api/vr/..., /metrics, /healthz, /readyz), its OpenAPI
contract at /api/openapi.json and /api/docs, and Bull Board at /admin/queues. Needs API_TOKEN (or API_INSECURE=on for local use).`,
  worker: `Usage: vr-lister worker create|resolve

  create    the creation worker: one Chromium, one listing at a time (needs VR_BASE_URL,
            VR_USERNAME, VR_PASSWORD)
  resolve   the resolution worker (one export download per batch), the periodic sweep and
            the webhook sender (WEBHOOK_URL)`,
  resolve: `Usage: vr-lister resolve [--json]

Downloads the V&R export now, resolves what it can, and prints the outcome.
  --json    print the outcome as one JSON object`,
  reconcile: `Usage: vr-lister reconcile [--json]

Downloads one V&R export and compares it with the listings vr-lister made: those marked sold on
V&R, gone from the export (deleted) or whose price, brand, model or year changed there, when
vr-lister didn't ask for it; rows that are not ours are counted. Changes nothing. Exit 0 with a
report, 1 when the export could not be read.
  --json    print {soldOnVr, missingOnVr, changedOnVr: [{productRef, field, ours, vr}], notOurs, checked, rows}`,
  enqueue: `Usage: vr-lister enqueue FILE [--json] [--chunk-size N]

Enqueues the listings in FILE, a CSV file (header: productRef,brand,model,price,...) or a JSON
array; - reads standard input. The whole file is validated first: one bad listing and nothing
is written.
  --chunk-size N   listings per transaction (500)
  --json           print the jobs as one JSON array`,
  status: `Usage: vr-lister status [--json]

Counts per status, pending resolutions and the last resolution.
  --json    print the report as one JSON object`,
  jobs: `Usage: vr-lister jobs [--status S] [--limit N] [--json]

One line (or JSON object) per job, oldest first.
  --status S   only jobs in status S (queued, in_progress, completed_pending_id, completed,
               failed, needs_review)
  --limit N    at most N jobs (100000)
  --json       print one JSON array`,
  watch: `Usage: vr-lister watch [--json] [--once] [--interval MS]

Live: counts per status, the listing being created, the flush running and the next one due.
Ctrl-C stops it with status 0.
  --interval MS   refresh period (1000)
  --once          print one refresh and exit
  --json          one JSON object per refresh (NDJSON)`,
  demo: `Usage: vr-lister demo [--json] [--interval MS] [--timeout-s S]

Enqueues twelve sample listings into the running system (npm start in another terminal) and
shows their V&R ids arriving; exits 0 once all are completed.
  --interval MS   refresh period (1000)
  --timeout-s S   give up after S seconds (600)
  --json          one JSON object per refresh (NDJSON)`,
  login: `Usage: vr-lister login [--headed] [--timeout S] [--json]

Opens Chromium on V&R from a blank browser, waits for Cloudflare's challenge to pass (click it in a
visible browser when it asks), logs in with VR_USERNAME and VR_PASSWORD, and stores the session
every worker uses (Postgres, encrypted with VR_SESSION_KEY). Needs DATABASE_URL, not Redis.
  --headed      a visible browser (a desktop, xvfb-run, or the image's Xvfb)
  --timeout S   how long the challenge may take (300)
  --json        print the outcome as one JSON object`,
  session: `Usage: vr-lister session import FILE [--user-agent UA] [--json]

Stores cookies copied out of your own browser as the session every worker uses: a Playwright
storage state, a JSON cookie list as browser extensions export it, or a Netscape cookies.txt
(- reads standard input). Only the site's cookies are kept; their values are never printed.
  --user-agent UA   that browser's User-Agent (navigator.userAgent): cf_clearance only works with
                    it (default VR_USER_AGENT)
  --json            print the outcome as one JSON object`,
  review: `Usage: vr-lister review [--json]

The jobs in needs_review, oldest first, each with why it is there, what we asked (brand, model,
price, year, category), its candidates as the export showed them (V&R id, brand, model, price, the
export that showed it, a link to <VR_BASE_URL>/product/<id>) and its evidence files. Decide each with
\`vr-lister link JOB VR_ID\` (this listing is ours) or \`vr-lister retry JOB --resubmit\` (not on
V&R: list it again), or on the API's review page at /review.
  --json    print a JSON array, one object per job (as GET /api/vr/review's jobs)`,
  retry: `Usage: vr-lister retry JOB [--resubmit] [--json]

Puts a failed or needs_review job back in the pipeline. A job whose Publish may have reached V&R is
looked for in the export again, never submitted twice, unless you checked V&R and say otherwise:
  --resubmit   the listing is not on V&R: submit it again
  --json       print the outcome as one JSON object`,
  link: `Usage: vr-lister link JOB VR_ID [--json]

You found the job's listing on V&R: the job completes with VR_ID and its product is linked to it.
Refused when VR_ID is linked to another product, or is above the last complete export's ids.
  --json    print the outcome as one JSON object`,
  resume: `Usage: vr-lister resume [--json]

The circuit breaker pauses creation after 3 listings in a row ended with an unknown outcome and were
never shown in an export (they wait in needs_review). Look at them first; then this lets creation go
on: the pause and the streak are cleared and the held jobs start at once.
  --json    print {wasPaused, released}`,
  sold: `Usage: vr-lister sold REF... [--json]

Marks each product's V&R listing sold. Every REF is checked first (an unknown one, or a listing
that failed or is in review, is refused and nothing is written); a listing whose V&R id isn't known
yet waits for it. Done only once V&R's export shows it sold; asking again does nothing.
  --json    print the actions as JSON`,
  restore: `Usage: vr-lister restore REF... [--json]

Takes each product's V&R listing back from sold, as \`sold\` does the other way (done once the
export shows it unsold).
  --json    print the actions as JSON`,
  update: `Usage: vr-lister update REF [--price N] [--processing-time T] [--fee REGION=N]... [--local-pickup on|off] [--description HTML]

Changes the listing on V&R through its edit page, only the fields given (the description is left
out unless given), and reads the edit page back: done only when V&R shows the new values.
  --price N               the new price
  --processing-time T     e.g. "3 Days", "2 Weeks"
  --fee REGION=N          a region's shipping fee (uk, europe, usa, world); repeatable
  --local-pickup on|off   local pickup
  --description HTML      a new description
  --json                  print the action as JSON`,
  photos: `Usage: vr-lister photos REF URL... [--json]

Replaces every photo of the product's V&R listing with the photos at these URLs, in this order (1
to 20, checked as a listing's images: http(s), no user name or password). The worker downloads
and converts them as for a new listing (JPEG, 10 MB in all), uploads them on the listing's edit
page and removes the old ones there; done only when the edit page shows exactly these many photos
and none of the old.
  --json    print the action as JSON`,
  delete: `Usage: vr-lister delete REF... [--yes] [--json]

Deletes each product's listing from V&R (it asks first on a terminal; elsewhere --yes is required).
Done once the edit page answers 404 or the export lacks it; a delete is never repeated blind.
  --yes     don't ask
  --json    print the actions as JSON`,
  actions: `Usage: vr-lister actions [--status S] [--json] [--limit N]

The actions asked on listings (sold, restore, update, photos, delete), newest first, with their status:
queued, waiting_for_id, in_progress, done or failed.
  --status S   only those with status S
  --limit N    at most N (1000)
  --json       print a JSON array of {id, productRef, kind, status, vrListingId, error}`,
  'check-site': `Usage: vr-lister check-site [--json] [--round-trip [--price N] [--category PATH] [--brand B] [--wait-ms N]]

Checks V&R against what vr-lister needs, with the stored session, and never changes anything there:
reachable and not blocked, logged in, the brand check, the add form's elements (category cascade,
TinyMCE, Dropzone input, shipping rows, Publish link), the category tree, the export. Exit 0 only
when every check passes; a failure names the check, what it saw, and the screenshot and HTML saved.
  --json    print {ok, checks: [{name, ok, ms, detail}]}

  --round-trip   opt-in, on the live account: publish ONE listing marked as a test, wait for it in
                 the export (measuring the indexing delay), read it back on its edit page, delete it
                 and confirm it gone. Facts learnt are stored and shown by check-site and status;
                 --json adds facts: {publishedText, indexingDelayMs, markerSurvives,
                 exportContentType, feesStored, deleted}
  --price N      the test listing's price (default 99999)
  --category P   a leaf of the category tree (default Guitars>Electric solid body)
  --brand B      (default Fender)
  --wait-ms N    how long the export may take to show it, and to drop it (default 600000)`,
  categories: `Usage: vr-lister categories [--refresh] [--json]

V&R's category tree, as the listings' \`category\` must name it: one leaf path a line
(Guitars>Electric solid body), or the whole tree as JSON with --json.
  --refresh   read the tree from the live add form's cascade (logged in, through Chromium) and write it
              to data/vr-categories.json, saying what changed; with --json, print it instead`,
  health: `Usage: vr-lister health [--worker create|resolve] [--json]

Exits 0 when Postgres and Redis answer (and, with --worker, such a worker is connected to its
queue), 1 otherwise: a container health check.
  --worker create|resolve   also require a worker of that kind
  --json                    print the report as one JSON object`,
};

/** The command's usage, or its lines of `overview`, or undefined for an unknown command. */
export function commandUsage(command: string, overview: string): string | undefined {
  const own = USAGE[command];
  if (own) return own;
  const lines = overview.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`  ${command} `) || line === `  ${command}`);
  if (start < 0) return undefined;
  let end = start + 1;
  // Continuation lines are indented deeper than a command name.
  while (end < lines.length && /^ {4,}\S/.test(lines[end]!)) end += 1;
  return `Usage: vr-lister\n${lines.slice(start, end).join('\n')}`;
}

export type HelpAnswer =
  | { kind: 'usage'; text: string }
  | { kind: 'simulator' }
  | { kind: 'unknown'; command: string };

/**
 * What `vr-lister ARGV` answers when it asks for a command's help (`COMMAND --help`, `COMMAND -h`,
 * `help COMMAND`), or undefined when it doesn't (the overview is the `help` command's own answer).
 * `simulator --help` is the simulator's own; `help simulator` answers `simulator`, to run it.
 */
export function helpAnswer(argv: string[], overview: string): HelpAnswer | undefined {
  const [command, ...args] = argv;
  const wanted =
    command === 'help'
      ? args[0]
      : command !== undefined && command !== 'simulator' && (args.includes('--help') || args.includes('-h'))
        ? command
        : undefined;
  if (wanted === undefined || wanted.startsWith('-')) return undefined;
  if (wanted === 'simulator') return { kind: 'simulator' };
  const text = commandUsage(wanted, overview);
  return text === undefined ? { kind: 'unknown', command: wanted } : { kind: 'usage', text };
}
