import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REDACTED, redactSecrets } from '../../src/safe-errors.ts';
import { CookieImportError, parseCookieFile } from '../../src/vr/cookie-import.ts';

test("Cloudflare's cookies and JSON cookie objects are redacted wherever they appear", () => {
  const cases: [string, string][] = [
    ['goto failed; cf_clearance=abc.DEF-123_x; path=/', 'abc.DEF-123_x'],
    ['Set __cf_bm=q1w2e3r4t5y6 for the site', 'q1w2e3r4t5y6'],
    ['cf_chl_rc_m=ZZZtoken9 seen', 'ZZZtoken9'],
    ['[{"name":"PHPSESSID","value":"s3ss10n","domain":"x"}]', 's3ss10n'],
    ['{"name":"cf_clearance","value":"with \\"quote\\" inside","path":"/"}', 'with \\"quote\\" inside'],
  ];
  for (const [text, secret] of cases) {
    const out = redactSecrets(text);
    assert.ok(!out.includes(secret), `${text} -> ${out}`);
    assert.ok(out.includes(REDACTED), out);
  }
  // What isn't a credential stays readable.
  assert.equal(redactSecrets('{"name":"brand","label":"Fender"}'), '{"name":"brand","label":"Fender"}');
});

test("a cookie file that isn't valid JSON is refused without quoting it", () => {
  const secret = 'PHPSESSIDVALUEabc123';
  for (const text of [`{"cookies": [${secret}]}`, `[{"name":"a","value":"${secret}"`, `{ ${secret} }`]) {
    assert.throws(
      () => parseCookieFile(text),
      (error: Error) =>
        error instanceof CookieImportError &&
        /not valid JSON/.test(error.message) &&
        !error.message.includes(secret),
    );
  }
});
