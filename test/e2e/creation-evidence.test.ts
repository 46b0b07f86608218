import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { unzipSync } from 'fflate';
import type { Browser } from 'playwright-core';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../simulator/src/server.ts';
import { startCreationProcess } from '../../src/creation/main.ts';
import type { JobArtifact, JobPayload } from '../../src/db/schema.ts';
import { ValidationError } from '../../src/listing/listing.ts';
import { silentLogger } from '../../src/logger.ts';
import { createProducer } from '../../src/producer/producer.ts';
import { CREATE_QUEUE } from '../../src/queues.ts';
import { SessionStore } from '../../src/vr/session-store.ts';
import { readSiteState } from '../../src/vr/site-state.ts';
import { buildTestApi } from '../helpers/api.ts';
import { launchSessionChromium } from '../helpers/chromium.ts';
import { runCli } from '../helpers/cli.ts';
import { setupServices, TEST_LISTING_DEFAULTS, type TestServices, waitFor } from '../helpers/services.ts';
import { FAST_SITE } from '../helpers/sim-timing.ts';

/**
 * What creation does when the page is not what it expects, and what is refused before anything is
 * written: enqueue refusals; a listing the form's own validation stops (nothing sent); an unknown
 * Publish verdict, a missing element and a refused login, each leaving a screenshot, the HTML and
 * the step's trace, served by the API to a token holder only, none holding the password.
 */

const TOKEN = 'evidence-test-token-0123456789';
// A quote and a backslash: JSON escapes them, and a trace escapes the escapes again.
const PASSWORD = 'Pw-"Secret"\\4711-xyz';
const WRONG_PASSWORD = 'Wrong-"Secret"\\8123-abc';

/** Every encoding a password may take in a page, a request or a trace. */
function passwordForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  return [secret, json, JSON.stringify(json).slice(1, -1), encodeURIComponent(secret)];
}

/** Session cookies' values in a file: `NAME=value` (headers) or `"name":"NAME","value":"…"` (cookie objects). */
function cookieValues(text: string): string[] {
  const found: string[] = [];
  const names = 'PHPSESSID|cf_clearance|__cf_bm';
  for (const m of text.matchAll(new RegExp(`(?:${names})=([^;\\s"*[]{8,})`, 'g'))) found.push(m[0]);
  for (const m of text.matchAll(new RegExp(`"name":"(?:${names})","value":"([^"*[]{8,})`, 'g')))
    found.push(m[0]);
  return found.filter((f) => !f.includes('deleted'));
}

describe('creation evidence and refusals', () => {
  let services: TestServices;
  let artifactsDir: string;
  let api: FastifyInstance;
  const sims: Simulator[] = [];
  // One Chromium for the file's workers: each opens its own context (and its trace) on it.
  let browser: Browser;

  before(async () => {
    services = await setupServices();
    browser = await launchSessionChromium();
    artifactsDir = await mkdtemp(join(tmpdir(), 'vr-evidence-'));
    api = await buildTestApi(services, {
      env: { API_TOKEN: TOKEN, ARTIFACTS_DIR: artifactsDir },
      redis: services.redis,
    });
  });

  after(async () => {
    await browser?.close();
    await api.close();
    await Promise.all(sims.map((s) => s.close()));
    await services.cleanup();
    await rm(artifactsDir, { recursive: true, force: true });
  });

  async function sim(options: SimulatorOptions = {}): Promise<Simulator> {
    const s = await startSimulator({
      port: 0,
      catalogRows: 20,
      seed: 5,
      username: 'seller',
      password: PASSWORD,
      ...FAST_SITE,
      ...options,
    });
    sims.push(s);
    assert.notEqual(s.state().cloudflare, 'off', 'the gate is on');
    return s;
  }

  function worker(s: Simulator, env: Record<string, string> = {}, password = PASSWORD) {
    return startCreationProcess({
      config: services.config({ CREATE_BACKOFF_MS: '200', ARTIFACTS_DIR: artifactsDir, ...env }),
      site: { baseUrl: s.url, username: 'seller', password },
      logger: silentLogger,
      browser,
    });
  }

  async function row(ref: string) {
    const [r] = await services.database.sql<
      {
        id: number;
        status: string;
        error: string | null;
        artifacts: JobArtifact[] | null;
        payload: JobPayload;
        submit_outcome_unknown: boolean;
      }[]
    >`select id::int, status, error, artifacts, payload, submit_outcome_unknown from vr_jobs where product_ref = ${ref}`;
    return r;
  }

  /** The three files, served with a token and refused without, none holding a password. */
  async function checkEvidence(ref: string, step: string) {
    const r = (await row(ref))!;
    const all = (r.artifacts ?? []).filter((a) => a.step === step).map((a) => a.name);
    assert.ok(all.length > 0, `${ref}: evidence for ${step} (${JSON.stringify(r.artifacts)})`);
    // The last capture (one per attempt that met the page): its three files.
    const stem = all.at(-1)!.replace(/\.(png|html|trace\.zip)$/, '');
    const names = all.filter((n) => n.startsWith(`${stem}.`));
    assert.deepEqual(
      names.map((n) => n.slice(stem.length)).sort(),
      ['.html', '.png', '.trace.zip'],
      `${ref}: three files for ${step} (${JSON.stringify(r.artifacts)})`,
    );
    for (const name of names) {
      const url = `/api/vr/jobs/${r.id}/artifacts/${name}`;
      const refused = await api.inject({ method: 'GET', url });
      assert.equal(refused.statusCode, 401, `${url} without a token`);
      const served = await api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(served.statusCode, 200, `${url}: ${served.body.slice(0, 200)}`);
      const bytes = served.rawPayload;
      assert.deepEqual(bytes, await readFile(join(artifactsDir, String(r.id), name)));
      const files = name.endsWith('.zip') ? Object.values(unzipSync(new Uint8Array(bytes))) : [bytes];
      if (name.endsWith('.zip')) assert.ok(files.length > 1, 'a trace with its files');
      for (const file of files) {
        const text = Buffer.from(file).toString('utf8');
        for (const form of [PASSWORD, WRONG_PASSWORD].flatMap(passwordForms)) {
          assert.ok(!text.includes(form), `${name} holds a password (${form})`);
        }
        assert.deepEqual(cookieValues(text), [], `${name} holds a session cookie`);
      }
      const mode = (await stat(join(artifactsDir, String(r.id), name))).mode & 0o777;
      assert.equal(mode.toString(8), '600', `${name} is the owner's only`);
      if (name.endsWith('.html')) assert.match(bytes.toString('utf8'), /<html/i);
    }
    const dirMode = (await stat(join(artifactsDir, String(r.id)))).mode & 0o777;
    assert.equal(dirMode.toString(8), '700', "the job's folder is the owner's only");
    for (const trick of ['..%2F..%2Fetc%2Fpasswd', '%2E%2E', 'x.png', names[0]!.replace('.png', '.PNG')]) {
      const response = await api.inject({
        method: 'GET',
        url: `/api/vr/jobs/${r.id}/artifacts/${trick}`,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.ok([400, 404].includes(response.statusCode), `${trick}: ${response.statusCode}`);
    }
    assert.ok(
      names.every((n) => r.error?.includes(n)),
      `${ref}: the error names the files: ${r.error}`,
    );
    return r;
  }

  test('refused at enqueue, naming the field and the choices, with nothing written', async () => {
    const strict = createProducer({
      databaseUrl: services.databaseUrl,
      redisUrl: services.redisUrl,
      queuePrefix: services.queuePrefix,
    });
    const base = { brand: 'Fender', model: 'Strat', price: 1000, shipping: { fees: { uk: 10 } } };
    const refusal = async (listing: Record<string, unknown>) => {
      try {
        await strict.enqueueListing(listing);
      } catch (error) {
        assert.ok(error instanceof ValidationError, String(error));
        return error.errors;
      }
      assert.fail(`accepted ${JSON.stringify(listing)}`);
    };
    try {
      const [nonLeaf] = await refusal({ ...base, productRef: 'R-1', category: 'Guitars' });
      assert.equal(nonLeaf!.field, 'category');
      assert.match(
        nonLeaf!.message,
        /not a leaf category: choose one of Guitars>Archtop>Acoustic, Guitars>Archtop>Electric/,
      );
      const [unknown] = await refusal({ ...base, productRef: 'R-2', category: 'Guitars>Spaceships' });
      assert.match(
        unknown!.message,
        /nothing called "Spaceships" under Guitars\): choose one of Guitars>Archtop>Acoustic/,
      );
      const [noCategory] = await refusal({ ...base, productRef: 'R-3' });
      assert.equal(noCategory!.field, 'category');
      assert.match(noCategory!.message, /VR_DEFAULT_CATEGORY/);
      const [noShipping] = await refusal({
        productRef: 'R-4',
        brand: 'Fender',
        model: 'X',
        price: 5,
        category: 'Amps>Combo',
      });
      assert.equal(noShipping!.field, 'shipping');
      assert.match(noShipping!.message, /at least one region \(uk, europe, usa, world\) or local pickup/);
      const [photos] = await refusal({
        ...base,
        productRef: 'R-5',
        category: 'Amps>Combo',
        images: Array.from({ length: 21 }, (_, i) => `https://img.example.com/${i}.jpg`),
      });
      assert.equal(photos!.field, 'images');
      assert.match(photos!.message, /at most 20/);
    } finally {
      await strict.close();
    }
    // The API says the same, in the same words.
    const response = await api.inject({
      method: 'POST',
      url: '/api/vr/jobs',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: [
        { productRef: 'R-6', brand: 'Fender', model: 'X', price: 5, category: 'Basses' },
        {
          productRef: 'R-7',
          brand: 'Fender',
          model: 'X',
          price: 5,
          shipping: { fees: {}, localPickup: false },
        },
      ],
    });
    assert.equal(response.statusCode, 400);
    const body = response.json() as { errors: { index: number; field: string; message: string }[] };
    assert.deepEqual(
      body.errors.map((e) => [e.index, e.field]),
      [
        [0, 'category'],
        [1, 'shipping'],
      ],
    );
    assert.match(body.errors[0]!.message, /choose one of Basses>4 string/);
    const [{ n }] = (await services.database.sql`select count(*)::int as n from vr_jobs`) as unknown as [
      { n: number },
    ];
    assert.equal(n, 0, 'nothing written');
  });

  test("the form's own validation stops a listing: failed naming the field, nothing sent", async () => {
    const s = await sim();
    const producer = services.producer();
    await producer.enqueueListing({ productRef: 'BLOCK-1', brand: 'Fender', model: 'Strat', price: 900 });
    // As an older version could have stored it: neither shipping nor pickup (enqueue refuses that now).
    await services.database.sql`
      update vr_jobs set payload = jsonb_set(payload, '{listing,shipping}', '{"fees": {}, "localPickup": false}')
      where product_ref = 'BLOCK-1'`;
    const w = worker(s);
    try {
      await waitFor('BLOCK-1 failed', async () => (await row('BLOCK-1'))?.status === 'failed');
    } finally {
      await w.stop();
    }
    const r = (await row('BLOCK-1'))!;
    assert.match(r.error!, /V&R rejected the listing \(its form sent nothing\): local_pickup/);
    assert.match(r.error!, /Please choose local pickup, shipping, or both/);
    assert.equal(s.state().counters.submissions, 0, 'no Publish POST');
  });

  test('an unknown Publish verdict: pending resolution, never resubmitted, with its evidence', async () => {
    const s = await sim();
    s.setFaults({ failNextSubmits: 1 });
    await services
      .producer()
      .enqueueListing({ productRef: 'UNK-1', brand: 'Gibson', model: 'ES-335', price: 3000 });
    const w = worker(s);
    try {
      await waitFor('UNK-1 pending', async () => (await row('UNK-1'))?.status === 'completed_pending_id');
    } finally {
      await w.stop();
    }
    const r = await checkEvidence('UNK-1', 'publish');
    assert.equal(r.submit_outcome_unknown, true);
    assert.match(r.error!, /submit outcome unknown: Publish answered HTTP 500/);
    assert.equal(s.state().counters.submissions, 1, 'submitted once');
  });

  test('a missing element: the attempt fails with the evidence of the page', async () => {
    const s = await sim({ dropElements: ['shipping'] });
    const oneTry = createProducer({
      databaseUrl: services.databaseUrl,
      redisUrl: services.redisUrl,
      queuePrefix: services.queuePrefix,
      createAttempts: 1,
      listingDefaults: TEST_LISTING_DEFAULTS,
    });
    try {
      await oneTry.enqueueListing({
        productRef: 'MISS-1',
        brand: 'Vox',
        model: 'AC30',
        price: 1200,
        shipping: { fees: { uk: 30 } },
      });
    } finally {
      await oneTry.close();
    }
    const w = worker(s);
    try {
      await waitFor('MISS-1 failed', async () => (await row('MISS-1'))?.status === 'failed');
    } finally {
      await w.stop();
    }
    const r = await checkEvidence('MISS-1', 'fill-form');
    assert.match(r.error!, /no shipping rows \(div\.ships_to\)/);
    assert.equal(s.state().counters.submissions, 0);
  });

  test('a refused login: the job waits, with the evidence of the login page', async () => {
    const s = await sim();
    await services
      .producer()
      .enqueueListing({ productRef: 'LOGIN-1', brand: 'Martin', model: 'D-18', price: 2000 });
    const w = worker(s, {}, WRONG_PASSWORD);
    try {
      await waitFor('LOGIN-1 evidence', async () => ((await row('LOGIN-1'))?.artifacts ?? []).length >= 3);
    } finally {
      await w.stop();
    }
    const r = await checkEvidence('LOGIN-1', 'login');
    assert.match(r.error!, /V&R refused the login for user seller/);
    assert.equal(r.status, 'queued', 'waiting for a person, not failed');

    // jobs --json names them too.
    const jobs = await runCli(['jobs', '--json'], services.env({ ARTIFACTS_DIR: artifactsDir }));
    assert.equal(jobs.code, 0, jobs.stderr);
    const view = (JSON.parse(jobs.stdout) as { productRef: string; artifacts: JobArtifact[] }[]).find(
      (j) => j.productRef === 'LOGIN-1',
    );
    assert.deepEqual(
      view!.artifacts.map((a) => a.name),
      (r.artifacts ?? []).map((a) => a.name),
    );
  });

  test('a session key that cannot open the stored session: jobs wait for a person, tries unused; the right session resumes them', async () => {
    const s = await sim();
    const blank = { cookies: [], origins: [] };
    const KEY = 'the-key-this-worker-has-0123';
    // A plaintext row is refused when a key is set: anyone with the database could have written it.
    await new SessionStore(services.database, 'seller', undefined).save(blank, 'UA', 'login');
    await assert.rejects(
      new SessionStore(services.database, 'seller', KEY).load(),
      /not encrypted but VR_SESSION_KEY is set/,
    );
    // Stored by a process with another key.
    await new SessionStore(services.database, 'seller', 'the-key-it-was-stored-with').save(
      blank,
      'UA',
      'login',
    );
    await services
      .producer()
      .enqueueListing({ productRef: 'KEY-1', brand: 'Martin', model: 'D-28', price: 2100 });
    const w = worker(s, { VR_SESSION_KEY: KEY });
    const queue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
    try {
      await waitFor(
        'the state shown',
        async () => (await readSiteState(services.redis, services.queuePrefix)).state === 'session_key',
      );
      await waitFor('KEY-1 held', async () => {
        const jobs = await queue.getJobs(['delayed']);
        return jobs.some((job) => job.data.productRef === 'KEY-1' && job.data.heldFor === 'session_key');
      });
      const [held] = (await queue.getJobs(['delayed'])).filter((job) => job.data.productRef === 'KEY-1');
      assert.equal(held!.attemptsMade, 0, 'no try used');
      assert.equal((await row('KEY-1'))!.status, 'queued');
      assert.match((await row('KEY-1'))!.error!, /VR_SESSION_KEY does not decrypt the stored V&R session/);
      const status = await runCli(['status'], services.env());
      assert.match(status.stdout, /VR_SESSION_KEY does not decrypt/, status.stdout);
      assert.equal(s.state().counters.submissions, 0);

      // A person stores the session with this key (`vr-lister login` does): work resumes, no restart.
      await new SessionStore(services.database, 'seller', KEY).save(blank, 'UA', 'login');
      await waitFor('KEY-1 submitted', async () => s.state().counters.submissions === 1, 120_000);
      assert.equal((await readSiteState(services.redis, services.queuePrefix)).state, 'ok');
    } finally {
      await queue.close();
      await w.stop();
    }
  });
});
