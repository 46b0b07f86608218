import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/src/server.ts';
import { type CliProcess, REPO_ROOT, startCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/private-services.ts';
import { setupServices, type TestServices, waitFor } from '../helpers/services.ts';

const VR_USERNAME = 'vr-user-SECRET1';
const VR_PASSWORD = 'pw-SECRET2-xyz';
const TOKEN = 'api-tok-SECRET3-0123456789';
const SECRETS = {
  VR_USERNAME,
  VR_PASSWORD,
  TOKEN,
  'Basic credentials': Buffer.from(`ops:${TOKEN}`).toString('base64'),
  'V&R login form': `pass=${encodeURIComponent(VR_PASSWORD)}`,
};

describe('no secret in any log line or response', () => {
  let services: TestServices;
  let sim: Simulator;
  const children: CliProcess[] = [];

  before(async () => {
    services = await setupServices();
    sim = await startSimulator({
      port: 0,
      catalogRows: 20,
      seed: 5,
      username: VR_USERNAME,
      password: VR_PASSWORD,
    });
  });

  after(async () => {
    for (const { child } of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await sim.close();
    await services.cleanup();
  });

  test('API and both workers at debug level, every route hit, nothing leaks', async () => {
    const port = await freePort();
    const env = services.env({
      VR_BASE_URL: sim.url,
      VR_USERNAME,
      VR_PASSWORD,
      API_TOKEN: TOKEN,
      API_PORT: String(port),
      LOG_LEVEL: 'debug',
      FLUSH_SETTLE_MS: '200',
      RESOLUTION_BACKOFF_MS: '500',
      CREATE_BACKOFF_MS: '200',
    });
    const api = startCli(['api'], env);
    const create = startCli(['worker', 'create'], env);
    const resolve = startCli(['worker', 'resolve'], env);
    children.push(api, create, resolve);
    const base = `http://127.0.0.1:${port}`;
    await waitFor('the API to listen', () => api.output().includes('API listening'), 60_000);

    const captured: string[] = [];
    async function call(path: string, init: RequestInit & { expect?: number } = {}) {
      const response = await fetch(base + path, init);
      const body = await response.text();
      captured.push(
        `${init.method ?? 'GET'} ${path} ${response.status}`,
        JSON.stringify([...response.headers]),
        body,
      );
      if (init.expect !== undefined) assert.equal(response.status, init.expect, `${path}: ${body}`);
      return { status: response.status, body };
    }
    const bearer = { authorization: `Bearer ${TOKEN}` };
    const basic = { authorization: `Basic ${SECRETS['Basic credentials']}` };
    const json = { ...bearer, 'content-type': 'application/json' };

    const posted = await call('/api/vr/jobs', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ productRef: 'SECRET-1', brand: 'Fender', model: 'Telecaster', price: 1800 }),
      expect: 201,
    });
    const { id } = JSON.parse(posted.body).job as { id: number };
    await waitFor(
      'the listing to be created and resolved',
      async () => {
        const { body } = await call(`/api/vr/jobs/${id}`, { headers: bearer, expect: 200 });
        return JSON.parse(body).job.status === 'completed';
      },
      180_000,
    );

    await call('/healthz', { expect: 200 });
    await call('/readyz', { expect: 200 });
    await call('/metrics', { headers: bearer, expect: 200 });
    await call('/api/vr/jobs?limit=10', { headers: bearer, expect: 200 });
    await call('/api/vr/jobs?limit=nope', { headers: bearer, expect: 400 });
    await call('/api/vr/jobs', { method: 'POST', headers: json, body: '{"productRef": 5}', expect: 400 });
    await call('/api/vr/jobs', { method: 'POST', headers: json, body: '{not json', expect: 400 });
    await call(`/api/vr/jobs/${id}/retry`, { method: 'POST', headers: bearer, expect: 409 });
    await call('/api/vr/jobs/999999/retry', { method: 'POST', headers: bearer, expect: 404 });
    await call('/api/vr/resolution-status', { headers: bearer, expect: 200 });
    await call('/api/vr/resolve-pending', { method: 'POST', headers: bearer, expect: 200 });
    await call('/api/vr/jobs', { headers: { authorization: 'Bearer wrong-token-SECRET9' }, expect: 401 });
    await call('/api/vr/jobs', { headers: basic, expect: 401 });
    await call('/admin/queues', { headers: basic, expect: 200 });
    await call('/admin/queues/api/queues?activeQueue=vr-create&status=completed&page=1', {
      headers: basic,
      expect: 200,
    });
    await call(`/admin/queues/api/queues/vr-create/listing-${id}-0`, { headers: basic, expect: 200 });
    await call(`/admin/queues/api/queues/vr-create/listing-${id}-0/logs`, { headers: basic, expect: 200 });
    await call('/admin/queues/api/redis/stats', { headers: basic, expect: 200 });
    await call('/admin/queues/api/queues/vr-create/retry/failed', { method: 'PUT', headers: basic });
    await call('/no/such/route', { headers: bearer, expect: 404 });

    // The board's JSON shows the job's data: it must be the row's id and reference, nothing else.
    const jobs = captured.find((text) => text.includes(`"listing-${id}-0"`));
    assert.ok(jobs, 'Bull Board showed the creation job');

    for (const child of children) child.child.kill('SIGTERM');
    await Promise.all(children.map((c) => c.exited));
    const logs = children.map((c) => c.output()).join('\n');
    assert.match(logs, /"level":20/, 'debug lines were written');
    assert.match(logs, /logged in to V&R/, 'the login paths ran');

    for (const [what, secret] of Object.entries(SECRETS)) {
      const inLogs = logs.split('\n').filter((line) => line.includes(secret));
      assert.deepEqual(inLogs, [], `${what} in the logs`);
      const inResponses = captured.filter((text) => text.includes(secret));
      assert.deepEqual(inResponses, [], `${what} in a response`);
    }
  });
});

describe('the logger', () => {
  test('redacts configuration and site credentials even when a whole object is logged', async () => {
    const { spawnSync } = await import('node:child_process');
    const code = `
      import { createLogger } from './src/logger.ts';
      import { loadConfig } from './src/config.ts';
      const config = loadConfig({ VR_BASE_URL: 'http://v', VR_USERNAME: ${JSON.stringify(VR_USERNAME)},
        VR_PASSWORD: ${JSON.stringify(VR_PASSWORD)}, API_TOKEN: ${JSON.stringify(TOKEN)} });
      const site = { baseUrl: 'http://v', username: config.vrUsername, password: config.vrPassword };
      const logger = createLogger('debug');
      logger.info({ config, site }, 'whole objects');
      logger.info({ deps: { site }, req: { headers: { authorization: 'Bearer ' + config.apiToken } } }, 'nested');
      logger.flush();`;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      cwd: REPO_ROOT,
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /whole objects/);
    assert.match(result.stderr, /nested/);
    for (const secret of [VR_USERNAME, VR_PASSWORD, TOKEN])
      assert.ok(!result.stderr.includes(secret), secret);
  });
});
