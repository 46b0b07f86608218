import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { parse } from 'yaml';
import { connectApiRedis } from '../../src/api/main.ts';
import { silentLogger } from '../../src/logger.ts';
import { buildTestApi } from '../helpers/api.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { parsePrometheus } from '../helpers/prometheus.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

const RULES = join(REPO_ROOT, 'deploy/prometheus/vr-lister-rules.yml');
const DASHBOARD = join(REPO_ROOT, 'deploy/grafana/vr-lister-dashboard.json');
const TOKEN = 'test-token-0123456789';
/** Published by the workers' V&R session state; not served until that work is merged. */
const NOT_YET_SERVED = new Set<string>();

const seriesIn = (expr: string) => [...new Set(expr.match(/\bvr_lister_[a-zA-Z0-9_]+/g) ?? [])];

interface Rule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

async function promtool(): Promise<string | undefined> {
  try {
    await promisify(execFile)('promtool', ['--version']);
    return 'promtool';
  } catch {
    return undefined;
  }
}

describe('deploy/: alert rules and dashboard over what /metrics serves', () => {
  let services: TestServices;
  let redis: Redis;
  let app: FastifyInstance;
  let served: (name: string) => boolean;

  before(async () => {
    services = await setupServices();
    redis = connectApiRedis(services.redisUrl, silentLogger);
    app = await buildTestApi(services, { env: { API_TOKEN: TOKEN }, redis });
    const response = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(response.statusCode, 200);
    const { types } = parsePrometheus(response.body);
    served = (name) =>
      ['_bucket', '_sum', '_count', ''].some(
        (suffix) => name.endsWith(suffix) && types.has(name.slice(0, name.length - suffix.length)),
      );
  });
  after(async () => {
    await app.close();
    redis.disconnect();
    await services.cleanup();
  });

  test('promtool check rules and the rules unit tests pass', async () => {
    const tool = await promtool();
    assert.ok(
      tool,
      'promtool is installed (apt-get install --no-install-recommends prometheus; .ci/run does)',
    );
    const { stdout } = await promisify(execFile)(tool, ['check', 'rules', RULES]);
    assert.match(stdout, /SUCCESS: \d+ rules found/);
    // The alerts fire on the series they watch, and stay quiet otherwise (deploy/prometheus/*.test.yml).
    const tests = await promisify(execFile)(tool, ['test', 'rules', RULES.replace(/\.yml$/, '.test.yml')]);
    assert.match(tests.stdout, /SUCCESS/);
  });

  test('the rules: every alert asked for, each well formed, over series /metrics serves', () => {
    const doc = parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
    assert.ok(Array.isArray(doc.groups) && doc.groups.length > 0);
    const rules = doc.groups.flatMap((g) => {
      assert.equal(typeof g.name, 'string');
      return g.rules;
    });
    const names = new Set<string>();
    for (const rule of rules) {
      assert.match(rule.alert ?? '', /^[A-Za-z][A-Za-z0-9]+$/, JSON.stringify(rule));
      assert.ok(!names.has(rule.alert!), `${rule.alert} twice`);
      names.add(rule.alert!);
      assert.equal(typeof rule.expr, 'string');
      if (rule.for !== undefined) assert.match(rule.for, /^\d+[smh]$/);
      assert.match(rule.labels?.severity ?? '', /^(critical|warning)$/);
      assert.ok(rule.annotations?.summary && rule.annotations.description, `${rule.alert}: annotations`);
      for (const series of seriesIn(rule.expr!)) {
        assert.ok(
          served(series) || NOT_YET_SERVED.has(series),
          `${rule.alert}: ${series} is not served by /metrics`,
        );
      }
    }
    const exprOf = (alert: string) => rules.find((r) => r.alert === alert)?.expr ?? '';
    assert.match(exprOf('VrListerSiteBlocked'), /vr_lister_vr_session_state\{state="blocked"\}/);
    assert.match(exprOf('VrListerLoginRefused'), /vr_lister_vr_session_state\{state="login_refused"\}/);
    assert.match(exprOf('VrListerListingPendingTooLong'), /vr_lister_oldest_pending_age_seconds\) > 1800/);
    assert.match(exprOf('VrListerNeedsReview'), /status="needs_review"\}\) > 0/);
    assert.match(exprOf('VrListerFailuresRising'), /status="failed"/);
    assert.match(exprOf('VrListerCreationQueueStuck'), /vr_lister_oldest_queued_age_seconds/);
    assert.match(exprOf('VrListerRedisDown'), /vr_lister_redis_up\) == 0/);
    assert.match(exprOf('VrListerNoFlushWithListingsPending'), /\[1h\]/);
  });

  test('the dashboard: valid JSON, every panel queries only series /metrics serves', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      title: string;
      uid: string;
      panels: { title: string; gridPos: object; targets: { expr: string; refId: string }[] }[];
    };
    assert.equal(dashboard.uid, 'vr-lister');
    assert.ok(dashboard.panels.length >= 8);
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      assert.ok(panel.title && panel.gridPos && panel.targets.length > 0, panel.title);
      for (const target of panel.targets) {
        const series = seriesIn(target.expr);
        assert.ok(series.length > 0, `${panel.title}: ${target.expr} queries no vr-lister series`);
        for (const name of series) {
          assert.ok(served(name), `${panel.title}: ${name} is not served by /metrics`);
          used.add(name);
        }
      }
    }
    for (const core of ['vr_lister_listings', 'vr_lister_queue_jobs', 'vr_lister_redis_up'])
      assert.ok(used.has(core), `${core} not on the dashboard`);
  });
});
