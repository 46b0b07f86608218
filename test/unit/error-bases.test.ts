import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormMarkupError } from '../../src/creation/form-page.ts';
import { ImageRejectedError } from '../../src/images/image-rejected-error.ts';
import { ValidationError } from '../../src/listing/listing.ts';
import { AlreadyListedError, QueueUnavailableError } from '../../src/producer/producer.ts';
import {
  ChromiumSandboxError,
  ImageUnavailableError,
  isSiteUnavailable,
  NeedsPersonError,
  NeverRetryError,
  RetryLaterError,
  VrBlockedError,
  VrLoginError,
  VrRejectedError,
  VrUnavailableError,
} from '../../src/vr/errors.ts';
import { SessionKeyError } from '../../src/vr/session-store.ts';

const BASES = [RetryLaterError, NeverRetryError, NeedsPersonError] as const;

test('every error a worker acts on sits under exactly one base', () => {
  const cases: Array<[Error, (typeof BASES)[number]]> = [
    [new VrUnavailableError('503'), RetryLaterError],
    [new ImageUnavailableError('image 0 answered HTTP 502'), RetryLaterError],
    [new QueueUnavailableError([], new Error('redis down')), RetryLaterError],
    [new FormMarkupError('no form'), RetryLaterError],
    [new VrRejectedError('unknown brand'), NeverRetryError],
    [new ImageRejectedError('images.0: 404'), NeverRetryError],
    [new ValidationError([{ field: 'price', message: 'must be a number' }]), NeverRetryError],
    [new AlreadyListedError('P1', 'listed'), NeverRetryError],
    [new VrLoginError('refused'), NeedsPersonError],
    [new VrBlockedError('blocked'), NeedsPersonError],
    [new ChromiumSandboxError('no sandbox'), NeedsPersonError],
    [new SessionKeyError('wrong key'), NeedsPersonError],
  ];
  for (const [error, base] of cases) {
    assert.ok(error instanceof base, `${error.name} is a ${base.name}`);
    for (const other of BASES)
      if (other !== base) assert.ok(!(error instanceof other), `${error.name} is not a ${other.name}`);
  }
});

test('an image host failing is retried but is no V&R outage, without a special case', () => {
  const error = new ImageUnavailableError('image 0 answered HTTP 502');
  assert.ok(!(error instanceof VrUnavailableError));
  assert.equal(isSiteUnavailable(error), false);
  assert.equal(isSiteUnavailable(new VrUnavailableError('503')), true);
});
