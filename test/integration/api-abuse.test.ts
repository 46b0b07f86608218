import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { connectApiRedis } from '../../src/api/main.ts';
import { buildMatchCriteria } from '../../src/creation/create-listing.ts';
import { vrJobs } from '../../src/db/schema.ts';
import { LIMITS, validateListing } from '../../src/listing/listing.ts';
import { silentLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { CREATE_QUEUE } from '../../src/queues.ts';
import { startBanner } from '../../src/start.ts';
import { buildTestApi } from '../helpers/api.ts';
import { parsePrometheus } from '../helpers/prometheus.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';

const TOKEN = 'abuse-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

/** A raw socket to the API and what became of it. */
interface Probe {
  socket: Socket;
  received: string;
  closed: boolean;
}

function openProbe(url: string, head?: string): Promise<Probe> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const probe: Probe = { socket: connect(Number(port), hostname), received: '', closed: false };
    probe.socket.on('data', (chunk) => {
      probe.received += chunk.toString('latin1');
    });
    probe.socket.on('error', () => {});
    probe.socket.on('close', () => {
      probe.closed = true;
    });
    probe.socket.on('connect', () => {
      if (head) probe.socket.write(head);
      resolve(probe);
    });
  });
}

const slowPost = (extra = '') =>
  `POST /api/vr/jobs HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n${extra}\r\n{`;

/** One request over a real socket, with the Host header as given (fetch sets its own). */
function rawRequest(
  url: string,
  options: { method?: string; path: string; host: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        hostname,
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: { ...options.headers, host: options.host },
        agent: false,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

describe('the API under abuse', () => {
  let services: TestServices;
  let sim: Simulator;
  let redis: Redis;
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    services = await setupServices();
    sim = await startSimulator({ port: 0, catalogRows: 50, seed: 4 });
    redis = connectApiRedis(services.redisUrl, silentLogger);
    app = await buildTestApi(services, {
      env: { API_TOKEN: TOKEN, API_REQUEST_TIMEOUT_MS: '1000' },
      siteUrl: sim.url,
      redis,
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await app.close();
    redis.disconnect();
    await sim.close();
    await services.cleanup();
  });

  test('sockets trickling a body, with or without a token, are cut off at the request timeout', async () => {
    const N = 150;
    const probes = await Promise.all([
      ...Array.from({ length: N }, () => openProbe(url, slowPost())),
      openProbe(url, slowPost(`Authorization: Bearer ${TOKEN}\r\n`)),
    ]);
    // A byte every 100 ms: never idle, never done.
    const trickle = setInterval(() => {
      for (const probe of probes) if (!probe.closed) probe.socket.write(' ');
    }, 100);
    try {
      // Generous: API_REQUEST_TIMEOUT_MS is 1 s here. Before the timeout, they stayed open for good.
      await waitFor(
        'every trickling socket to be closed by the API',
        () => probes.every((p) => p.closed),
        20_000,
      );
    } finally {
      clearInterval(trickle);
      for (const probe of probes) probe.socket.destroy();
    }
    // Without a token the answer is 401 at once; the body is never read into memory.
    for (const probe of probes.slice(0, N)) assert.match(probe.received, /^HTTP\/1\.1 401 /, probe.received);
    // With one, the request never finished arriving: 408.
    assert.match(probes[N]!.received, /^HTTP\/1\.1 408 /);
    // And the API still answers.
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  });

  test('security headers on every answer: nosniff, no framing, a CSP, no-store', async () => {
    const answers = [
      await fetch(`${url}/api/vr/jobs?limit=1`, { headers: auth }),
      await fetch(`${url}/api/vr/jobs`), // 401
      await fetch(`${url}/no/such/route`, { headers: auth }), // 404
      await fetch(`${url}/readyz`),
      await fetch(`${url}/metrics`, { headers: auth }),
    ];
    for (const answer of answers) {
      const where = `${answer.url} ${answer.status}`;
      assert.equal(answer.headers.get('x-content-type-options'), 'nosniff', where);
      assert.equal(answer.headers.get('x-frame-options'), 'DENY', where);
      assert.equal(answer.headers.get('cache-control'), 'no-store', where);
      const csp = answer.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/, where);
      assert.match(csp, /frame-ancestors 'none'/, where);
      assert.doesNotMatch(csp, /https:|\*/, `${where}: nothing from another host`);
    }
    // Bull Board's page links nothing on another host (it linked Google Fonts).
    const basic = `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}`;
    const board = await fetch(`${url}/admin/queues`, { headers: { authorization: basic } });
    assert.equal(board.status, 200);
    const html = await board.text();
    assert.match(html, /static\/css\/main\.[0-9a-f]+\.css/, 'the page itself is intact');
    assert.doesNotMatch(html, /(?:href|src)=["']?(?:https?:)?\/\//i);
    assert.equal(board.headers.get('cache-control'), 'no-store');
  });

  test('a bulk call of hostile descriptions shares the event loop: /healthz answers while it is cleaned', async (t) => {
    // 16 MB of markup built to be costly to clean, in 270 listings of the largest description allowed.
    const hostile = '<div><b><i><a href="javascript:x">'.repeat(2_000).slice(0, LIMITS.description);
    const listings = Array.from({ length: 270 }, (_, i) => ({
      productRef: `HOSTILE-${i}`,
      brand: 'Fender',
      model: 'Stratocaster',
      price: i === 269 ? -1 : 1000,
      description: hostile,
    }));
    const body = JSON.stringify({ listings });
    let uploaded = false;
    let answered = false;
    const bulk = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(
        `${url}/api/vr/jobs`,
        { method: 'POST', headers: { ...auth, 'content-type': 'application/json' } },
        (response) => {
          let text = '';
          response.on('data', (chunk) => {
            text += chunk;
          });
          response.on('end', () => {
            answered = true;
            resolve({ status: response.statusCode ?? 0, body: text });
          });
        },
      );
      request.on('error', reject);
      request.on('finish', () => {
        uploaded = true;
      });
      request.end(body);
    });
    await waitFor('the upload', () => uploaded);
    const latencies: number[] = [];
    while (!answered) {
      const started = performance.now();
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      if (!answered) latencies.push(performance.now() - started);
    }
    const refused = await bulk;
    assert.equal(refused.status, 400, refused.body.slice(0, 300));
    assert.match(refused.body, /"index":269,"field":"price"/);
    // Ordering, not timing: health checks were answered while the call was being cleaned.
    assert.ok(latencies.length >= 3, `health checks answered during the call: ${latencies.length}`);
    t.diagnostic(
      `/healthz during the call: ${latencies.length} answers, slowest ${Math.max(...latencies).toFixed(0)} ms`,
    );
    const [row] = await services.database
      .sql`select count(*)::int as n from vr_jobs where product_ref like 'HOSTILE-%'`;
    assert.equal(row!.n, 0, 'nothing written');
  });

  test('with a token, the Host header is not checked (API_INSECURE=on only)', async () => {
    const answer = await rawRequest(url, {
      path: '/api/vr/resolution-status',
      host: 'api.example',
      headers: auth,
    });
    assert.equal(answer.status, 200, answer.body);
  });

  test('a 413 names the limit of the route that refused the body', async () => {
    const over = (bytes: number) => JSON.stringify({ pad: 'x'.repeat(bytes) });
    const bulk = await app.inject({
      method: 'POST',
      url: '/api/vr/jobs',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: over(LIMITS.requestBodyBytes),
    });
    assert.equal(bulk.statusCode, 413);
    assert.match(bulk.json().message, new RegExp(`at most ${LIMITS.requestBodyBytes} bytes \\(32 MiB\\)`));
    const retry = await app.inject({
      method: 'POST',
      url: '/api/vr/jobs/1/retry',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: over(2 * 1024 * 1024),
    });
    assert.equal(retry.statusCode, 413);
    assert.match(retry.json().message, /at most 1048576 bytes \(1 MiB\)/);
  });

  test('100 concurrent scrapes of /metrics share one snapshot', async (t) => {
    const concurrently = async (path: string) => {
      const answers = await Promise.all(
        Array.from({ length: 100 }, async () => {
          const t0 = performance.now();
          const response = await fetch(`${url}${path}`, { headers: auth });
          const text = await response.text();
          return { status: response.status, text, ms: performance.now() - t0 };
        }),
      );
      const ms = answers.map((a) => a.ms).sort((a, b) => a - b);
      const figures = `p50 ${ms[49]!.toFixed(1)} ms, p99 ${ms[98]!.toFixed(1)} ms`;
      return { answers, figures };
    };
    // The floor on this machine: the same 100 requests to a route that does nothing.
    const floor = await concurrently('/healthz');
    const scrapes = await concurrently('/metrics');
    // A job read right after (the issue's victim: it took a second).
    const t0 = performance.now();
    assert.equal((await fetch(`${url}/api/vr/jobs/1`, { headers: auth })).status, 404);
    const jobMs = performance.now() - t0;
    const collections = scrapes.answers.map((s) => {
      assert.equal(s.status, 200);
      return parsePrometheus(s.text).value('vr_lister_metrics_collections_total');
    });
    // One value across the 100 (earlier tests may have collected before): one shared collection.
    assert.equal(
      new Set(collections).size,
      1,
      `the 100 scrapes caused one collection: ${[...new Set(collections)]}`,
    );
    // Reported, not asserted (durations depend on the machine): `npm run bench` is for speed.
    t.diagnostic(
      `100 concurrent /metrics: ${scrapes.figures}; /healthz the same way: ${floor.figures}; GET /api/vr/jobs/1 right after: ${jobMs.toFixed(1)} ms`,
    );
  });

  test('a snapshot is shared while it is taken and while it is fresh, then taken again', async () => {
    // (A registry this new has no event-loop samples yet: NaN, which the strict parser refuses.)
    const collect = (text: string) => Number(/^vr_lister_metrics_collections_total (\d+)$/m.exec(text)?.[1]);
    const fresh = createMetrics({ database: services.database, queues: [], logger: silentLogger });
    const [a, b] = await Promise.all([fresh.render(), fresh.render()]);
    assert.equal(collect(a), 1);
    assert.equal(a, b);
    assert.equal(collect(await fresh.render()), 1, 'within the max age: the same snapshot');
    const always = createMetrics({
      database: services.database,
      queues: [],
      logger: silentLogger,
      snapshotMaxAgeMs: 0,
    });
    assert.equal(collect(await always.render()), 1);
    assert.equal(collect(await always.render()), 2, 'past the max age: a new one');
  });

  test('5 concurrent resolve-pending calls share one flush: one export download', async () => {
    // A listing waiting for its id (not on V&R, so it stays waiting): the flush must download.
    const listing = validateListing({ productRef: 'ABUSE-1', brand: 'Gibson', model: 'SG', price: 900 });
    const past = new Date(Date.now() - 60_000);
    await services.database.db.insert(vrJobs).values({
      productRef: listing.productRef,
      status: 'completed_pending_id',
      payload: { listing, matchCriteria: buildMatchCriteria(listing, 'Gibson', '', null, 0) },
      submitStartedAt: past,
      submittedAt: past,
      nextResolutionAt: past,
    });
    sim.setFaults({ exportLatencyMs: 300 });
    const before = sim.state().counters.exports;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        app.inject({ method: 'POST', url: '/api/vr/resolve-pending', headers: auth }),
      ),
    );
    for (const answer of answers) assert.equal(answer.statusCode, 200, answer.body);
    assert.equal(new Set(answers.map((a) => a.body)).size, 1, 'one flush, one answer');
    assert.equal(sim.state().counters.exports - before, 1);
    // A call after it has finished runs a flush of its own.
    await app.inject({ method: 'POST', url: '/api/vr/resolve-pending', headers: auth });
    assert.equal(sim.state().counters.exports - before, 2);
  });

  test('the start banner prints the token only when it made it up', () => {
    const base = {
      queuePrefix: 'p',
      api: 'http://127.0.0.1:3000',
      bullBoard: 'http://127.0.0.1:3000/admin/queues',
      vrBaseUrl: 'http://sim',
      simulator: true,
    };
    const generated = startBanner({
      ...base,
      apiToken: 'made-up-token-123456',
      apiTokenGenerated: true,
      apiInsecure: false,
    });
    assert.match(generated, /API token: +made-up-token-123456 +\(generated for this run/);
    const chosen = startBanner({ ...base, apiToken: null, apiTokenGenerated: false, apiInsecure: false });
    assert.match(chosen, /API token: +the one in API_TOKEN \(not printed\)/);
    const none = startBanner({ ...base, apiToken: null, apiTokenGenerated: false, apiInsecure: true });
    assert.match(none, /API token: +\(none: API_INSECURE=on\)/);
  });
});

describe('the connection cap', () => {
  let services: TestServices;
  let redis: Redis;
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    services = await setupServices();
    redis = connectApiRedis(services.redisUrl, silentLogger);
    app = await buildTestApi(services, { env: { API_TOKEN: TOKEN, API_MAX_CONNECTIONS: '10' }, redis });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await app.close();
    redis.disconnect();
    await services.cleanup();
  });

  test('sockets beyond API_MAX_CONNECTIONS are closed as they connect; the API answers once they go', async () => {
    const probes: Probe[] = [];
    for (let i = 0; i < 30; i += 1) probes.push(await openProbe(url));
    try {
      await waitFor(
        'the sockets over the cap to be closed',
        () => probes.filter((p) => p.closed).length >= 20,
      );
      const count = await new Promise<number>((resolve, reject) =>
        app.server.getConnections((error, n) => (error ? reject(error) : resolve(n))),
      );
      assert.ok(count <= 10, `${count} connections open`);
      assert.equal(probes.filter((p) => !p.closed).length, 10);
    } finally {
      for (const probe of probes) probe.socket.destroy();
    }
    await waitFor('the API to answer again', async () => (await fetch(`${url}/healthz`)).status === 200);
  });
});

describe('the API without a token (API_INSECURE=on)', () => {
  let services: TestServices;
  let redis: Redis;
  let app: FastifyInstance;
  let queue: Queue;
  let url: string;
  let port: number;
  let artifact: string;

  before(async () => {
    services = await setupServices();
    redis = connectApiRedis(services.redisUrl, silentLogger);
    app = await buildTestApi(services, { env: { API_INSECURE: 'on' }, redis });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    port = Number(new URL(url).port);
    queue = new Queue(CREATE_QUEUE, { connection: services.redis, prefix: services.queuePrefix });
    // A failed job with one piece of evidence, to fetch through the artifacts route.
    const listing = validateListing({ productRef: 'INSECURE-ART', brand: 'Gibson', model: 'SG', price: 900 });
    const name = 'publish-1700000000000.png';
    const [row] = await services.database.db
      .insert(vrJobs)
      .values({
        productRef: listing.productRef,
        status: 'failed',
        payload: { listing, matchCriteria: buildMatchCriteria(listing, 'Gibson', '', null, 0) },
        artifacts: [{ name, step: 'publish', at: new Date().toISOString() }],
      })
      .returning({ id: vrJobs.id });
    await mkdir(join(services.artifactsDir, String(row!.id)), { recursive: true });
    await writeFile(join(services.artifactsDir, String(row!.id), name), 'not really a png');
    artifact = `/api/vr/jobs/${row!.id}/artifacts/${name}`;
  });

  after(async () => {
    await queue.close();
    await app.close();
    redis.disconnect();
    await services.cleanup();
  });

  const state = async () => ({
    rows: Number((await services.database.sql`select count(*)::int as n from vr_jobs`)[0]!.n),
    jobs: Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0),
  });

  test('a Host other than the loopback API (DNS rebinding) gets 421; the health checks answer any Host', async () => {
    for (const path of ['/api/vr/resolution-status', artifact, '/api/vr/jobs?limit=1', '/metrics']) {
      for (const host of [
        'rebind.example',
        `rebind.example:${port}`,
        `127.0.0.1:${port + 1}`,
        '127.0.0.1.nip.io',
      ]) {
        const answer = await rawRequest(url, { path, host });
        assert.equal(answer.status, 421, `${path} with Host ${host}: ${answer.body}`);
        assert.equal(JSON.parse(answer.body).error, 'misdirected request');
      }
    }
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      'localhost',
      '127.0.0.1',
    ]) {
      const status = await rawRequest(url, { path: '/api/vr/resolution-status', host });
      assert.equal(status.status, 200, `Host ${host}: ${status.body}`);
      const evidence = await rawRequest(url, { path: artifact, host });
      assert.equal(evidence.status, 200, `Host ${host}: ${evidence.body}`);
      assert.equal(evidence.body, 'not really a png');
    }
    for (const path of ['/healthz', '/readyz']) {
      assert.equal((await rawRequest(url, { path, host: 'rebind.example' })).status, 200, path);
    }
  });

  test('a POST not sent as application/json gets 415 and writes nothing; a JSON POST works', async () => {
    const listing = JSON.stringify({
      productRef: 'INSECURE-1',
      brand: 'Fender',
      model: 'Telecaster',
      price: 999,
    });
    const host = `127.0.0.1:${port}`;
    const before = await state();
    const unsent: Record<string, string>[] = [
      { 'content-type': 'text/plain' },
      {},
      { 'content-type': 'application/x-www-form-urlencoded' },
    ];
    for (const headers of unsent) {
      const answer = await rawRequest(url, {
        method: 'POST',
        path: '/api/vr/jobs',
        host,
        headers,
        body: listing,
      });
      assert.equal(answer.status, 415, `${JSON.stringify(headers)}: ${answer.body}`);
      assert.match(JSON.parse(answer.body).message, /content-type: application\/json/);
    }
    // A route without a body too: a cross-site form could otherwise retry a job.
    const retry = await rawRequest(url, { method: 'POST', path: '/api/vr/jobs/1/retry', host });
    assert.equal(retry.status, 415, retry.body);
    assert.deepEqual(await state(), before, 'nothing written, nothing enqueued');

    const json = await rawRequest(url, {
      method: 'POST',
      path: '/api/vr/jobs',
      host,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: listing,
    });
    assert.equal(json.status, 201, json.body);
    assert.deepEqual(await state(), { rows: before.rows + 1, jobs: before.jobs + 1 });
    // A route that takes no body is called with `{}`.
    const missing = await rawRequest(url, {
      method: 'POST',
      path: '/api/vr/jobs/999999/retry',
      host,
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(missing.status, 404, missing.body);
  });
});
