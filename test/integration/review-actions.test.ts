import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { connectApiRedis } from '../../src/api/main.ts';
import type { CandidateDetail, JobArtifact } from '../../src/db/schema.ts';
import { silentLogger } from '../../src/logger.ts';
import { buildTestApi, NO_SITE } from '../helpers/api.ts';
import { runCli } from '../helpers/cli.ts';
import { setupServices, type TestServices } from '../helpers/services.ts';

const TOKEN = 'review-token-0123456789';
const BASIC = { authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}` };

interface Row {
  status: string;
  generation: number;
  vr_listing_id: number | null;
  submit_started_at: Date | null;
}

describe('a person decides a job in review: retry --resubmit and link', () => {
  let services: TestServices;
  const row = async (id: number) =>
    (
      await services.database.sql<Row[]>`
        select status, generation, vr_listing_id::int, submit_started_at from vr_jobs where id = ${id}`
    )[0]!;

  /** A job whose Publish left with an unknown outcome and that no export showed. */
  async function inReview(ref: string): Promise<number> {
    const job = await services
      .producer()
      .enqueueListing({ productRef: ref, brand: 'Fender', model: 'Jaguar', price: 1900 });
    await services.database.sql`
      update vr_jobs set status = 'needs_review', submit_started_at = now(), submitted_at = now(),
        submit_outcome_unknown = true, error = 'the Publish was sent but its outcome is unknown'
      where id = ${job.id}`;
    return job.id;
  }

  let redis: Redis;
  let app: FastifyInstance;

  /** A job the flush sent to review as ambiguous, with what the export showed of its candidates. */
  async function ambiguous(ref: string, details: CandidateDetail[], artifacts: JobArtifact[] = []) {
    const id = await inReview(ref);
    const candidates = details.map((d) => d.id);
    await services.database.sql`
      update vr_jobs set submit_outcome_unknown = false, artifacts = ${JSON.stringify(artifacts)}::jsonb,
        error = ${`cannot tell which V&R listing is ours: candidates ${candidates.join(', ')}`},
        payload = payload || ${JSON.stringify({ reviewKind: 'ambiguous', candidates, candidateDetails: details })}::jsonb
      where id = ${id}`;
    return id;
  }

  before(async () => {
    services = await setupServices();
    redis = connectApiRedis(services.redisUrl, silentLogger);
    app = await buildTestApi(services, { env: { API_TOKEN: TOKEN }, redis });
    // The last complete export held ids up to 5000.
    await services.database.sql`
      insert into vr_resolution_runs (trigger, finished_at, max_product_id, rows_scanned)
      values ('test', now(), 5000, 30)`;
  });
  after(async () => {
    await app.close();
    redis.disconnect();
    await services.cleanup();
  });

  test('retry without --resubmit looks again and keeps the submit mark; with --resubmit it goes back to creation', async () => {
    const id = await inReview('REV-1');
    const plain = await runCli(['retry', String(id), '--json'], services.env());
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(JSON.parse(plain.stdout).action, 'resolving');
    assert.equal((await row(id)).status, 'completed_pending_id');
    assert.ok((await row(id)).submit_started_at, 'the mark stays: never a second submit by itself');

    await services.database.sql`update vr_jobs set status = 'needs_review' where id = ${id}`;
    const resubmit = await runCli(['retry', String(id), '--resubmit', '--json'], services.env());
    assert.equal(resubmit.code, 0, resubmit.stderr);
    assert.equal(JSON.parse(resubmit.stdout).action, 'requeued');
    const after = await row(id);
    assert.equal(after.status, 'queued');
    assert.equal(after.generation, 1);
    assert.equal(after.submit_started_at, null);
  });

  test('link completes the job with the id and links the product; refused for an id not in the last export or linked elsewhere', async () => {
    const id = await inReview('REV-2');
    const unseen = await runCli(['link', String(id), '9000'], services.env());
    assert.equal(unseen.code, 2);
    assert.match(unseen.stderr, /not in the last complete export \(highest id 5000\)/);
    assert.equal((await row(id)).status, 'needs_review');

    await services.database
      .sql`insert into vr_product_links (product_ref, vr_listing_id) values ('OTHER', 4001)`;
    const taken = await runCli(['link', String(id), '4001'], services.env());
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, /already linked to productRef OTHER/);

    const linked = await runCli(['link', String(id), '4002', '--json'], services.env());
    assert.equal(linked.code, 0, linked.stderr);
    assert.deepEqual(JSON.parse(linked.stdout), { action: 'linked', id, vrListingId: 4002 });
    assert.equal((await row(id)).status, 'completed');
    assert.equal((await row(id)).vr_listing_id, 4002);
    // The person's listing is read back like a found one.
    const [read] = await services.database.sql<{ verification: unknown }[]>`
      select verification from vr_jobs where id = ${id}`;
    assert.deepEqual(read?.verification, { status: 'pending', differences: [], checkedAt: null });
    const [link] = await services.database.sql<{ product_ref: string }[]>`
      select product_ref from vr_product_links where vr_listing_id = 4002`;
    assert.equal(link?.product_ref, 'REV-2');

    const again = await runCli(['link', String(id), '4002'], services.env());
    assert.equal(again.code, 2);
    assert.match(again.stderr, /is completed: only failed or needs_review jobs can be linked/);
  });

  test('review lists each job in needs_review with why, its candidates beside what we asked, and its evidence (CLI and API alike)', async () => {
    const seenAt = '2026-12-01T10:00:00.000Z';
    const shot: JobArtifact = { name: 'publish-1700000000000.png', step: 'publish', at: seenAt };
    const amb = await ambiguous(
      'REV-3',
      [
        { id: 4101, brand: 'Fender', model: 'Jaguar', price: 1900, year: null, seenAt },
        { id: 4102, brand: 'Fender', model: 'Jaguar HH', price: 1900, year: 1999, seenAt },
      ],
      [shot],
    );
    const unknown = await inReview('REV-4');
    await services.database.sql`
      update vr_jobs set payload = payload || '{"reviewKind":"unknown_not_found"}'::jsonb where id = ${unknown}`;

    const env = services.env({ VR_BASE_URL: NO_SITE, VR_USERNAME: 'demo', VR_PASSWORD: 'demo' });
    const json = await runCli(['review', '--json'], env);
    assert.equal(json.code, 0, json.stderr);
    const items = JSON.parse(json.stdout) as Record<string, unknown>[];
    const byRef = (ref: string) => items.find((item) => item.productRef === ref)!;
    assert.ok(Array.isArray(items));
    const first = byRef('REV-3');
    assert.equal(first.id, amb);
    assert.equal(first.kind, 'ambiguous');
    assert.match(String(first.reason), /^cannot tell which V&R listing is ours: candidates 4101, 4102$/);
    assert.deepEqual(first.asked, {
      brand: 'Fender',
      model: 'Jaguar',
      price: 1900,
      year: null,
      category: (first.asked as { category: string }).category,
    });
    assert.deepEqual(first.candidates, [
      {
        vrListingId: 4101,
        brand: 'Fender',
        model: 'Jaguar',
        price: 1900,
        year: null,
        created: seenAt,
        url: `${NO_SITE}/product/4101`,
      },
      {
        vrListingId: 4102,
        brand: 'Fender',
        model: 'Jaguar HH',
        price: 1900,
        year: 1999,
        created: seenAt,
        url: `${NO_SITE}/product/4102`,
      },
    ]);
    assert.deepEqual(first.evidence, [{ ...shot, url: `/api/vr/jobs/${amb}/artifacts/${shot.name}` }]);
    assert.deepEqual(first.actions, {
      link: `vr-lister link ${amb} VR_ID`,
      resubmit: `vr-lister retry ${amb} --resubmit`,
    });
    const second = byRef('REV-4');
    assert.equal(second.kind, 'unknown_not_found');
    assert.equal(second.reason, 'the Publish was sent but its outcome is unknown');
    assert.deepEqual(second.candidates, []);
    assert.ok(!items.some((item) => item.productRef === 'REV-2'), 'a completed job is not in review');

    const text = await runCli(['review'], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`job ${amb}  REV-3  \\[ambiguous\\]`));
    assert.match(text.stdout, /asked: Fender Jaguar, price 1900/);
    assert.match(
      text.stdout,
      /candidate 4102: Fender Jaguar HH, price 1900, year 1999, created by 2026-12-01T10:00:00.000Z {2}http:\/\/127.0.0.1:9\/product\/4102/,
    );
    assert.match(text.stdout, /evidence: publish-1700000000000.png \(publish\)/);
    assert.match(text.stdout, /candidates: none in the export/);

    const api = await app.inject({ url: '/api/vr/review', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(api.statusCode, 200);
    assert.deepEqual(api.json().jobs, items);
    assert.equal((await app.inject({ url: '/api/vr/review' })).statusCode, 401);
  });

  test('the review page: Basic auth; its POSTs refused without auth, cross-site or without the form token; a link through it completes the job', async () => {
    const id = await ambiguous('REV-5', [
      {
        id: 4201,
        brand: 'Fender',
        model: 'Jaguar',
        price: 1900,
        year: null,
        seenAt: '2026-12-01T10:00:00.000Z',
      },
      {
        id: 4202,
        brand: 'Fender',
        model: 'Jaguar',
        price: 1900,
        year: null,
        seenAt: '2026-12-01T10:00:00.000Z',
      },
    ]);
    await mkdir(join(services.artifactsDir, String(id)), { recursive: true });
    await writeFile(join(services.artifactsDir, String(id), 'publish-1700000000001.png'), Buffer.from('png'));
    await services.database.sql`
      update vr_jobs set artifacts = ${JSON.stringify([{ name: 'publish-1700000000001.png', step: 'publish', at: '2026-12-01T10:00:00.000Z' }])}::jsonb
      where id = ${id}`;

    assert.equal((await app.inject({ url: '/review' })).statusCode, 401);
    const page = await app.inject({ url: '/review', headers: BASIC });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'.*form-action 'self'/);
    assert.doesNotMatch(page.body, /<script/i);
    assert.match(page.body, new RegExp(`id="job-${id}"`));
    const token = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
    assert.ok(token);
    const shot = await app.inject({
      url: `/review/jobs/${id}/artifacts/publish-1700000000001.png`,
      headers: BASIC,
    });
    assert.equal(shot.statusCode, 200, 'the evidence opens with the page’s Basic auth');
    assert.equal(shot.headers['content-type'], 'image/png');

    const post = (headers: Record<string, string>, body: string) =>
      app.inject({
        method: 'POST',
        url: `/review/jobs/${id}/link`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'api.test', ...headers },
        body,
      });
    const good = `csrf=${encodeURIComponent(token)}&vrListingId=4202`;
    assert.equal((await post({}, good)).statusCode, 401, 'no auth');
    assert.equal((await post({ ...BASIC, 'sec-fetch-site': 'cross-site' }, good)).statusCode, 403);
    assert.equal((await post({ ...BASIC, origin: 'https://evil.example' }, good)).statusCode, 403);
    assert.equal(
      (await post({ ...BASIC, 'sec-fetch-site': 'same-origin' }, 'vrListingId=4202')).statusCode,
      403,
    );
    assert.equal(
      (await post({ ...BASIC, 'sec-fetch-site': 'same-origin' }, `csrf=x&vrListingId=4202`)).statusCode,
      403,
    );
    assert.equal((await row(id)).status, 'needs_review', 'nothing refused changed the job');

    const unseen = await post(
      { ...BASIC, origin: 'http://api.test' },
      `csrf=${encodeURIComponent(token)}&vrListingId=9999`,
    );
    assert.equal(unseen.statusCode, 409);
    assert.match(unseen.body, /not in the last complete export/);
    assert.equal((await row(id)).status, 'needs_review');

    const linked = await post({ ...BASIC, origin: 'http://api.test', 'sec-fetch-site': 'same-origin' }, good);
    assert.equal(linked.statusCode, 303);
    assert.equal(linked.headers.location, `/review?done=linked&job=${id}&vr=4202`);
    assert.equal((await row(id)).status, 'completed');
    assert.equal((await row(id)).vr_listing_id, 4202);
    const after = await app.inject({ url: linked.headers.location, headers: BASIC });
    assert.match(after.body, new RegExp(`Job ${id} completed with V&amp;R listing 4202`));
    assert.doesNotMatch(after.body, new RegExp(`id="job-${id}"`));
  });

  test('without API_TOKEN (API_INSECURE=on) the page’s forms still work from the page, and only from it', async () => {
    const id = await ambiguous('REV-6', [
      {
        id: 4301,
        brand: 'Fender',
        model: 'Jaguar',
        price: 1900,
        year: null,
        seenAt: '2026-12-01T10:00:00.000Z',
      },
    ]);
    const insecure = await buildTestApi(services, { env: { API_INSECURE: 'on' }, redis });
    try {
      const page = await insecure.inject({ url: '/review' });
      assert.equal(page.statusCode, 200);
      const token = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
      const post = (headers: Record<string, string>) =>
        insecure.inject({
          method: 'POST',
          url: `/review/jobs/${id}/link`,
          headers: { 'content-type': 'application/x-www-form-urlencoded', host: '127.0.0.1', ...headers },
          body: `csrf=${encodeURIComponent(token)}&vrListingId=4301`,
        });
      assert.equal((await post({ 'sec-fetch-site': 'cross-site' })).statusCode, 403);
      assert.equal((await post({ host: 'rebind.example', 'sec-fetch-site': 'same-origin' })).statusCode, 421);
      const linked = await post({ 'sec-fetch-site': 'same-origin', origin: 'http://127.0.0.1' });
      assert.equal(linked.statusCode, 303, linked.body);
      assert.equal((await row(id)).status, 'completed');
    } finally {
      await insecure.close();
    }
  });
});
