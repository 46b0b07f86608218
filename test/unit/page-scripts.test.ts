import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as form from '../../src/creation/page-scripts/form.ts';
import * as publish from '../../src/creation/page-scripts/publish.ts';
import * as cascade from '../../src/vr/page-scripts/cascade.ts';
import * as session from '../../src/vr/page-scripts/session.ts';
import * as settle from '../../src/vr/page-scripts/settle.ts';

const modules = { form, publish, cascade, session, settle };

// Run under tsx, as the tests and `npm start` run: esbuild's keepNames wraps a named inner function
// in __name(...), which V&R's page doesn't have, so such a page script throws there.
test('page scripts name no inner function (their source runs in the page as it is)', () => {
  let count = 0;
  for (const [module, exports] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(exports)) {
      if (typeof value !== 'function') continue;
      count += 1;
      const source = value.toString();
      assert.doesNotMatch(source, /__name\(/, `${module}.${name} names an inner function`);
      assert.match(source, /^(async )?function /, `${module}.${name} is a plain function`);
    }
  }
  assert.ok(count >= 15, `found ${count} page scripts`);
});

test('one rule for "logged in?": a Logout link by its words, or an href to /logout', () => {
  const source = session.readSession.toString();
  assert.match(source, /\\\/logout\\b/);
  for (const other of [form, publish, cascade, settle])
    for (const value of Object.values(other))
      if (typeof value === 'function') assert.doesNotMatch(value.toString(), /logout/i);
});
