import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromiumEnvironment, requireChromium, sandboxPossible } from '../../src/chromium.ts';
import { ConfigError, loadConfig, requireVrSite } from '../../src/config.ts';

test('defaults point at local services', () => {
  const config = loadConfig({});
  assert.equal(config.databaseUrl, 'postgres://postgres@127.0.0.1:5432/vr_lister');
  assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
  assert.equal(config.maxBatchSize, 10);
  assert.equal(config.maxResolutionAttempts, 3);
  assert.equal(config.createAttempts, 5);
  assert.equal(config.stalePendingMs, 3_600_000);
  assert.equal(config.sweepIntervalMs, 60_000);
  assert.equal(config.reconcileIntervalMs, 0);
  assert.equal(config.refMarker, true);
  assert.equal(config.verifyListings, true);
  assert.equal(config.vrBaseUrl, undefined);
});

test('values are parsed and an empty variable counts as unset', () => {
  const config = loadConfig({
    MAX_BATCH_SIZE: '25',
    VR_REF_MARKER: 'off',
    VERIFY_LISTINGS: 'off',
    API_PORT: '',
    QUEUE_PREFIX: 'shop-a',
    RECONCILE_INTERVAL_MS: '3600000',
  });
  assert.equal(config.reconcileIntervalMs, 3_600_000);
  assert.equal(loadConfig({ RECONCILE_INTERVAL_MS: 'off' }).reconcileIntervalMs, 0);
  assert.equal(config.maxBatchSize, 25);
  assert.equal(config.refMarker, false);
  assert.equal(config.verifyListings, false);
  assert.equal(config.apiPort, 3000);
  assert.equal(config.queuePrefix, 'shop-a');
});

const bad: [Record<string, string>, RegExp][] = [
  [{ MAX_BATCH_SIZE: '0' }, /MAX_BATCH_SIZE: .*>=1|MAX_BATCH_SIZE: .*too small/i],
  [{ MAX_BATCH_SIZE: '1.5' }, /MAX_BATCH_SIZE: must be a whole number/],
  [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL: must be a URL starting with postgres:/],
  [{ REDIS_URL: 'nonsense' }, /REDIS_URL: must be a URL/],
  [{ VR_REF_MARKER: 'maybe' }, /VR_REF_MARKER: must be on or off/],
  [{ VERIFY_LISTINGS: 'sometimes' }, /VERIFY_LISTINGS: must be on or off/],
  [{ VR_REF_MARKER_TEMPLATE: 'Reference' }, /VR_REF_MARKER_TEMPLATE: must contain \{ref\}/],
  [{ QUEUE_PREFIX: 'a b' }, /QUEUE_PREFIX: must be/],
  [{ API_TOKEN: 'short' }, /API_TOKEN: must be at least 16 characters/],
  [{ VR_BASE_URL: 'https://www.vintageandrare.com' }, /VR_USERNAME: required when VR_BASE_URL is set/],
  [
    { VR_BASE_URL: 'https://www.vintageandrare.com', VR_USERNAME: 'u', VR_PASSWORD: 'p' },
    /^Invalid configuration: VR_SESSION_KEY: required when VR_BASE_URL is a real site \(https:\/\/\)[^\n]*$/,
  ],
  [{ CHROMIUM_NO_SANDBOX: 'yes please' }, /CHROMIUM_NO_SANDBOX: must be on or off/],
  [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
  [{ RECONCILE_INTERVAL_MS: '5000' }, /RECONCILE_INTERVAL_MS: must be 0 or off, or at least 60000/],
  [{ RECONCILE_INTERVAL_MS: 'hourly' }, /RECONCILE_INTERVAL_MS: must be a whole number/],
  [{ API_REQUEST_TIMEOUT_MS: '0' }, /API_REQUEST_TIMEOUT_MS/],
  [{ API_MAX_CONNECTIONS: 'many' }, /API_MAX_CONNECTIONS: must be a whole number/],
  [{ API_INSECURE: 'on', API_HOST: '0.0.0.0' }, /API_INSECURE: may be on only while API_HOST is a loopback/],
  [{ API_INSECURE: 'on', API_HOST: '192.168.1.20' }, /API_INSECURE: .*loopback/],
  [{ API_INSECURE: 'on', API_HOST: '::' }, /API_INSECURE: .*loopback/],
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

test('the simulator over http runs without a session key; a real site with one', () => {
  const site = { VR_USERNAME: 'u', VR_PASSWORD: 'p' };
  assert.equal(loadConfig({ ...site, VR_BASE_URL: 'http://127.0.0.1:8080' }).vrSessionKey, undefined);
  const key = 'k'.repeat(32);
  assert.equal(
    loadConfig({ ...site, VR_BASE_URL: 'https://www.vintageandrare.com', VR_SESSION_KEY: key }).vrSessionKey,
    key,
  );
});

test("Chromium's environment: what it needs to run, none of our variables", () => {
  const ours = {
    VR_PASSWORD: 'pw',
    VR_SESSION_KEY: 'key',
    DATABASE_URL: 'postgres://x',
    API_TOKEN: 'tok',
    REDIS_URL: 'redis://x',
    WEBHOOK_SECRET: 'sec',
    AWS_SECRET_ACCESS_KEY: 'aws',
  };
  const env = chromiumEnvironment(
    { ...ours, PATH: '/usr/bin', HOME: '/home/node', LANG: 'C.UTF-8', TZ: 'UTC' },
    ':99',
  );
  assert.deepEqual(env, { PATH: '/usr/bin', HOME: '/home/node', DISPLAY: ':99', LANG: 'C.UTF-8', TZ: 'UTC' });
});

test('as root, Chromium without its sandbox is refused for a real site unless CHROMIUM_NO_SANDBOX=on', () => {
  const config = {
    chromiumPath: process.execPath,
    chromiumNoSandbox: false,
    vrBaseUrl: 'https://www.vintageandrare.com',
  };
  // The simulator (built in, or over http) may: its pages are our own.
  assert.doesNotThrow(() => requireChromium({ ...config, vrBaseUrl: undefined }));
  assert.doesNotThrow(() => requireChromium({ ...config, vrBaseUrl: 'http://127.0.0.1:8080' }));
  // Not root: the sandbox is possible, and nothing is refused.
  if (sandboxPossible()) return assert.doesNotThrow(() => requireChromium(config));
  assert.throws(
    () => requireChromium(config),
    /^ConfigError: Invalid configuration: CHROMIUM_NO_SANDBOX: Chromium can't use its sandbox when run as root/,
  );
  assert.doesNotThrow(() => requireChromium({ ...config, chromiumNoSandbox: true }));
});

test('a token or password is never echoed back in the error', () => {
  assert.throws(
    () => loadConfig({ API_TOKEN: 'secret-tok' }),
    (error: Error) => !error.message.includes('secret-tok'),
  );
});

test('a URL in an error shows no credentials, however broken the URL', () => {
  for (const [name, value] of [
    ['DATABASE_URL', 'mysql://app:hunter2@db:5432/vr'],
    ['DATABASE_URL', 'postgresql//app:hunter2@db'],
    ['REDIS_URL', 'redis//:hunter2@cache:6379'],
    ['VR_BASE_URL', 'ftp://shop:hunter2@vintageandrare.com'],
  ] as const) {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (error: Error) => {
        assert.match(error.message, new RegExp(`${name}: must be a URL .*\\[redacted\\]@`));
        assert.ok(!error.message.includes('hunter2'), error.message);
        return true;
      },
    );
  }
});

test('API_INSECURE=on only on a loopback address; API timeouts default to 60 s and 500 sockets', () => {
  for (const host of ['127.0.0.1', '127.0.0.53', '::1', '[::1]', 'localhost']) {
    assert.equal(loadConfig({ API_INSECURE: 'on', API_HOST: host }).apiInsecure, true, host);
  }
  const config = loadConfig({});
  assert.equal(config.apiRequestTimeoutMs, 60_000);
  assert.equal(config.apiMaxConnections, 500);
  assert.equal(loadConfig({ API_REQUEST_TIMEOUT_MS: '1500' }).apiRequestTimeoutMs, 1500);
});

test('the workers need a V&R site', () => {
  assert.throws(() => requireVrSite(loadConfig({})), /VR_BASE_URL: required for the workers/);
  const site = requireVrSite(
    loadConfig({ VR_BASE_URL: 'http://127.0.0.1:4000/', VR_USERNAME: 'u', VR_PASSWORD: 'p' }),
  );
  assert.deepEqual(site, { baseUrl: 'http://127.0.0.1:4000', username: 'u', password: 'p' });
});
