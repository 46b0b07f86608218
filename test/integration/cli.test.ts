import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { commandUsage, helpAnswer } from '../../src/cli/usage.ts';
import { runCli } from '../helpers/cli.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

describe('vr-lister CLI', () => {
  let services: TestServices;
  let dir: string;

  before(async () => {
    services = await setupServices();
    dir = await mkdtemp(join(tmpdir(), 'vrl-cli-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await services.cleanup();
  });

  test('--help lists the commands', async () => {
    const result = await runCli(['--help'], {});
    assert.equal(result.code, 0);
    for (const command of ['migrate', 'simulator', 'enqueue', 'status', 'jobs']) {
      assert.match(result.stdout, new RegExp(`\\n  ${command}\\b`));
    }
  });

  test('every command --help prints its usage and exits 0, with no configuration at all', async () => {
    const overview = (await runCli(['help'], {})).stdout;
    const commands = [...new Set([...overview.matchAll(/^ {2}([a-z][a-z-]*[a-z])\b/gm)].map((m) => m[1]!))];
    assert.ok(commands.length >= 12, commands.join(' '));
    // Every command the overview lists, through the same function the CLI asks first.
    for (const command of commands.filter((c) => c !== 'help' && c !== 'simulator')) {
      for (const argv of [
        [command, '--help'],
        [command, 'x', '-h'],
        ['help', command],
      ]) {
        const answer = helpAnswer(argv, overview);
        assert.equal(answer?.kind, 'usage', argv.join(' '));
        assert.match(answer.text, new RegExp(`^Usage: vr-lister ${command}\\b`), argv.join(' '));
      }
    }
    assert.deepEqual(helpAnswer(['help', 'simulator'], overview), { kind: 'simulator' });
    assert.equal(helpAnswer(['simulator', '--help'], overview), undefined, 'the simulator answers itself');
    assert.equal(helpAnswer(['status'], overview), undefined);
    // And end to end, in real processes: the command the issue named, the simulator, the fallback.
    const [enqueue, simulator, viaHelp, unknown] = await Promise.all([
      runCli(['enqueue', '--help'], {}),
      runCli(['simulator', '--help'], {}),
      runCli(['help', 'jobs'], {}),
      runCli(['frobnicate', '--help'], {}),
    ]);
    assert.equal(enqueue.code, 0, enqueue.stderr);
    assert.match(enqueue.stdout, /^Usage: vr-lister enqueue FILE[\s\S]*--chunk-size N/);
    assert.equal(simulator.code, 0, simulator.stderr);
    assert.match(simulator.stdout, /^Usage: vr-lister simulator/);
    assert.equal(viaHelp.code, 0, viaHelp.stderr);
    assert.match(viaHelp.stdout, /^Usage: vr-lister jobs/);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command: frobnicate/);
  });

  test('a command without its own usage text gets its lines of the overview', () => {
    const overview = 'Commands:\n  frob [--x]   does a thing\n               over two lines\n  other   no';
    assert.equal(
      commandUsage('frob', overview),
      'Usage: vr-lister\n  frob [--x]   does a thing\n               over two lines',
    );
    assert.equal(commandUsage('nothing', overview), undefined);
    assert.deepEqual(helpAnswer(['nothing', '--help'], overview), { kind: 'unknown', command: 'nothing' });
  });

  test('an unknown command fails on stderr with status 2', async () => {
    const result = await runCli(['frobnicate'], {});
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command: frobnicate/);
  });

  test('bad configuration names the variable and changes nothing', async () => {
    const result = await runCli(['status'], services.env({ MAX_BATCH_SIZE: 'ten', REDIS_URL: 'http://x' }));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /MAX_BATCH_SIZE: must be a whole number/);
    assert.match(result.stderr, /REDIS_URL: must be a URL/);
  });

  test('a real (https) site without VR_SESSION_KEY: the worker refuses to start, in one line naming it', async () => {
    const result = await runCli(
      ['worker', 'create'],
      services.env({
        VR_BASE_URL: 'https://www.vintageandrare.com',
        VR_USERNAME: 'seller',
        VR_PASSWORD: 'pw',
      }),
    );
    assert.equal(result.code, 2);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /VR_SESSION_KEY: required when VR_BASE_URL is a real site/);
  });

  test('enqueue a CSV file, then status and jobs agree', async () => {
    const file = join(dir, 'listings.csv');
    await writeFile(
      file,
      [
        'productRef,brand,model,price,year,finish,description,allowFallbackBrand',
        'CSV-1,Fender,Stratocaster,1299,1962,Sunburst,"<p>Lovely, ""clean"" example</p>",false',
        'CSV-2,gibson, Les Paul ,2500,,Gold Top,,',
        'CSV-3,Vox,AC30,900,1964,,"<p>Line one</p>\n<p>Line two</p>",',
      ].join('\n'),
    );
    const enqueue = await runCli(['enqueue', file], services.env());
    assert.equal(enqueue.code, 0, enqueue.stderr);
    assert.match(enqueue.stdout, /3 listing\(s\) enqueued, 0 already in the pipeline/);
    // Not a terminal: no progress bar, a plain line per chunk on stderr.
    assert.equal(enqueue.stderr, 'enqueued 3/3\n');

    const chunked = await runCli(['enqueue', file, '--chunk-size', '2'], services.env());
    assert.equal(chunked.code, 0, chunked.stderr);
    assert.equal(chunked.stderr, 'enqueued 2/3\nenqueued 3/3\n');
    assert.match(chunked.stdout, /0 listing\(s\) enqueued, 3 already in the pipeline/);

    const again = await runCli(['enqueue', file, '--json'], services.env());
    assert.equal(again.code, 0, again.stderr);
    const againJobs = JSON.parse(again.stdout) as { created: boolean }[];
    assert.equal(again.stderr, '', '--json: no progress lines');
    assert.deepEqual(
      againJobs.map((j) => j.created),
      [false, false, false],
    );

    const status = await runCli(['status', '--json'], services.env());
    assert.equal(status.code, 0, status.stderr);
    const report = JSON.parse(status.stdout);
    assert.deepEqual(report.counts, {
      queued: 3,
      in_progress: 0,
      completed_pending_id: 0,
      completed: 0,
      failed: 0,
      needs_review: 0,
    });
    assert.equal(report.pending_count, 0);
    assert.equal(report.oldest_pending, null);
    assert.equal(report.last_resolution, null);

    const jobs = await runCli(['jobs', '--json', '--status', 'queued'], services.env());
    assert.equal(jobs.code, 0, jobs.stderr);
    const list = JSON.parse(jobs.stdout);
    assert.deepEqual(
      list.map((j: { productRef: string }) => j.productRef),
      ['CSV-1', 'CSV-2', 'CSV-3'],
    );
    assert.deepEqual(Object.keys(list[0]).sort(), [
      'artifacts',
      'attempts',
      'error',
      'id',
      'productRef',
      'resolutionAttempts',
      'status',
      'submittedAt',
      'verification',
      'vrListingId',
    ]);
    assert.equal(list[0].vrListingId, null);
    assert.equal(list[0].verification, null, 'no read-back before an id');
    const [row] = await services.database.sql`select payload from vr_jobs where product_ref = 'CSV-2'`;
    assert.deepEqual(row!.payload.listing, {
      productRef: 'CSV-2',
      brand: 'gibson',
      model: 'Les Paul',
      price: 2500,
      finish: 'Gold Top',
      // The defaults the tests run with (VR_DEFAULT_CATEGORY, VR_SHIPPING_FEES).
      category: 'Guitars>Electric solid body',
      shipping: { fees: { uk: 75, europe: 50, usa: 100, world: 150 }, localPickup: false },
    });

    const text = await runCli(['jobs'], services.env());
    assert.equal(text.stdout.trim().split('\n').length, 3);
    assert.match(text.stdout, /CSV-1\tqueued\t-\tattempts=0/);
  });

  test('enqueue JSON from standard input; one bad listing rejects the file and writes nothing', async () => {
    const input = JSON.stringify([
      { productRef: 'STDIN-1', brand: 'Gretsch', model: 'White Falcon', price: 5000 },
      { productRef: 'STDIN-2', brand: 'Gretsch', model: 'Duo Jet', price: -1 },
    ]);
    const result = await runCli(['enqueue', '-'], services.env(), input);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Nothing was enqueued/);
    assert.match(result.stderr, /listing 1: price must be greater than 0/);
    const [row] = await services.database
      .sql`select count(*)::int as n from vr_jobs where product_ref like 'STDIN-%'`;
    assert.equal(row!.n, 0);

    const ok = await runCli(['enqueue', '-'], services.env(), JSON.stringify(JSON.parse(input)[0]));
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /1 listing\(s\) enqueued/);
  });

  test('jobs rejects an unknown status', async () => {
    const result = await runCli(['jobs', '--status', 'done'], services.env());
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--status must be one of queued, in_progress/);
  });
});
