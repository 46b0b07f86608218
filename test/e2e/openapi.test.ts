import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020.js';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Redis } from 'ioredis';
import { connectApiRedis } from '../../src/api/main.ts';
import { undocumentedRoutes } from '../../src/api/openapi.ts';
import { silentLogger } from '../../src/logger.ts';
import { buildTestApi } from '../helpers/api.ts';
import { launchTestChromium } from '../helpers/chromium.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

const TOKEN = 'test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const COMMITTED = join(REPO_ROOT, 'docs/openapi.json');

type Schema = Record<string, unknown>;
interface Operation {
  parameters?: { in: string; name: string; required?: boolean; example?: unknown; schema: Schema }[];
  requestBody?: {
    content: Record<
      string,
      { schema: Schema; example?: unknown; examples?: Record<string, { value: unknown }> }
    >;
  };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
  security?: unknown[];
}
type Spec = { openapi: string; paths: Record<string, Record<string, Operation>> };

describe('OpenAPI: the contract the API serves', () => {
  let services: TestServices;
  let redis: Redis;
  let app: FastifyInstance;
  let spec: Spec;

  before(async () => {
    services = await setupServices();
    redis = connectApiRedis(services.redisUrl, silentLogger);
    app = await buildTestApi(services, { env: { API_TOKEN: TOKEN }, redis });
    const response = await app.inject({ url: '/api/openapi.json', headers: AUTH });
    assert.equal(response.statusCode, 200);
    spec = response.json();
    if (process.env.UPDATE_OPENAPI === '1') writeFileSync(COMMITTED, `${JSON.stringify(spec, null, 2)}\n`);
  });
  after(async () => {
    await app.close();
    redis.disconnect();
    await services.cleanup();
  });

  test('the spec validates as OpenAPI 3.1', async () => {
    assert.match(spec.openapi, /^3\.1\./);
    const result = await new Validator().validate(structuredClone(spec) as never);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  });

  test('docs/openapi.json is what the server serves (UPDATE_OPENAPI=1 rewrites it)', () => {
    const committed = JSON.parse(readFileSync(COMMITTED, 'utf8'));
    assert.deepEqual(
      committed,
      spec,
      'docs/openapi.json is stale: run UPDATE_OPENAPI=1 node --import tsx --test test/e2e/openapi.test.ts',
    );
  });

  test('every route is documented, and needs the token as the rest do', async () => {
    assert.deepEqual(undocumentedRoutes(app), []);
    assert.equal((await app.inject({ url: '/api/openapi.json' })).statusCode, 401);
    const docs = await app.inject({
      url: '/api/docs/',
      headers: { authorization: `Basic ${Buffer.from(`any:${TOKEN}`).toString('base64')}` },
    });
    assert.equal(docs.statusCode, 200);
    assert.match(docs.body, /swagger-ui/i);
    // Served from here: no script or style from another host.
    assert.doesNotMatch(docs.body, /(src|href)="(https?:)?\/\//);
    assert.equal((await app.inject({ url: '/api/docs/' })).statusCode, 401);
  });

  test('/api/docs in Chromium: Swagger UI shows every route, loads nothing from another host, within the CSP', async () => {
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const browser = await launchTestChromium();
    try {
      const context = await browser.newContext({ httpCredentials: { username: 'ops', password: TOKEN } });
      const page = await context.newPage();
      const outside: string[] = [];
      const failed: string[] = [];
      const cspRefusals: string[] = [];
      page.on('request', (request) => {
        if (!request.url().startsWith(`${url}/`) && !request.url().startsWith('data:'))
          outside.push(request.url());
      });
      page.on('response', (response) => {
        if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
      });
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) cspRefusals.push(message.text());
      });
      await page.goto(`${url}/api/docs/`);
      await page.locator('.swagger-ui .info .title').getByText('vr-lister').waitFor({ timeout: 60_000 });
      for (const path of ['/api/vr/jobs/{id}/retry', '/api/vr/webhooks/deliveries']) {
        await page.locator('.opblock-summary-path', { hasText: path }).first().waitFor({ timeout: 30_000 });
      }
      assert.deepEqual(outside, [], 'no request to another host');
      assert.deepEqual(failed, [], 'every asset and the spec loaded');
      assert.deepEqual(cspRefusals, [], 'within the Content-Security-Policy');
    } finally {
      await browser.close();
    }
  });

  test('each documented example is answered with a documented status and a body matching its schema', async () => {
    const ajv = new Ajv2020.default({ strict: false, allErrors: true, validateFormats: false });
    const check = (
      path: string,
      method: string,
      op: Operation,
      status: number,
      type: string,
      body: string,
    ) => {
      const documented = op.responses[String(status)];
      assert.ok(documented, `${method} ${path}: answered ${status}, which is not documented: ${body}`);
      const [contentType, media] =
        Object.entries(documented.content ?? {}).find(([documentedType]) =>
          type.startsWith(documentedType),
        ) ?? [];
      assert.ok(contentType && media, `${method} ${path} ${status}: no content documented`);
      assert.ok(
        type.startsWith(contentType),
        `${method} ${path} ${status}: ${type}, documented ${contentType}`,
      );
      const value = contentType === 'application/json' ? JSON.parse(body) : body;
      const validate = ajv.compile(media.schema);
      assert.ok(
        validate(value),
        `${method} ${path} ${status}: ${JSON.stringify(validate.errors)}\n${body.slice(0, 500)}`,
      );
    };
    // POST /api/vr/jobs first: its examples make the jobs the other examples name (ids 1 and up).
    const operations = Object.entries(spec.paths)
      .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })))
      .sort(
        (a, b) =>
          Number(b.method === 'post' && b.path === '/api/vr/jobs') -
          Number(a.method === 'post' && a.path === '/api/vr/jobs'),
      );
    let sent = 0;
    for (const { path, method, op } of operations) {
      if (path === '/api/vr/webhooks/deliveries/{id}/redeliver') {
        // A delivered event for delivery 1, as the sender would have left it.
        await services.database
          .sql`update vr_jobs set status = 'completed', vr_listing_id = 7001 where id = 1`;
        await services.database.sql`
          insert into vr_webhook_deliveries (id, event_id, product_ref, url, status, attempts, delivered_at)
          select 1, id, product_ref, 'https://shop.example/hooks/vr', 'delivered', 1, now() from vr_job_events limit 1`;
      }
      let url = path;
      for (const parameter of (op.parameters ?? []).filter((p) => p.in === 'path')) {
        assert.notEqual(parameter.example, undefined, `${method} ${path}: no example for ${parameter.name}`);
        url = url.replace(`{${parameter.name}}`, encodeURIComponent(String(parameter.example)));
      }
      const json = op.requestBody?.content['application/json'];
      const bodies = json ? Object.values(json.examples ?? {}).map((e) => e.value) : [undefined];
      if (json) assert.ok(bodies.length > 0, `${method} ${path}: a request body without an example`);
      for (const body of bodies) {
        const request: InjectOptions = { method: method.toUpperCase() as 'GET', url, headers: AUTH };
        if (body !== undefined) request.payload = body as object;
        const response = await app.inject(request);
        check(path, method, op, response.statusCode, String(response.headers['content-type']), response.body);
        sent++;
      }
      if (op.security?.length !== 0) {
        const anonymous = await app.inject({ method: method.toUpperCase() as 'GET', url });
        assert.equal(anonymous.statusCode, 401, `${method} ${path} without the token`);
        check(path, method, op, 401, String(anonymous.headers['content-type']), anonymous.body);
      }
    }
    assert.ok(sent >= 14, `${sent} examples sent`);
  });
});
