import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { loadConfig } from '../../src/config.ts';
import { type RunningProcess, startCreationProcess } from '../../src/creation/main.ts';
import { LOG_EVENT } from '../../src/log-events.ts';
import { silentLogger } from '../../src/logger.ts';
import { OUTAGE_EVENT } from '../../src/outage.ts';
import type { Producer } from '../../src/producer/producer.ts';
import { CREATE_QUEUE, type CreateJobData } from '../../src/queues.ts';
import { startResolutionProcess } from '../../src/resolution/main.ts';
import { checkBrand } from '../../src/vr/brand-check.ts';
import { cookiesForSite, parseCookieFile } from '../../src/vr/cookie-import.ts';
import { PERSON_NEEDED } from '../../src/vr/errors.ts';
import { openBrowserSession } from '../../src/vr/open-session.ts';
import { SessionKeyError, SessionStore } from '../../src/vr/session-store.ts';
import { readSiteState } from '../../src/vr/site-state.ts';
import { buildTestApi } from '../helpers/api.ts';
import { runCli } from '../helpers/cli.ts';
import { captureLogs } from '../helpers/log-capture.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';
import { FAST_SITE } from '../helpers/sim-timing.ts';

const KEY = 'test-session-key-0123456789';
/** The User-Agent of "a person's own browser", whose cookies get imported. */
const PERSON_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

const site = (sim: Simulator, password = 'demo') => ({ baseUrl: sim.url, username: 'demo', password });

test('cookies from a person’s browser: Playwright storage state, an extension’s JSON list, cookies.txt', () => {
  const storage = parseCookieFile(
    JSON.stringify({
      cookies: [
        {
          name: 'cf_clearance',
          value: 'c1',
          domain: '.vintageandrare.com',
          path: '/',
          expires: 2e9,
          httpOnly: true,
          secure: true,
          sameSite: 'None',
        },
        {
          name: 'other',
          value: 'x',
          domain: 'example.com',
          path: '/',
          expires: -1,
          httpOnly: false,
          secure: false,
          sameSite: 'Lax',
        },
      ],
      origins: [],
    }),
  );
  assert.equal(storage.format, 'Playwright storage state');
  const kept = cookiesForSite(storage.state, 'https://www.vintageandrare.com');
  assert.deepEqual(
    kept.cookies.map((c) => [c.name, c.domain, c.sameSite]),
    [['cf_clearance', '.vintageandrare.com', 'None']],
  );

  const extension = parseCookieFile(
    JSON.stringify([
      {
        domain: 'www.vintageandrare.com',
        hostOnly: true,
        name: 'PHPSESSID',
        value: 'p1',
        path: '/',
        session: true,
        httpOnly: true,
        secure: true,
        sameSite: 'unspecified',
      },
      {
        domain: '.vintageandrare.com',
        hostOnly: false,
        name: 'cf_clearance',
        value: 'c2',
        path: '/',
        expirationDate: 1900000000.5,
        sameSite: 'no_restriction',
        secure: true,
      },
    ]),
  );
  assert.equal(extension.format, 'JSON cookie list');
  assert.deepEqual(
    extension.state.cookies.map((c) => [c.name, c.domain, c.expires, c.sameSite]),
    [
      ['PHPSESSID', 'www.vintageandrare.com', -1, 'Lax'],
      ['cf_clearance', '.vintageandrare.com', 1900000000, 'None'],
    ],
  );

  const netscape = parseCookieFile(
    [
      '# Netscape HTTP Cookie File',
      '#HttpOnly_.vintageandrare.com\tTRUE\t/\tTRUE\t1900000000\tcf_clearance\tc3',
      'www.vintageandrare.com\tFALSE\t/\tFALSE\t0\tvr_currency\tGBP',
      'example.com\tFALSE\t/\tFALSE\t0\tother\tx',
      '',
    ].join('\n'),
  );
  assert.equal(netscape.format, 'Netscape cookies.txt');
  const site = cookiesForSite(netscape.state, 'https://www.vintageandrare.com');
  assert.deepEqual(
    site.cookies.map((c) => [c.name, c.httpOnly, c.secure, c.expires]),
    [
      ['cf_clearance', true, true, 1900000000],
      ['vr_currency', false, false, -1],
    ],
  );
  assert.throws(() => parseCookieFile('only\ttwo\n'), /line 1: expected 7 tab-separated fields/);
});

test('session settings are checked at start-up, naming the variable and never showing the key', () => {
  assert.throws(
    () => loadConfig({ VR_USER_AGENT: 'Mozilla/5.0 HeadlessChrome/131.0.0.0' }),
    /VR_USER_AGENT: must not say Headless/,
  );
  assert.throws(
    () => loadConfig({ VR_SESSION_KEY: 'short-secret' }),
    (error: Error) =>
      /VR_SESSION_KEY: must be at least 16 characters/.test(error.message) &&
      !error.message.includes('short-secret'),
  );
  assert.throws(
    () => loadConfig({ VR_CHALLENGE_WAIT_MS: 'soon' }),
    /VR_CHALLENGE_WAIT_MS: must be a whole number/,
  );
  const config = loadConfig({ VR_HEADED: 'on', VR_CHALLENGE_WAIT_MS: '5000' });
  assert.equal(config.vrHeaded, true);
  assert.equal(config.challengeWaitMs, 5000);
  assert.equal(loadConfig({}).challengeWaitMs, 30_000);
});

describe('one V&R session for every worker', () => {
  let services: TestServices;
  let producer: Producer;
  let queue: Queue<CreateJobData>;
  const running: RunningProcess[] = [];
  const sims: Simulator[] = [];
  let api: FastifyInstance | undefined;

  before(async () => {
    services = await setupServices();
    producer = services.producer();
    queue = new Queue<CreateJobData>(CREATE_QUEUE, {
      connection: services.redis,
      prefix: services.queuePrefix,
    });
  });
  after(async () => {
    await Promise.all(running.map((p) => p.stop()));
    await api?.close();
    await queue.close();
    await Promise.all(sims.map((s) => s.close()));
    await services.cleanup();
  });

  async function freshRun(options: Parameters<typeof startSimulator>[0]): Promise<Simulator> {
    await Promise.all(running.splice(0).map((p) => p.stop()));
    await services.database.sql`truncate vr_jobs, vr_product_links, vr_resolution_runs, vr_sessions cascade`;
    await services.redis.del(`${services.queuePrefix}:vr-site-state`);
    const sim = await startSimulator({ catalogRows: 50, seed: 3, ...FAST_SITE, ...options });
    sims.push(sim);
    return sim;
  }

  function workers(
    sim: Simulator,
    env: Record<string, string>,
    { creators = 1, logs = [] as ReturnType<typeof captureLogs>[] } = {},
  ): void {
    const config = services.config({
      CREATE_BACKOFF_MS: '200',
      FLUSH_SETTLE_MS: '500',
      RESOLUTION_BACKOFF_MS: '500',
      VR_SESSION_KEY: KEY,
      ...env,
    });
    for (let i = 0; i < creators; i += 1) {
      const log = captureLogs('debug');
      logs.push(log);
      running.push(startCreationProcess({ config, site: site(sim), logger: log.logger }));
    }
    const log = captureLogs('debug');
    logs.push(log);
    running.push(startResolutionProcess({ config, site: site(sim), logger: log.logger }));
  }

  /** `n` listings numbered from `first`. */
  const listings = (prefix: string, n: number, first = 1) =>
    Array.from({ length: n }, (_, k) => {
      const i = first - 1 + k;
      return {
        productRef: `${prefix}-${i + 1}`,
        brand: ['Fender', 'Gibson', 'Gretsch', 'Martin'][i % 4]!,
        model: `Model ${prefix} ${i + 1}`,
        price: 1000 + i,
      };
    });

  async function statuses(prefix: string): Promise<string[]> {
    const rows = await services.database.sql<{ status: string }[]>`
      select status from vr_jobs where product_ref like ${`${prefix}-%`} order by id`;
    return rows.map((r) => r.status);
  }

  async function allCompleted(prefix: string, n: number, timeoutMs = 180_000): Promise<void> {
    try {
      await waitFor(
        `${n} ${prefix} listings completed`,
        async () => {
          const s = await statuses(prefix);
          return s.length === n && s.every((x) => x === 'completed');
        },
        timeoutMs,
      );
    } catch (error) {
      const rows = await services.database.sql`
        select product_ref, status, error from vr_jobs where product_ref like ${`${prefix}-%`} order by id`;
      throw new Error(`${(error as Error).message}: ${JSON.stringify(rows)}`);
    }
  }

  /** Each listing on V&R exactly once, with its own id. */
  async function onceEach(sim: Simulator, prefix: string, n: number): Promise<void> {
    const rows = await services.database.sql<{ product_ref: string; vr_listing_id: number }[]>`
      select product_ref, vr_listing_id::int from vr_jobs where product_ref like ${`${prefix}-%`}`;
    const onSite = sim.state().listings;
    for (let i = 1; i <= n; i += 1) {
      const ref = `${prefix}-${i}`;
      const found = onSite.filter((l) => l.product_description.includes(`Ref: ${ref}<`));
      assert.equal(found.length, 1, `${ref} on V&R once`);
      assert.equal(
        rows.find((r) => r.product_ref === ref)?.vr_listing_id,
        found[0]!.product_id,
        `${ref}'s id`,
      );
    }
  }

  async function storedCookieValues(): Promise<string[]> {
    const stored = await new SessionStore(services.database, 'demo', KEY).load();
    return (stored?.state.cookies ?? []).map((c) => c.value).filter((v) => v.length >= 8);
  }

  test('a passed challenge is stored only over the session it started from: a login stored meanwhile is kept', async () => {
    await services.database.sql`truncate vr_sessions`;
    const store = new SessionStore(services.database, 'demo', KEY);
    const state = (value: string) => ({
      cookies: [
        {
          name: 'PHPSESSID',
          value,
          domain: 'www.example.test',
          path: '/',
          expires: -1,
          httpOnly: true,
          secure: true,
          sameSite: 'Lax' as const,
        },
      ],
      origins: [],
    });
    // Two workers start with nothing stored; one logs in (generation 1).
    assert.equal(await store.save(state('logged-in-session'), PERSON_UA, 'login'), 1);
    // The other passed a challenge while logged out: its state must not replace the login.
    assert.equal(await store.save(state('logged-out'), PERSON_UA, 'challenge', { onlyOver: 0 }), undefined);
    assert.deepEqual(
      (await store.load())?.state.cookies.map((c) => c.value),
      ['logged-in-session'],
    );
    // Over the generation it was made from, a renewal is stored.
    assert.equal(await store.save(state('renewed'), PERSON_UA, 'challenge', { onlyOver: 1 }), 2);
    assert.equal((await store.load())?.source, 'challenge');
  });

  test('behind the gate (auto, headless browsers refused): two creation workers and a resolution worker share one login; nothing reaches V&R outside the browser; no cookie readable or shown', async () => {
    const sim = await freshRun({ cloudflare: 'auto', cloudflareHeadlessBlock: true });
    const logs: ReturnType<typeof captureLogs>[] = [];
    workers(sim, {}, { creators: 2, logs });
    await producer.enqueueListings(listings('SHARE', 6));
    await allCompleted('SHARE', 6);
    await onceEach(sim, 'SHARE', 6);
    const counters = sim.state().counters;
    assert.equal(counters.logins, 1, 'one login for the run');
    assert.equal(counters.refusedRequests, 0, 'no request of ours without sec-fetch-* headers');
    assert.equal(counters.headlessBlocked, 0, 'no browser of ours gave automation away');
    assert.ok(counters.exports >= 1);

    // The row: encrypted, no cookie readable; the wrong key can't read it.
    const [row] = await services.database.sql<{ state: string; encrypted: boolean; user_agent: string }[]>`
      select state, encrypted, user_agent from vr_sessions where account = 'demo'`;
    assert.ok(row?.encrypted);
    assert.doesNotMatch(row!.state, /PHPSESSID|cf_clearance|cookie/i);
    assert.doesNotMatch(row!.user_agent, /Headless/);
    const values = await storedCookieValues();
    assert.ok(values.length >= 2, 'the session holds PHPSESSID and cf_clearance');
    for (const value of values) assert.ok(!row!.state.includes(value));
    await assert.rejects(
      new SessionStore(services.database, 'demo', 'another-key-0123456789').load(),
      SessionKeyError,
    );
    await assert.rejects(
      new SessionStore(services.database, 'demo', undefined).load(),
      /VR_SESSION_KEY is not set/,
    );

    // No log line and no API answer shows a cookie value.
    api = await buildTestApi(services, {
      redis: services.redis,
      env: { API_TOKEN: 'test-token-0123456789' },
    });
    const auth = { authorization: 'Bearer test-token-0123456789' };
    const answers = await Promise.all(
      ['/api/vr/jobs?limit=100', '/api/vr/resolution-status', '/metrics', '/api/vr/jobs/1'].map(
        async (url) => (await api!.inject({ method: 'GET', url, headers: auth })).body,
      ),
    );
    const status = JSON.parse(answers[1]!) as { site_state: { state: string } };
    assert.equal(status.site_state.state, 'ok');
    assert.match(answers[2]!, /vr_lister_vr_session_state\{state="ok"\} 1/);
    const everything = [...logs.flatMap((l) => l.lines.map((line) => JSON.stringify(line))), ...answers].join(
      '\n',
    );
    assert.ok(everything.length > 1000);
    for (const value of values) assert.ok(!everything.includes(value), 'a cookie value was shown');
    await api.close();
    api = undefined;
  });

  test('gate interactive: blocked within VR_CHALLENGE_WAIT_MS with jobs queued and tries unused; a session import unblocks them without a restart', async (t) => {
    const sim = await freshRun({ cloudflare: 'interactive' });
    const logs: ReturnType<typeof captureLogs>[] = [];
    workers(sim, { VR_CHALLENGE_WAIT_MS: '3000' }, { logs });
    const enqueued = await producer.enqueueListings(listings('HELD', 3));
    await waitFor(
      'V&R reported blocked',
      async () => (await readSiteState(services.redis, services.queuePrefix)).state === 'blocked',
      60_000,
    );
    // Loud, once: one error line naming what to run.
    const errors = logs.flatMap((l) => l.lines).filter((l) => l.level >= 50);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0]!.event, LOG_EVENT.blocked);
    assert.ok(errors[0]!.msg.includes(PERSON_NEEDED), errors[0]!.msg);
    // Every job still queued, no try used, and the one in hand says what to run in its Bull Board log.
    await waitFor('the job in hand held', async () => (await queue.getDelayed()).length === 1, 30_000);
    assert.deepEqual(await statuses('HELD'), ['queued', 'queued', 'queued']);
    const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'prioritized']);
    assert.equal(jobs.length, 3);
    for (const job of jobs) assert.equal(job.attemptsMade, 0, `${job.id}: no try used`);
    const held = (await queue.getDelayed())[0]!;
    assert.ok((await queue.getJobLogs(held.id!)).logs.includes(PERSON_NEEDED));
    assert.equal(sim.state().counters.submissions, 0);
    // status, watch, the API and /metrics say it too.
    const env = services.env();
    const status = await runCli(['status'], env);
    assert.match(status.stdout, /V&R wants a person: run `vr-lister login`/);
    const watch = await runCli(['watch', '--once'], env);
    assert.match(watch.stdout, /V&R wants a person: run `vr-lister login`/);
    api = await buildTestApi(services, {
      redis: services.redis,
      env: { API_TOKEN: 'test-token-0123456789' },
    });
    const auth = { authorization: 'Bearer test-token-0123456789' };
    const resolution = (
      await api.inject({ method: 'GET', url: '/api/vr/resolution-status', headers: auth })
    ).json();
    assert.equal(resolution.site_state.state, 'blocked');
    const metrics = (await api.inject({ method: 'GET', url: '/metrics', headers: auth })).body;
    assert.match(metrics, /vr_lister_vr_session_state\{state="blocked"\} 1/);
    await api.close();
    api = undefined;

    // A person passes the challenge in their own browser and imports its cookie.
    const clearance = (await (
      await fetch(`${sim.url}/__sim/cloudflare/clearance`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userAgent: PERSON_UA }),
      })
    ).json()) as Record<string, unknown>;
    const cookieDir = mkdtempSync(join(tmpdir(), 'vr-cookies-'));
    t.after(() => rmSync(cookieDir, { recursive: true, force: true }));
    const file = join(cookieDir, 'cookies.json');
    writeFileSync(file, JSON.stringify([clearance]));
    const imported = await runCli(
      ['session', 'import', file, '--user-agent', PERSON_UA],
      services.env({
        VR_BASE_URL: sim.url,
        VR_USERNAME: 'demo',
        VR_PASSWORD: 'demo',
        VR_SESSION_KEY: KEY,
      }),
    );
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /Stored 1 cookie\(s\) for 127\.0\.0\.1 .*: cf_clearance\./);
    assert.ok(!imported.stdout.includes(String(clearance.value)), 'the import never prints a cookie value');

    await allCompleted('HELD', 3);
    await onceEach(sim, 'HELD', 3);
    assert.equal(enqueued.length, 3);
    assert.equal((await readSiteState(services.redis, services.queuePrefix)).state, 'ok');
    const [row] = await services.database.sql<{ user_agent: string }[]>`select user_agent from vr_sessions`;
    assert.equal(row!.user_agent, PERSON_UA, 'the workers kept the User-Agent the clearance was issued to');
  });

  test('a clearance that runs out during the run is renewed by the workers: nothing lost or listed twice', async () => {
    const sim = await freshRun({ cloudflare: 'auto', cloudflareHeadlessBlock: true, clearanceTtlMs: 12_000 });
    const logs: ReturnType<typeof captureLogs>[] = [];
    workers(sim, {}, { logs });
    const renewals = () =>
      logs.flatMap((l) => l.lines.filter((line) => line.event === LOG_EVENT.clearanceRenewing));
    let n = 5;
    await producer.enqueueListings(listings('TTL', n));
    await allCompleted('TTL', n, 300_000);
    // Then one at a time until a renewal is logged: a fixed count could finish inside the clearance's
    // first half-life on a quick run, with nothing to renew.
    const deadline = Date.now() + 120_000;
    while (renewals().length === 0 && Date.now() < deadline) {
      await producer.enqueueListings(listings('TTL', 1, n + 1));
      n += 1;
      await allCompleted('TTL', n, 300_000);
    }
    await onceEach(sim, 'TTL', n);
    const passed = logs.flatMap((l) => l.lines.filter((line) => line.event === LOG_EVENT.challengePassed));
    assert.ok(renewals().length >= 1, 'renewed before it ran out');
    assert.ok(sim.state().counters.clearances >= 2, 'a new clearance was issued during the run');
    assert.ok(passed.length >= 2);
    assert.equal(sim.state().counters.refusedRequests, 0);
    assert.equal(sim.state().counters.headlessBlocked, 0);
    const [row] = await services.database.sql<{ generation: number }[]>`select generation from vr_sessions`;
    assert.ok(row!.generation >= 3, 'every renewal written back to the shared row');
  });

  test('V&R refusing the credentials stops creation, is said once, and is no outage', async () => {
    const sim = await freshRun({ cloudflare: 'auto' });
    const log = captureLogs('debug');
    const config = services.config({ CREATE_BACKOFF_MS: '200', VR_SESSION_KEY: KEY });
    running.push(startCreationProcess({ config, site: site(sim, 'wrong-password'), logger: log.logger }));
    await producer.enqueueListings(listings('REFUSED', 2));
    await waitFor(
      'the refusal published',
      async () => (await readSiteState(services.redis, services.queuePrefix)).state === 'login_refused',
      60_000,
    );
    await waitFor('the job in hand held', async () => (await queue.getDelayed()).length >= 1, 30_000);
    const refusals = log.lines.filter((l) => l.event === LOG_EVENT.loginRefused);
    assert.equal(refusals.length, 1);
    assert.equal(refusals[0]!.level, 50);
    const outageEvents: unknown[] = Object.values(OUTAGE_EVENT);
    assert.equal(
      log.lines.filter((l) => outageEvents.includes(l.event)).length,
      0,
      'not reported as an outage',
    );
    assert.deepEqual(await statuses('REFUSED'), ['queued', 'queued']);
    const status = await runCli(['status'], services.env());
    assert.match(status.stdout, /V&R refused the login for user demo/);
    assert.equal(sim.state().counters.submissions, 0);
    // No more tries while it stands: the worker takes no jobs.
    const failed = sim.state().counters.failedLogins;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(sim.state().counters.failedLogins, failed);
  });

  test('a brand check is the browser’s own request: the gate lets it through and counts nothing refused', async () => {
    const sim = await freshRun({ cloudflare: 'auto', cloudflareHeadlessBlock: true });
    const session = openBrowserSession({
      config: services.config({ VR_SESSION_KEY: KEY }),
      site: site(sim),
      database: services.database,
      logger: silentLogger,
    });
    try {
      assert.equal(await checkBrand(session, 'Fender'), 383);
      assert.equal(await checkBrand(session, 'No Such Brand Qq'), 0);
      const page = await session.page();
      assert.equal(await page.evaluate('navigator.webdriver'), false);
      assert.doesNotMatch(String(await page.evaluate('navigator.userAgent')), /Headless/);
    } finally {
      await session.close();
    }
    assert.equal(sim.state().counters.refusedRequests, 0);
    assert.equal(sim.state().counters.headlessBlocked, 0);
  });
});
