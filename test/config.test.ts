import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig, requireVrSite } from '../src/config.ts';

test('defaults point at local services', () => {
  const config = loadConfig({});
  assert.equal(config.databaseUrl, 'postgres://postgres@127.0.0.1:5432/vr_lister');
  assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
  assert.equal(config.maxBatchSize, 10);
  assert.equal(config.maxResolutionAttempts, 3);
  assert.equal(config.createAttempts, 5);
  assert.equal(config.stalePendingMs, 3_600_000);
  assert.equal(config.sweepIntervalMs, 60_000);
  assert.equal(config.refMarker, true);
  assert.equal(config.vrBaseUrl, undefined);
});

test('values are parsed and an empty variable counts as unset', () => {
  const config = loadConfig({
    MAX_BATCH_SIZE: '25',
    VR_REF_MARKER: 'off',
    API_PORT: '',
    QUEUE_PREFIX: 'shop-a',
  });
  assert.equal(config.maxBatchSize, 25);
  assert.equal(config.refMarker, false);
  assert.equal(config.apiPort, 3000);
  assert.equal(config.queuePrefix, 'shop-a');
});

const bad: [Record<string, string>, RegExp][] = [
  [{ MAX_BATCH_SIZE: '0' }, /MAX_BATCH_SIZE: .*>=1|MAX_BATCH_SIZE: .*too small/i],
  [{ MAX_BATCH_SIZE: '1.5' }, /MAX_BATCH_SIZE: must be a whole number/],
  [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL: must be a URL starting with postgres:/],
  [{ REDIS_URL: 'nonsense' }, /REDIS_URL: must be a URL/],
  [{ VR_REF_MARKER: 'maybe' }, /VR_REF_MARKER: must be on or off/],
  [{ VR_REF_MARKER_TEMPLATE: 'Reference' }, /VR_REF_MARKER_TEMPLATE: must contain \{ref\}/],
  [{ QUEUE_PREFIX: 'a b' }, /QUEUE_PREFIX: must be/],
  [{ API_TOKEN: 'short' }, /API_TOKEN: must be at least 16 characters/],
  [{ VR_BASE_URL: 'https://www.vintageandrare.com' }, /VR_USERNAME: required when VR_BASE_URL is set/],
  [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
];

for (const [env, message] of bad) {
  test(`refuses ${JSON.stringify(env)}`, () => {
    assert.throws(
      () => loadConfig(env),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, message);
        return true;
      },
    );
  });
}

test('a token or password is never echoed back in the error', () => {
  assert.throws(
    () => loadConfig({ API_TOKEN: 'secret-tok' }),
    (error: Error) => !error.message.includes('secret-tok'),
  );
});

test('the workers need a V&R site', () => {
  assert.throws(() => requireVrSite(loadConfig({})), /VR_BASE_URL: required for the workers/);
  const site = requireVrSite(
    loadConfig({ VR_BASE_URL: 'http://127.0.0.1:4000/', VR_USERNAME: 'u', VR_PASSWORD: 'p' }),
  );
  assert.deepEqual(site, { baseUrl: 'http://127.0.0.1:4000', username: 'u', password: 'p' });
});
