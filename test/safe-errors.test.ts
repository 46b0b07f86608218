import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { UnrecoverableError } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { chromium, errors as playwrightErrors } from 'playwright-core';
import { connectApiRedis } from '../src/api/main.ts';
import { startCreationProcess } from '../src/creation/main.ts';
import { createLogger, silentLogger } from '../src/logger.ts';
import { CREATE_QUEUE } from '../src/queues.ts';
import {
  redactSecrets,
  safeErrorMessage,
  sanitiseError,
  serializeError,
  throwingSafely,
} from '../src/safe-errors.ts';
import { type Simulator, startSimulator } from '../src/simulator/server.ts';
import { VrUnavailableError } from '../src/vr/errors.ts';
import { buildTestApi } from './helpers/api.ts';
import { setupServices, type TestServices, waitFor } from './helpers/services.ts';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** An HTTP server that accepts requests and never answers them; remembers their headers. */
async function hangingServer(): Promise<{ url: string; seen: IncomingMessage[]; close(): Promise<void> }> {
  const seen: IncomingMessage[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req) => void seen.push(req));
  server.on('connection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('the error sanitiser', () => {
  test('redacts cookies, authorization headers, URL credentials and session fields', () => {
    const cases: [string, string][] = [
      ['cookie: PHPSESSID=abc123; other=x', 'cookie: [redacted]'],
      ['Set-Cookie: sid=abc123; Path=/; HttpOnly', 'Set-Cookie: [redacted]'],
      ['authorization: Bearer tok-abc123', 'authorization: [redacted]'],
      ['{"cookie":"sid=abc123","ok":1}', '{"cookie":[redacted],"ok":1}'],
      ['sent Basic dXNlcjpwdw== to the proxy', 'sent Basic [redacted] to the proxy'],
      [
        'connect to postgres://app:abc123@db:5432/x failed',
        'connect to postgres://[redacted]@db:5432/x failed',
      ],
      ['GET http://u:abc123@host/path?q=1', 'GET http://[redacted]@host/path?q=1'],
      ['form username=u&pass=abc123&open_where=header', 'form username=u&pass=[redacted]&open_where=header'],
      ['PHPSESSID=abc123 expired', 'PHPSESSID=[redacted] expired'],
      ['\u001b[2m  - cookie: sid=abc123\u001b[22m', '  - cookie: [redacted]'],
    ];
    for (const [input, expected] of cases) assert.equal(redactSecrets(input), expected, input);
    // Plain words stay: an error about cookies is not a cookie.
    const prose = 'the session cookie expired; authorization failed for brand Fender';
    assert.equal(redactSecrets(prose), prose);
  });

  test('one line, the class kept, causes and aggregate errors made safe too', () => {
    const inner = new Error('connect ECONNREFUSED 127.0.0.1:5432\ncookie: sid=abc123');
    const aggregate = new AggregateError([inner], '');
    assert.equal(safeErrorMessage(aggregate), 'connect ECONNREFUSED 127.0.0.1:5432');
    const error = new VrUnavailableError('V&R did not answer\nCall log:\n  - cookie: sid=abc123', {
      cause: new Error('socket hang up, authorization: Bearer abc123'),
    });
    const safe = sanitiseError(error);
    assert.equal(safe, error, 'the same object, so instanceof tests still hold');
    assert.ok(safe instanceof VrUnavailableError);
    assert.equal(safe.message, 'V&R did not answer');
    assert.match(safe.stack!, /^VrUnavailableError: V&R did not answer\n\s+at /);
    assert.doesNotMatch(`${safe.stack}${(safe.cause as Error).message}`, /abc123|Call log/);
    assert.ok(sanitiseError(new UnrecoverableError('no')) instanceof UnrecoverableError);
    assert.equal(sanitiseError('a string, cookie: x=abc123').message, 'a string, cookie: [redacted]');
    assert.equal(safeErrorMessage(new Error('x'.repeat(5_000))).length, 2_000);
  });

  test('a real Playwright error carrying the session cookie: safe in the log, thrown and serialized', async () => {
    const hanging = await hangingServer();
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const COOKIE = 'sess-abc123-DO-NOT-LEAK';
    const PASSWORD = 'pw-DO-NOT-LEAK';
    let caught: unknown;
    try {
      const context = await browser.newContext();
      await context.addCookies([{ name: 'PHPSESSID', value: COOKIE, url: hanging.url }]);
      const credentialed = hanging.url.replace('http://', `http://vr-user:${PASSWORD}@`);
      caught = await context.request
        .post(`${credentialed}/ajax/check_brand_exists`, {
          form: { brand_name: 'Fender' },
          headers: { authorization: 'Bearer tok-DO-NOT-LEAK' },
          timeout: 1_000,
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
    } finally {
      await browser.close();
      await hanging.close();
    }
    // The raw error really does carry them: Playwright's call log lists the request's headers.
    assert.ok(caught instanceof playwrightErrors.TimeoutError);
    const raw = `${caught.message}\n${caught.stack}`;
    assert.match(raw, /Call log:/);
    assert.ok(raw.includes(COOKIE) && raw.includes(PASSWORD), raw);

    const lines: string[] = [];
    const logger = createLogger(
      'debug',
      {},
      { stream: { write: (line) => void lines.push(line) }, pretty: false },
    );
    logger.warn({ err: caught }, 'creation attempt failed');
    logger.warn({ err: caught.message }, 'as a string');
    logger.error(caught);
    const serialized = JSON.stringify(serializeError(caught));

    // What BullMQ would store: thrown through the wrapper every processor uses.
    const thrown = await throwingSafely(async () => {
      throw caught;
    })().then(
      () => undefined,
      (error: Error) => error,
    );
    assert.ok(thrown instanceof playwrightErrors.TimeoutError, 'still a TimeoutError');

    for (const [where, text] of Object.entries({
      log: lines.join(''),
      serialized,
      failedReason: thrown.message,
      stacktrace: thrown.stack!,
    })) {
      for (const secret of [COOKIE, PASSWORD, 'tok-DO-NOT-LEAK', 'Call log'])
        assert.ok(!text.includes(secret), `${secret} in ${where}: ${text}`);
      assert.match(text, /apiRequestContext\.post: Timeout 1000ms exceeded/, where);
    }
    assert.equal(lines.length, 3);
    const first = JSON.parse(lines[0]!);
    assert.equal(first.err.type, 'TimeoutError');
    assert.match(first.err.stack, /\n\s+at /, 'the frames are kept');
  });
});

describe('no session cookie from a failed creation attempt, anywhere it is reported', () => {
  let services: TestServices;
  let sim: Simulator;
  let proxy: Server;
  let proxyUrl: string;
  let redis: Redis;
  let app: FastifyInstance;
  const cookiesSent: string[] = [];
  const held = new Set<Socket>();
  const TOKEN = 'safe-errors-token-0123456789';

  before(async () => {
    services = await setupServices();
    sim = await startSimulator({ port: 0, catalogRows: 20, seed: 7 });
    const target = new URL(sim.url);
    // V&R as the simulator plays it, except that the brand check never answers: the worker's
    // request times out, and Playwright's error lists its headers, session cookie included.
    proxy = createServer((req, res) => {
      if (req.url?.startsWith('/ajax/check_brand_exists')) {
        cookiesSent.push(String(req.headers.cookie ?? ''));
        held.add(req.socket);
        return;
      }
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    redis = connectApiRedis(services.redisUrl, silentLogger);
    // One try: the job fails at once (the creation job's attempts are set when it is enqueued).
    app = await buildTestApi(services, {
      env: { API_TOKEN: TOKEN, CREATE_ATTEMPTS: '1' },
      siteUrl: proxyUrl,
      redis,
    });
  });

  after(async () => {
    await app.close();
    redis.disconnect();
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => proxy.close(resolve));
    await sim.close();
    await services.cleanup();
  });

  test('log, vr_jobs.error, BullMQ failedReason, stacktrace and job logs, the API and Bull Board', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const posted = await app.inject({
      method: 'POST',
      url: '/api/vr/jobs',
      headers: auth,
      payload: { productRef: 'SAFE-1', brand: 'Fender', model: 'Jaguar', price: 1900 },
    });
    assert.equal(posted.statusCode, 201, posted.body);
    const id = posted.json().job.id as number;

    const lines: string[] = [];
    const logger = createLogger(
      'debug',
      {},
      { stream: { write: (line) => void lines.push(line) }, pretty: false },
    );
    const worker = startCreationProcess({
      config: services.config({ CREATE_ATTEMPTS: '1', VR_PAGE_TIMEOUT_MS: '1000', FLUSH_SETTLE_MS: '60000' }),
      site: { baseUrl: proxyUrl, username: 'demo', password: 'demo' },
      logger,
    });
    const jobId = `listing-${id}-0`;
    try {
      await waitFor(
        'the creation job to fail',
        async () =>
          (await services.database.sql`select status from vr_jobs where id = ${id}`)[0]?.status === 'failed',
        120_000,
      );
      await waitFor('BullMQ to record the failure', async () => {
        const state = await redis.hget(`${services.queuePrefix}:${CREATE_QUEUE}:${jobId}`, 'failedReason');
        return state;
      });
    } finally {
      await worker.stop();
    }

    // The session the worker really had, as the hanging request carried it.
    const cookie = /PHPSESSID=([^;\s]+)/.exec(cookiesSent.join(' '))?.[1];
    assert.ok(cookie && cookie.length >= 8, `the brand check carried the session cookie: ${cookiesSent}`);

    const [row] = await services.database.sql`select error from vr_jobs where id = ${id}`;
    const dumpRedis = async () => {
      const texts: string[] = [];
      for (const key of await redis.keys(`${services.queuePrefix}:*`)) {
        const type = await redis.type(key);
        if (type === 'hash') texts.push(JSON.stringify(await redis.hgetall(key)));
        else if (type === 'list') texts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
        else if (type === 'string') texts.push(String(await redis.get(key)));
        else if (type === 'zset') texts.push(JSON.stringify(await redis.zrange(key, 0, -1)));
        else if (type === 'stream') texts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      }
      return texts.join('\n');
    };
    const basic = { authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}` };
    const places: Record<string, string> = {
      log: lines.join(''),
      'vr_jobs.error': String(row?.error),
      redis: await dumpRedis(),
      'GET /api/vr/jobs/:id': (await app.inject({ url: `/api/vr/jobs/${id}`, headers: auth })).body,
      'Bull Board job': (
        await app.inject({ url: `/admin/queues/api/queues/${CREATE_QUEUE}/${jobId}`, headers: basic })
      ).body,
      'Bull Board logs': (
        await app.inject({ url: `/admin/queues/api/queues/${CREATE_QUEUE}/${jobId}/logs`, headers: basic })
      ).body,
    };
    for (const [where, text] of Object.entries(places)) {
      assert.ok(!text.includes(cookie), `the session cookie in ${where}: ${text}`);
      assert.ok(!text.includes('Call log'), `a call log in ${where}`);
      // And each place did report the failure: the check above looked at something.
      assert.match(text, /Timeout 1000ms exceeded/, where);
    }
    const failed = JSON.parse(places['Bull Board job']!);
    assert.match(JSON.stringify(failed), /apiRequestContext\.post: Timeout 1000ms exceeded/);
  });
});
