import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unzipSync } from 'fflate';
import type { Browser } from 'playwright-core';
import {
  artifactPath,
  beginListingTrace,
  captureEvidence,
  continueListingTrace,
  endListingTrace,
  isArtifactName,
  jobArtifactsDir,
  pruneArtifacts,
  scrubText,
} from '../../src/creation/artifacts.ts';
import { launchTestChromium } from '../helpers/chromium.ts';

const PASSWORD = 'S3cret pass&word/ü';

/** Every form the password could take in a file: the test fails if any is found. */
/** A saved trace's files, by name. */
async function traceEntries(path: string): Promise<Record<string, Uint8Array>> {
  return unzipSync(new Uint8Array(await readFile(path)));
}

/** A saved trace's files as one text, to look for a request in. */
const traceText = (entries: Record<string, Uint8Array>) =>
  Object.values(entries)
    .map((d) => Buffer.from(d).toString('utf8'))
    .join('\n');

function leaks(bytes: Buffer | Uint8Array): string[] {
  const text = Buffer.from(bytes).toString('latin1');
  const utf8 = Buffer.from(bytes).toString('utf8');
  return [
    PASSWORD,
    encodeURIComponent(PASSWORD),
    new URLSearchParams({ s: PASSWORD }).toString().slice(2),
    JSON.stringify(PASSWORD).slice(1, -1),
  ].filter((form) => utf8.includes(form) || text.includes(form));
}

describe('evidence of an unexpected page', () => {
  let server: Server;
  let base: string;
  let browser: Browser;
  let root: string;

  before(async () => {
    server = createServer((req, res) => {
      if (req.method === 'POST') {
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end('<!DOCTYPE html><title>Oops</title><p>Something odd happened</p>');
        });
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!DOCTYPE html><title>Login</title>
<form id="loginForm" method="post" action="/do_login">
<input name="username" value="seller"><input type="password" name="pass" id="pass">
<button id="go">Login</button></form>`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchTestChromium();
    root = await mkdtemp(join(tmpdir(), 'vr-artifacts-'));
  });

  after(async () => {
    await browser.close();
    server.close();
    await rm(root, { recursive: true, force: true });
  });

  test('a screenshot, the HTML and the trace of the step, none holding the password', async (t) => {
    const context = await browser.newContext();
    t.after(() => context.close());
    const page = await context.newPage();
    await beginListingTrace(context, 12);
    await page.goto(`${base}/`);
    await page.fill('#pass', PASSWORD);
    // The value as an attribute too, as some pages echo it back.
    await page.evaluate((p) => document.querySelector('#pass')!.setAttribute('value', p), PASSWORD);
    const before = await page.content();
    assert.ok(before.includes('S3cret'), 'the page really holds the password');
    const dir = jobArtifactsDir(root, 12);
    const saved = await captureEvidence({ page, dir, step: 'login', secrets: [PASSWORD] });
    assert.deepEqual(
      saved.map((a) => a.name.replace(/\d{13}/, 'T')),
      ['login-T.png', 'login-T.html', 'login-T.trace.zip'],
    );
    for (const a of saved) assert.ok(isArtifactName(a.name), a.name);
    const html = await readFile(join(dir, saved[1]!.name), 'utf8');
    assert.match(html, /id="loginForm"/);
    assert.deepEqual(leaks(Buffer.from(html)), []);
    const png = await readFile(join(dir, saved[0]!.name));
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    const entries = await traceEntries(join(dir, saved[2]!.name));
    assert.ok(
      Object.keys(entries).some((n) => n.endsWith('.trace')),
      'a Playwright trace',
    );
    for (const [name, data] of Object.entries(entries)) assert.deepEqual(leaks(data), [], name);
  });

  test('the POST that carried the password is in the trace, overwritten', async (t) => {
    const context = await browser.newContext();
    t.after(() => context.close());
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await beginListingTrace(context, 13);
    await page.fill('#pass', PASSWORD);
    await Promise.all([page.waitForURL('**/do_login'), page.click('#go')]);
    const saved = await captureEvidence({
      page,
      dir: jobArtifactsDir(root, 13),
      step: 'login',
      secrets: [PASSWORD],
    });
    const trace = saved.find((a) => a.name.endsWith('.trace.zip'));
    assert.ok(trace);
    const entries = await traceEntries(join(jobArtifactsDir(root, 13), trace.name));
    assert.match(traceText(entries), /do_login/, 'the login request was traced');
    for (const [name, data] of Object.entries(entries)) assert.deepEqual(leaks(data), [], name);
  });

  test('a listing that went well leaves nothing; the next listing traces all its steps', async (t) => {
    const context = await browser.newContext();
    t.after(() => context.close());
    const page = await context.newPage();
    await beginListingTrace(context, 1);
    await page.goto(`${base}/`);
    await endListingTrace(context);
    await beginListingTrace(context, 2);
    await page.goto(`${base}/first-step`);
    await continueListingTrace(context, 2); // a later step: the same chunk
    await page.goto(`${base}/again`);
    const dir = jobArtifactsDir(root, 14);
    const saved = await captureEvidence({ page, dir, step: 'publish', secrets: [PASSWORD] });
    assert.equal(saved.length, 3);
    const all = traceText(await traceEntries(join(dir, saved[2]!.name)));
    assert.match(all, /\/first-step/);
    assert.match(all, /\/again/);
  });

  test("a step on a context made during the listing starts that context's trace", async (t) => {
    const context = await browser.newContext();
    t.after(() => context.close());
    const page = await context.newPage();
    await continueListingTrace(context, 3);
    await page.goto(`${base}/adopted`);
    const dir = jobArtifactsDir(root, 16);
    const saved = await captureEvidence({ page, dir, step: 'fill-form', secrets: [PASSWORD] });
    const trace = saved.find((a) => a.name.endsWith('.trace.zip'));
    assert.ok(trace, 'the trace was saved');
    assert.match(traceText(await traceEntries(join(dir, trace.name))), /\/adopted/);
  });

  test('the session stays out: cookie lists, storage states and cookie values; files 0600 in 0700', async (t) => {
    const context = await browser.newContext();
    t.after(() => context.close());
    const session = 'sess-0123456789abcdef';
    const clearance = 'clear.ance_0123456789-xyz';
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await context.addCookies([
      { name: 'PHPSESSID', value: session, url: base },
      { name: 'cf_clearance', value: clearance, url: base },
    ]);
    await page.evaluate(() => localStorage.setItem('token', 'local-storage-secret-42'));
    await beginListingTrace(context, 15);
    // What a traced step may do: read the cookies, store the session, send them with a request.
    await context.cookies();
    await context.storageState();
    await page.goto(`${base}/with-cookies`);
    const dir = jobArtifactsDir(root, 15);
    const saved = await captureEvidence({ page, dir, step: 'open-form', secrets: [PASSWORD] });
    assert.equal(saved.length, 3);
    for (const a of saved) {
      const path = join(dir, a.name);
      assert.equal(((await stat(path)).mode & 0o777).toString(8), '600', a.name);
      const files = a.name.endsWith('.zip')
        ? Object.entries(await traceEntries(path))
        : [[a.name, await readFile(path)] as const];
      for (const [name, data] of files) {
        const text = Buffer.from(data).toString('utf8');
        for (const value of [session, clearance, 'local-storage-secret-42']) {
          assert.ok(!text.includes(value), `${a.name}/${name} holds ${value}`);
        }
      }
    }
    assert.equal(((await stat(dir)).mode & 0o777).toString(8), '700');
    const trace = Object.entries(await traceEntries(join(dir, saved[2]!.name)));
    const events = traceText(Object.fromEntries(trace.filter(([n]) => n.endsWith('.trace'))));
    assert.match(events, /"cookies":"\[redacted\]"/, 'the cookies() result is replaced whole');
  });

  test('names: only what captureEvidence writes, nothing that leaves the folder', () => {
    assert.ok(artifactPath(root, 5, 'publish-1700000000000.png')?.endsWith('/5/publish-1700000000000.png'));
    for (const bad of [
      '../5/publish-1700000000000.png',
      'publish-1700000000000.png/..',
      '/etc/passwd',
      'publish-1700000000000.sh',
      '.publish-1700000000000.png',
      'a/b-1700000000000.png',
      'publish-1700000000000.png%00',
    ]) {
      assert.equal(artifactPath(root, 5, bad), undefined, bad);
    }
    assert.equal(scrubText('pass=S3cret%20pass%26word%2F%C3%BC&x', [PASSWORD]).includes('S3cret'), false);
  });

  test('evidence older than the retention is pruned, folders left empty removed', async () => {
    const pruneRoot = join(root, 'prune');
    const dir = jobArtifactsDir(pruneRoot, 99);
    const saved = join(dir, 'old-1700000000000.png');
    await mkdir(dir, { recursive: true });
    await writeFile(saved, 'x');
    await writeFile(join(dir, 'new-1700000000001.png'), 'y');
    const old = new Date(Date.now() - 8 * 24 * 3_600_000);
    await utimes(saved, old, old);
    assert.equal(await pruneArtifacts(pruneRoot, 7), 1);
    assert.deepEqual(await readdir(dir), ['new-1700000000001.png']);
    assert.equal(await pruneArtifacts(pruneRoot, 7, Date.now() + 8 * 24 * 3_600_000), 1);
    assert.deepEqual(await readdir(pruneRoot), []);
  });
});
