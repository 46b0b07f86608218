import assert from 'node:assert/strict';
import { test } from 'node:test';
import postgres from 'postgres';
import { isConnectionError, isDatabaseUnavailable, OUTAGE_EVENT, trackOutage } from '../../src/outage.ts';
import {
  ImageUnavailableError,
  isSiteUnavailable,
  VrRejectedError,
  VrUnavailableError,
} from '../../src/vr/errors.ts';
import { captureLogs, outageLines, WARN } from '../helpers/log-capture.ts';
import { freePort } from '../helpers/private-services.ts';

test('an outage is one warning however many failures, and one line when it is over', () => {
  const logs = captureLogs();
  const outage = trackOutage(logs.logger, 'Redis', 'waiting');
  outage.up(); // nothing to report
  for (let i = 0; i < 50; i += 1) outage.down(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
  assert.equal(outage.isDown, true);
  outage.up();
  outage.up();
  const [down, ...more] = outageLines(logs.lines, 'Redis', OUTAGE_EVENT.down);
  assert.equal(more.length, 0);
  assert.equal(down?.level, WARN);
  assert.match(down!.msg, /waiting$/, 'the warning says what happens meanwhile');
  assert.equal(logs.lines.filter((l) => l.level >= WARN).length, 1);
  assert.equal(outageLines(logs.lines, 'Redis', OUTAGE_EVENT.stillDown).length, 49);
  assert.deepEqual(
    outageLines(logs.lines, 'Redis', OUTAGE_EVENT.up).map((l) => l.failures),
    [50],
  );
  outage.down(new Error('again'));
  assert.equal(outageLines(logs.lines, 'Redis', OUTAGE_EVENT.down).length, 2, 'a new outage warns again');
});

test('V&R unavailable: its own errors and browser network failures, not an image host or a rejection', () => {
  assert.equal(isSiteUnavailable(new VrUnavailableError('export page answered HTTP 503')), true);
  assert.equal(isSiteUnavailable(new Error('page.goto: net::ERR_CONNECTION_REFUSED at http://x/')), true);
  assert.equal(isSiteUnavailable(new Error('apiRequestContext.get: connect ECONNREFUSED 127.0.0.1:9')), true);
  assert.equal(isSiteUnavailable(new ImageUnavailableError('image 0 answered HTTP 502')), false);
  assert.equal(isSiteUnavailable(new VrRejectedError('unknown brand')), false);
  const pgError = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  assert.equal(isSiteUnavailable(pgError), false, "Postgres' own errors carry a code");
});

test('Postgres unavailable: a real postgres.js connection error, also wrapped as a cause', async () => {
  const sql = postgres(`postgres://postgres@127.0.0.1:${await freePort()}/x`, { max: 1, connect_timeout: 2 });
  const error = await sql`select 1`.then(
    () => assert.fail('connected to nothing'),
    (e: unknown) => e,
  );
  await sql.end({ timeout: 0 });
  assert.equal(isConnectionError(error), true);
  assert.equal(isDatabaseUnavailable(error), true);
  assert.equal(isDatabaseUnavailable(new Error('Failed query: update …', { cause: error })), true);
  const syntax = Object.assign(new Error('syntax error'), { code: '42601' });
  assert.equal(isDatabaseUnavailable(syntax), false);
  assert.equal(isDatabaseUnavailable(new Error('page.goto: net::ERR_CONNECTION_REFUSED')), false);
});
