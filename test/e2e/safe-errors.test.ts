import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describe, test } from 'node:test';
import { UnrecoverableError } from 'bullmq';
import { errors as playwrightErrors } from 'playwright-core';
import { createLogger } from '../../src/logger.ts';
import {
  redactSecrets,
  safeErrorMessage,
  sanitiseError,
  serializeError,
  throwingSafely,
} from '../../src/safe-errors.ts';
import { VrUnavailableError } from '../../src/vr/errors.ts';
import { launchTestChromium } from '../helpers/chromium.ts';

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
    const browser = await launchTestChromium();
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
